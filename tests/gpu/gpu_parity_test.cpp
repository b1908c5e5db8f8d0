// GPU tests (ctest -L gpu; built only with CUDA, run only where a GPU is present): the CUDA
// backend against the CPU backend on the examples, and its throughput. docs/cuda.md explains
// how to run them; they are the first thing to run on a new GPU machine.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "kernels/cuda_backend.h"
#include "networks/builder.h"
#include "networks/network_file.h"
#include "sim/cpu_backend.h"

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

}  // namespace
}  // namespace snnsim
