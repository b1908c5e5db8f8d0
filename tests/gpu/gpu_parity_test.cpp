// GPU tests (ctest -L gpu; built only with CUDA, run only where a GPU is present): the CUDA
// backend against the CPU backend on the examples, and its throughput. docs/cuda.md explains
// how to run them; they are the first thing to run on a new GPU machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "encoders/input_encoder.h"
#include "networks/builder.h"
#include "networks/layer_graph_file.h"
#include "networks/network_file.h"
#include "networks/npy.h"
#include "sim/cpu_backend.h"
#include "sim/cuda_plugin.h"

namespace snnsim {
namespace {

struct SpikeLog final : RunObserver {
  std::vector<std::vector<std::pair<Step, NeuronIndex>>> spikes;
  void on_step(Step step, std::span<const std::span<const NeuronIndex>> per_population) override {
    spikes.resize(per_population.size());
    for (std::size_t p = 0; p < per_population.size(); ++p) {
      for (NeuronIndex i : per_population[p])
        spikes[p].emplace_back(step, i);
    }
  }
  void on_state(Step, std::size_t, std::span<const float>) override {}
  std::size_t total() const {
    std::size_t n = 0;
    for (const auto& p : spikes)
      n += p.size();
    return n;
  }
};

Network load(const std::string& example, const LoadOptions& options) {
  return build_network(load_network_file(SNNSIM_SOURCE_DIR "/examples/" + example, options));
}

/// Runs the example on both backends; `exact`: spike trains identical, else total spike counts
/// within 0.1%. Prints the CUDA backend's throughput.
void compare_backends(const std::string& example, const LoadOptions& options,
                      const DevicePlanOptions& plan, bool exact) {
  Network cpu_network = load(example, options), gpu_network = load(example, options);
  const Step steps = cpu_network.steps();
  SpikeLog expected, actual;
  CpuBackend cpu(cpu_network, 0);
  cpu.run(0, steps, expected);
  auto gpu = make_cuda_backend(gpu_network, plan);
  const auto start = std::chrono::steady_clock::now();
  gpu->run(0, steps, actual);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s on %s: %.3f s for %.3f s simulated, %.3g synaptic events/s, %zu spikes\n",
              example.c_str(), gpu->description().c_str(), seconds, cpu_network.duration_ms * 1e-3,
              gpu->counters().synaptic_events / seconds, actual.total());
  if (exact) {
    for (std::size_t p = 0; p < expected.spikes.size(); ++p)
      EXPECT_EQ(actual.spikes[p], expected.spikes[p]) << example << " population " << p;
  } else {
    EXPECT_NEAR(static_cast<double>(actual.total()), static_cast<double>(expected.total()),
                1e-3 * expected.total());
  }
  EXPECT_GT(expected.total(), 0u);
}

TEST(Gpu, CobaSpikesMatchTheCpuBackend) {
  // Homogeneous weights per projection: float sums do not depend on the order of atomics.
  compare_backends("coba.json", {}, {}, true);
}

TEST(Gpu, CobaSpikesMatchWithPostSpanDelivery) {
  DevicePlanOptions plan;
  plan.delivery = DeliveryStrategy::post_span;
  compare_backends("coba.json", {}, plan, true);
}

TEST(Gpu, BrunelSpikesMatchTheCpuBackend) {
  compare_backends("brunel.json", {}, {}, true);
}

TEST(Gpu, LargeCobaThroughput) {
  LoadOptions options;
  options.parameter_overrides["N"] = "100000";
  compare_backends("coba.json", options, {}, true);
}

// Layer graphs (docs/cuda.md, "Layer graphs on the GPU"): the examples on the GPU against the
// CPU's event-driven run. The GPU adds products in cuBLAS's order, the CPU in event order, so
// values agree within float rounding; a membrane that lands within rounding of its threshold can
// then fire on one side only. Hence: MACs equal, outputs within 1e-4 of their scale, and spikes
// (and the ACs they drive) within 0.1 % per node, with the exact differences printed. The
// emulated device (tests/device_graph_test.cpp) checks the same code for identical spikes.
void compare_graph_backends(const std::string& example, std::size_t copies, std::size_t batch) {
  const LayerGraphSpec spec = load_layer_graph_file(SNNSIM_SOURCE_DIR "/examples/" + example);
  const LayerGraph& graph = *spec.graph;
  const NpyArray input = read_npy(SNNSIM_SOURCE_DIR "/examples/data/" +
                                  example.substr(0, example.size() - 5) + "-input.npy");
  // The example's samples, repeated `copies` times: enough work to time.
  std::vector<float> values;
  for (std::size_t c = 0; c < copies; ++c)
    values.insert(values.end(), input.values.begin(), input.values.end());
  const std::size_t samples = input.shape[0] * copies;
  const std::size_t features = values.size() / samples;
  auto cpu = make_graph_executor(BackendKind::cpu, graph, false);
  auto gpu = make_cuda_graph_executor(graph);
  double seconds[2] = {0.0, 0.0};
  std::size_t compared = 0;
  for (std::size_t first = 0; first < samples; first += batch) {
    const std::size_t count = std::min(batch, samples - first);
    const Value x =
        encode_input(spec.encoder, graph.input_shape(), std::span(values).subspan(first * features),
                     count, first, graph.timesteps());
    GraphRun runs[2];
    GraphExecutor* executors[2] = {cpu.get(), gpu.get()};
    for (int e = 0; e < 2; ++e) {
      const auto start = std::chrono::steady_clock::now();
      runs[e] = executors[e]->run(x, false, {});
      seconds[e] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (first > 0) continue;  // compare the first batch; time them all
    ++compared;
    const GraphRun &expected = runs[0], &actual = runs[1];
    ASSERT_EQ(actual.nodes.size(), expected.nodes.size());
    for (std::size_t n = 0; n < expected.nodes.size(); ++n) {
      const NodeReport &a = actual.nodes[n], &e = expected.nodes[n];
      std::printf("  %s %-8s spikes cpu %llu gpu %llu, ACs cpu %llu gpu %llu\n", example.c_str(),
                  e.name.c_str(), static_cast<unsigned long long>(e.spikes),
                  static_cast<unsigned long long>(a.spikes),
                  static_cast<unsigned long long>(e.counts.acs),
                  static_cast<unsigned long long>(a.counts.acs));
      EXPECT_EQ(a.counts.macs, e.counts.macs) << e.name;
      EXPECT_NEAR(static_cast<double>(a.spikes), static_cast<double>(e.spikes), 1e-3 * e.spikes)
          << e.name;
      EXPECT_NEAR(static_cast<double>(a.counts.acs), static_cast<double>(e.counts.acs),
                  1e-3 * e.counts.acs)
          << e.name;
    }
    const std::vector<float> out_cpu = expected.output.densified(),
                             out_gpu = actual.output.densified();
    ASSERT_EQ(out_gpu.size(), out_cpu.size());
    float scale = 0.0f;
    for (float v : out_cpu)
      scale = std::max(scale, std::fabs(v));
    std::size_t differing = 0;
    for (std::size_t k = 0; k < out_cpu.size(); ++k)
      differing += std::fabs(out_gpu[k] - out_cpu[k]) > 1e-4f * scale;
    EXPECT_EQ(differing, 0u) << example << ": outputs differ";
  }
  EXPECT_EQ(compared, 1u);
  std::printf("%s, %zu samples, batch %zu: cpu %.1f samples/s (%s), gpu %.1f samples/s (%s)\n",
              example.c_str(), samples, batch, samples / seconds[0], cpu->description().c_str(),
              samples / seconds[1], gpu->description().c_str());
}

TEST(Gpu, ConvSnnExampleMatchesTheCpu) {
  compare_graph_backends("conv-snn.json", 32, 256);
}

TEST(Gpu, LinearSnnExampleMatchesTheCpu) {
  compare_graph_backends("linear-snn.json", 32, 256);
}

}  // namespace
}  // namespace snnsim
