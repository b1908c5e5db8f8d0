// The CUDA backend's step loop (GridBackend) on the emulated device: the same spikes and samples
// as the CPU backend, its memory plan, and its refusals.
#include <gtest/gtest.h>

#include "encoders/external_drive.h"
#include "networks/builder.h"
#include "networks/network_file.h"
#include "sim/emulated_device.h"
#include "sim/grid_backend.h"
#include "test_support.h"

namespace snnsim {
namespace {

using testing::add_population;
using testing::add_projection;
using testing::Recording;

Network load_example(const std::string& name, const LoadOptions& options) {
  return build_network(load_network_file(SNNSIM_SOURCE_DIR "/examples/" + name, options));
}

Recording run_emulated(Network& network, Step steps, const DevicePlanOptions& options = {}) {
  Recording recording;
  GridBackend<EmulatedDevice> backend(network, options);
  EXPECT_EQ(backend.run(0, steps, recording), steps);
  recording.spikes.resize(network.populations.size());
  return recording;
}

/// Runs two copies of the example, one on the CPU backend and one emulated, and expects the
/// same spike trains, spike for spike.
void expect_same_spikes_as_cpu(const std::string& example, const LoadOptions& load, Step steps,
                               const DevicePlanOptions& options) {
  Network cpu = load_example(example, load), grid = load_example(example, load);
  const Recording expected = testing::run_steps(cpu, steps, 2);
  const Recording actual = run_emulated(grid, steps, options);
  std::size_t spikes = 0;
  for (std::size_t p = 0; p < cpu.populations.size(); ++p) {
    EXPECT_EQ(actual.spikes[p], expected.spikes[p]) << example << " " << cpu.populations[p].name;
    spikes += expected.spikes[p].size();
  }
  EXPECT_GT(spikes, 1000u) << "the comparison needs activity";
  EXPECT_EQ(actual.samples, expected.samples);
}

TEST(GridBackend, CobaGivesTheCpuBackendsSpikes) {
  expect_same_spikes_as_cpu("coba.json", {}, 10000, {});  // the example as it is: 4000, 1 s
}

TEST(GridBackend, CobaGivesTheCpuBackendsSpikesWithPostSpanDelivery) {
  LoadOptions load;
  load.parameter_overrides["N"] = "2000";
  load.duration_ms = 200;
  DevicePlanOptions options;
  options.delivery = DeliveryStrategy::post_span;
  expect_same_spikes_as_cpu("coba.json", load, 2000, options);
}

TEST(GridBackend, BrunelGivesTheCpuBackendsSpikesAcrossChunks) {
  LoadOptions load;  // the example's 12,500 neurons, for 0.3 s
  load.duration_ms = 300;
  DevicePlanOptions options;
  options.max_chunk_steps = 37;  // chunks that do not divide the run
  expect_same_spikes_as_cpu("brunel.json", load, 3000, options);
}

TEST(GridBackend, HostFedGeneratorsDrivesAndDelaysMatchTheCpu) {
  // A spike generator (computed on the host), Poisson, spike-time and current drives, per-synapse
  // weights and delays, and a population continued over two run() calls.
  auto make = [] {
    Network network;
    network.seed = 9;
    PopulationData times;
    times.spike_steps = {{3, 40, 41}, {}, {7, 7, 90}};
    const auto generator = add_population(network, "G", "spike_generator", 3, {}, times);
    const auto lif = add_population(network, "L", "lif_psc_exp", 40, {{"tau_m", 10.0}});
    add_projection(network, generator, lif, "ex", {0, 0, 2, 2}, {1, 5, 5, 39}, 900.0f, 3);
    SynapseList list{{0, 1, 2, 3, 3},
                     {4, 4, 4, 9, 10},
                     {300.0f, -200.0f, 450.0f, 125.0f, 50.0f},
                     {1, 4, 2, 6, 2}};
    Connectivity c = connectivity_from_list(std::move(list), 40, 40);
    network.projections.push_back({"LL", lif, lif, 0, std::move(c)});
    network.drives.push_back(std::make_unique<PoissonDrive>(lif, 1, 8000.0, 40.0f, network.dt_ms,
                                                            RandomStream::make(9, "poisson:L")));
    network.drives.push_back(
        std::make_unique<SpikeTimesDrive>(lif, 0, std::vector<Step>{10, 10, 55}, 700.0f));
    network.drives.push_back(std::make_unique<CurrentDrive>(lif, std::vector<Step>{20, 60},
                                                            std::vector<float>{400.0f, 0.0f}));
    network.probes.push_back({lif, 0, {0, 4, 39}, 3});
    return network;
  };
  Network cpu = make(), grid = make();
  testing::Recording expected, actual;
  CpuBackend cpu_backend(cpu, 1);
  cpu_backend.run(0, 70, expected);
  cpu_backend.run(70, 150, expected);
  DevicePlanOptions options;
  options.max_chunk_steps = 16;
  GridBackend<EmulatedDevice> grid_backend(grid, options);
  grid_backend.run(0, 70, actual);
  grid_backend.run(70, 150, actual);
  ASSERT_EQ(actual.spikes.size(), 2u);
  EXPECT_EQ(actual.spikes, expected.spikes);
  EXPECT_GT(expected.spikes[1].size(), 10u);
  EXPECT_EQ(actual.samples, expected.samples);
  EXPECT_EQ(actual.samples.at(0).size(), 50u);
  // The state comes back to the host after a run.
  for (std::size_t var = 0; var < cpu.populations[1].model->state.size(); ++var) {
    const auto a = cpu.populations[1].dynamics->state(var),
               b = grid.populations[1].dynamics->state(var);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin()));
  }
  EXPECT_EQ(grid_backend.counters().neuron_updates, cpu_backend.counters().neuron_updates);
  EXPECT_EQ(grid_backend.counters().synaptic_events, cpu_backend.counters().synaptic_events);
}

TEST(DevicePlan, AccountsForEveryByteTheBackendAllocates) {
  LoadOptions load;
  load.parameter_overrides["N"] = "1000";
  Network network = load_example("coba.json", load);
  for (const auto strategy : {DeliveryStrategy::pre_span, DeliveryStrategy::post_span}) {
    DevicePlanOptions options;
    options.delivery = strategy;
    GridBackend<EmulatedDevice> backend(network, options);
    EXPECT_EQ(backend.device().allocated_bytes(), backend.plan().bytes.total());
  }
}

TEST(DevicePlan, SizesChunksAndPicksDeliveryPerProjection) {
  Network network;
  const auto generator = add_population(network, "G", "spike_generator", 100);
  const auto a = add_population(network, "A", "lif_psc_delta", 100);
  const auto b = add_population(network, "B", "lif_psc_delta", 100);
  std::vector<NeuronIndex> all_sources, all_targets, few_sources, few_targets;
  for (NeuronIndex s = 0; s < 100; ++s) {
    for (NeuronIndex t = 0; t < 100; ++t) {
      all_sources.push_back(s);
      all_targets.push_back(t);
    }
    few_sources.push_back(s);
    few_targets.push_back((s * 7) % 100);
  }
  add_projection(network, a, b, "v", all_sources, all_targets, 0.1f, 1);          // dense
  add_projection(network, a, b, "v", few_sources, few_targets, 0.1f, 1);          // sparse
  add_projection(network, generator, b, "v", all_sources, all_targets, 0.1f, 1);  // host-fed
  DevicePlanOptions options;
  options.spike_buffer_bytes = 300 * 8 * 50;
  const DevicePlan plan = plan_device_memory(network, options);
  EXPECT_EQ(plan.chunk_steps, 50u);
  EXPECT_EQ(plan.delivery,
            (std::vector<DeliveryStrategy>{DeliveryStrategy::post_span, DeliveryStrategy::pre_span,
                                           DeliveryStrategy::pre_span}));
  EXPECT_EQ(plan.host_fed, (std::vector<bool>{true, false, false}));
  EXPECT_GT(plan.bytes_per_synapse, 4.0);
  EXPECT_NE(plan.describe().find("copied every 50 steps"), std::string::npos);
}

TEST(DevicePlan, RefusesANetworkThatDoesNotFitNamingBothSizes) {
  LoadOptions load;
  load.parameter_overrides["N"] = "1000";
  Network network = load_example("coba.json", load);
  const std::uint64_t needed = plan_device_memory(network).bytes.total();
  try {
    GridBackend<EmulatedDevice> backend(network, {}, EmulatedDevice(needed / 2));
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("GPU memory"), std::string::npos) << message;
    EXPECT_NE(message.find("free"), std::string::npos) << message;
    EXPECT_NE(message.find("--backend cpu"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_NO_THROW(GridBackend<EmulatedDevice>(network, {}, EmulatedDevice(needed)));
}

}  // namespace
}  // namespace snnsim
