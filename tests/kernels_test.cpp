// The CUDA kernel bodies of kernels/, run on the CPU under grid emulation and compared with naive
// references and with the CPU backend's own code paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "encoders/external_drive.h"
#include "kernels/external_input.h"
#include "kernels/neuron_update.h"
#include "kernels/spike_delivery.h"
#include "kernels/spike_recording.h"
#include "sim/models/model_list.h"
#include "test_support.h"

namespace snnsim {
namespace {

using testing::add_population;

// Launch shapes that make every grid-stride loop wrap, and one that covers everything at once.
const GridShape kShapes[] = {{1, 32}, {3, 64}, {64, 256}};

/// A random projection with multapses, weights that are multiples of 1/8 (so sums are exact in
/// any order) and, optionally, delays of 1..5 steps.
Connectivity random_connectivity(NeuronIndex sources, NeuronIndex targets, double density,
                                 bool heterogeneous, std::mt19937& rng) {
  SynapseList list;
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::uniform_int_distribution<int> eighths(-16, 16), delay(1, 5);
  for (NeuronIndex s = 0; s < sources; ++s) {
    for (NeuronIndex t = 0; t < targets; ++t) {
      const int copies = coin(rng) < density ? (coin(rng) < 0.1 ? 2 : 1) : 0;
      for (int c = 0; c < copies; ++c) {
        list.sources.push_back(s);
        list.targets.push_back(t);
        if (heterogeneous) {
          list.weights.push_back(eighths(rng) / 8.0f);
          list.delays.push_back(static_cast<std::uint16_t>(delay(rng)));
        }
      }
    }
  }
  Connectivity c = connectivity_from_list(std::move(list), sources, targets);
  c.weight = 0.625f;
  c.delay = 2;
  return c;
}

SynapseRows rows_of(const Connectivity& c) {
  return {c.row_offsets.data(),
          c.targets.data(),
          c.weights.empty() ? nullptr : c.weights.data(),
          c.weight,
          c.delays.empty() ? nullptr : c.delays.data(),
          c.delay};
}

/// The naive delivery: every synapse of every spiking source, one at a time.
std::vector<float> naive_delivery(const Connectivity& c, const std::vector<NeuronIndex>& spikes,
                                  Step step, std::uint32_t slots) {
  std::vector<float> ring(static_cast<std::size_t>(slots) * c.target_size, 0.0f);
  for (NeuronIndex s : spikes) {
    for (std::uint64_t k = c.row_offsets[s]; k < c.row_offsets[s + 1]; ++k) {
      const std::uint16_t d = c.delays.empty() ? c.delay : c.delays[k];
      ring[(step + d) % slots * c.target_size + c.targets[k]] +=
          c.weights.empty() ? c.weight : c.weights[k];
    }
  }
  return ring;
}

TEST(Transpose, ListsEachTargetsSourcesAscendingWithTheirWeights) {
  std::mt19937 rng(3);
  const Connectivity c = random_connectivity(37, 23, 0.3, true, rng);
  const Connectivity t = transposed(c);
  ASSERT_EQ(t.synapse_count(), c.synapse_count());
  std::vector<std::tuple<NeuronIndex, NeuronIndex, float, std::uint16_t>> forward, backward;
  for (NeuronIndex s = 0; s < c.source_size; ++s) {
    for (std::uint64_t k = c.row_offsets[s]; k < c.row_offsets[s + 1]; ++k)
      forward.emplace_back(s, c.targets[k], c.weights[k], c.delays[k]);
  }
  for (NeuronIndex target = 0; target < t.source_size; ++target) {
    EXPECT_TRUE(std::is_sorted(t.targets.begin() + t.row_offsets[target],
                               t.targets.begin() + t.row_offsets[target + 1]));
    for (std::uint64_t k = t.row_offsets[target]; k < t.row_offsets[target + 1]; ++k)
      backward.emplace_back(t.targets[k], target, t.weights[k], t.delays[k]);
  }
  std::stable_sort(backward.begin(), backward.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  EXPECT_EQ(forward, backward);
}

struct DeliveryCase {
  double density;
  bool heterogeneous;
  double spiking;  ///< fraction of sources that spike
};

class Delivery : public ::testing::TestWithParam<DeliveryCase> {};

TEST_P(Delivery, PreAndPostSpanMatchTheNaiveSum) {
  const DeliveryCase param = GetParam();
  std::mt19937 rng(11);
  const Connectivity c = random_connectivity(150, 90, param.density, param.heterogeneous, rng);
  const Connectivity columns = transposed(c);
  std::vector<NeuronIndex> spikes;
  std::vector<std::uint8_t> flags(c.source_size, 0);
  std::bernoulli_distribution spikes_now(param.spiking);
  for (NeuronIndex s = 0; s < c.source_size; ++s) {
    if (spikes_now(rng)) {
      spikes.push_back(s);
      flags[s] = 1;
    }
  }
  const auto count = static_cast<std::uint32_t>(spikes.size());
  const std::uint32_t slots = 7;
  const Step step = 12;
  const std::vector<float> expected = naive_delivery(c, spikes, step, slots);
  for (const GridShape shape : kShapes) {
    std::vector<float> pre(expected.size(), 0.0f), post(expected.size(), 0.0f);
    emulate_grid(shape,
                 PreSpanDelivery{
                     rows_of(c), {pre.data(), slots, c.target_size}, spikes.data(), &count, step});
    emulate_grid(shape,
                 PostSpanDelivery{
                     rows_of(columns), {post.data(), slots, c.target_size}, flags.data(), step});
    EXPECT_EQ(pre, expected) << "pre-span, " << shape.blocks << " blocks";
    EXPECT_EQ(post, expected) << "post-span, " << shape.blocks << " blocks";
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, Delivery,
                         ::testing::Values(DeliveryCase{0.1, false, 0.1},
                                           DeliveryCase{0.1, true, 0.1},
                                           DeliveryCase{0.9, true, 0.5},
                                           DeliveryCase{0.5, true, 0.0},     // no spikes
                                           DeliveryCase{0.5, true, 1.0},     // all spike
                                           DeliveryCase{0.0, false, 0.5}));  // no synapses

/// Runs the update kernel of `Model` and ModelPopulation<Model>::update on identical populations
/// with identical random inputs, over several steps: state and spikes must agree bit for bit.
template <class Model>
void expect_update_kernel_matches_cpu() {
  const NeuronIndex size = 777;
  Network cpu, grid;
  add_population(cpu, "P", std::string(Model::kName), size);
  add_population(grid, "P", std::string(Model::kName), size);
  PopulationDynamics& a = *cpu.populations[0].dynamics;
  PopulationDynamics& b = *grid.populations[0].dynamics;
  std::mt19937 rng(5);
  // Start the neurons spread over their state space, so that some spike at once.
  for (std::size_t var = 0; var < Model::kState.size(); ++var) {
    std::uniform_real_distribution<float> spread(-1.0f, 1.0f);
    for (NeuronIndex i = 0; i < size; ++i) {
      const float v = a.state(var)[i] + spread(rng) * (var == 0 ? 30.0f : 5.0f);
      a.state(var)[i] = b.state(var)[i] = v;
    }
  }
  std::vector<float*> state;
  for (std::size_t var = 0; var < Model::kState.size(); ++var)
    state.push_back(b.state(var).data());
  typename Model::Constants constants;
  std::memcpy(&constants, b.model_constants().data(), sizeof constants);
  std::normal_distribution<float> drive(0.0f, 20.0f);
  std::vector<std::vector<float>> cpu_inputs(kMaxReceptors + 1, std::vector<float>(size));
  std::vector<std::vector<float>> grid_rings(kMaxReceptors + 1, std::vector<float>(size));
  std::vector<std::uint8_t> flags(size);
  std::uint64_t spikes_seen = 0;
  for (Step step = 0; step < 20; ++step) {
    PopulationDynamics::StepInputs inputs;
    NeuronUpdateArguments arguments{state.data(),     {},   grid_rings[kMaxReceptors].data(),
                                    flags.data(),     size, step,
                                    b.random_stream()};
    for (std::size_t r = 0; r <= kMaxReceptors; ++r) {
      for (NeuronIndex i = 0; i < size; ++i)
        cpu_inputs[r][i] = grid_rings[r][i] = std::abs(drive(rng));
    }
    for (std::size_t r = 0; r < Model::kReceptors.size(); ++r) {
      inputs.receptor[r] = cpu_inputs[r].data();
      // A one-slot ring: slot(step) is the array itself.
      arguments.receptors[r] = InputRing{grid_rings[r].data(), 1, size};
    }
    inputs.current = cpu_inputs[kMaxReceptors].data();
    std::vector<NeuronIndex> cpu_spikes, grid_spikes;
    a.update(0, size, step, inputs, cpu_spikes);
    emulate_grid({3, 64}, UpdateNeuronsKernel<Model>{constants, arguments});
    for (NeuronIndex i = 0; i < size; ++i) {
      if (flags[i]) grid_spikes.push_back(i);
    }
    ASSERT_EQ(grid_spikes, cpu_spikes) << Model::kName << " step " << step;
    spikes_seen += cpu_spikes.size();
    for (std::size_t var = 0; var < Model::kState.size(); ++var) {
      ASSERT_EQ(0, std::memcmp(a.state(var).data(), b.state(var).data(), size * sizeof(float)))
          << Model::kName << " variable " << Model::kState[var].name << " step " << step;
    }
    for (std::size_t r = 0; r < Model::kReceptors.size(); ++r) {
      EXPECT_TRUE(std::all_of(grid_rings[r].begin(), grid_rings[r].end(), [](float x) {
        return x == 0.0f;
      })) << "the kernel consumes its input";
    }
  }
  EXPECT_GT(spikes_seen, 0u) << Model::kName << ": the comparison saw no spikes";
}

TEST(UpdateKernel, EveryModelMatchesTheCpuUpdateBitForBit) {
#define SNNSIM_CHECK_MODEL(Model) expect_update_kernel_matches_cpu<Model>();
  SNNSIM_FOR_EACH_NEURON_MODEL(SNNSIM_CHECK_MODEL)
#undef SNNSIM_CHECK_MODEL
}

TEST(PoissonKernel, DrawsWhatTheCpuDriveDrawsOnAnyRange) {
  // Means inside the table's range, beyond it (normal approximation), and zero.
  for (const double rate_hz : {20000.0, 2e6, 0.0}) {
    const NeuronIndex size = 1003;
    const PoissonDrive drive(0, 0, rate_hz, 0.5f, 0.1, RandomStream::make(7, "poisson:P"));
    for (const Step step : {Step{0}, Step{123456}}) {
      std::vector<float> cpu(size, 1.0f), grid(size, 1.0f);
      // The CPU drive in three ranges that cut groups of four.
      drive.apply(step, 0, 5, 0, cpu.data());
      drive.apply(step, 5, 502, 0, cpu.data());
      drive.apply(step, 502, size, 0, cpu.data());
      emulate_grid({2, 64}, PoissonInputKernel{drive.input(), grid.data(), size, step});
      EXPECT_EQ(cpu, grid) << rate_hz << " Hz, step " << step;
      const double mean = std::accumulate(grid.begin(), grid.end(), 0.0) / size - 1.0;
      // Mean input is weight * rate * dt; 1003 neurons put its standard error below 10%.
      EXPECT_NEAR(mean, 0.5 * rate_hz * 1e-4, 0.1 * 0.5 * rate_hz * 1e-4 + 1e-9);
    }
  }
}

TEST(PackKernel, PacksTheStepListsBackToBack) {
  const NeuronIndex size = 50;
  const std::uint32_t steps = 9;
  std::vector<NeuronIndex> lists(steps * size, 999), expected;
  std::vector<std::uint32_t> counts(steps);
  std::mt19937 rng(2);
  for (std::uint32_t k = 0; k < steps; ++k) {
    counts[k] = k == 3 ? 0 : (k == 5 ? size : rng() % size);  // an empty and a full step
    for (std::uint32_t s = 0; s < counts[k]; ++s) {
      lists[k * size + s] = k * 1000 + s;
      expected.push_back(k * 1000 + s);
    }
  }
  for (const GridShape shape : kShapes) {
    std::vector<NeuronIndex> packed(steps * size, 0);
    emulate_grid(shape, PackSpikesKernel{lists.data(), counts.data(), size, steps, packed.data()});
    packed.resize(expected.size());
    EXPECT_EQ(packed, expected);
  }
}

TEST(SampleKernel, GathersTheProbedNeurons) {
  const std::vector<float> values{0.5f, 1.5f, 2.5f, 3.5f, 4.5f};
  const std::vector<NeuronIndex> neurons{4, 0, 2};
  std::vector<float> row(3, 0.0f);
  emulate_grid({1, 32}, SampleStateKernel{values.data(), neurons.data(), 3, row.data()});
  EXPECT_EQ(row, (std::vector<float>{4.5f, 0.5f, 2.5f}));
}

}  // namespace
}  // namespace snnsim
