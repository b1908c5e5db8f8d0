// Known answers worked out by hand: a BatchNorm whose eps matters, the CV of ISI of a three-
// interval train, and spike times through per-synapse delays. Each pins arithmetic that the
// suite's other tests only compare with itself (folded against unfolded BatchNorm, Poisson and
// regular trains, one delay per projection), so a one-line slip there fails here.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "analysis/spike_statistics.h"
#include "networks/builder.h"
#include "networks/network_file.h"
#include "sim/graph/layer_graph.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/linear.h"
#include "sim/simulation.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

// BatchNorm y = (x - mean) / sqrt(var + eps) * gamma + beta, eps = 1e-5, on two channels:
//   channel 0: mean 1, var 9e-5 (so var + eps = 1e-4, sqrt = 0.01), gamma 2, beta 0.5;
//              x = 1.03 gives 0.03 / 0.01 * 2 + 0.5 = 6.5 (sqrt(var) alone, 0.0094868, would
//              give 6.8246: eps moves the output by 5 %).
//   channel 1: mean -2, var 0.24999 (var + eps = 0.25, sqrt = 0.5), gamma -1, beta 0.25;
//              x = -1 gives 1 / 0.5 * -1 + 0.25 = -1.75.
const std::vector<float> kBatchNormInput{1.03f, -1.0f};
const std::vector<float> kBatchNormOutput{6.5f, -1.75f};

void set_batchnorm_weights(LayerOp& norm) {
  norm.set_weight("weight", {2.0f, -1.0f});
  norm.set_weight("bias", {0.5f, 0.25f});
  norm.set_weight("running_mean", {1.0f, -2.0f});
  norm.set_weight("running_var", {9e-5f, 0.24999f});
}

/// One timestep of one sample of kBatchNormInput through `graph`: its output.
std::vector<float> run_batchnorm_input(const LayerGraph& graph) {
  Value x = Value::analog({2}, 1, 1);
  x.dense = kBatchNormInput;
  return graph.run(x, false).output.densified();
}

void expect_batchnorm_output(const std::vector<float>& output) {
  ASSERT_EQ(output.size(), kBatchNormOutput.size());
  for (std::size_t c = 0; c < output.size(); ++c)
    EXPECT_NEAR(output[c], kBatchNormOutput[c], 1e-4) << "channel " << c;
}

TEST(KnownAnswer, BatchNormOnItsOwnUsesEps) {
  // Fed by the graph input, a BatchNorm has nothing to fold into: its own forward runs.
  LayerGraph graph({2}, 1);
  const auto norm = graph.add_node("bn", std::make_unique<BatchNorm>(1e-5));
  graph.connect(0, norm, 0);
  graph.set_output(norm);
  graph.bind();
  set_batchnorm_weights(*graph.nodes()[norm].op);
  graph.fold_affine_nodes();
  ASSERT_FALSE(graph.nodes()[norm].folded);
  expect_batchnorm_output(run_batchnorm_input(graph));
}

TEST(KnownAnswer, BatchNormFoldedIntoALinearUsesEps) {
  // An identity linear (no bias) before it: folded, the linear computes x * scale + shift.
  LayerGraph graph({2}, 1);
  const auto fc = graph.add_node("fc", std::make_unique<Linear>(LinearParameters{2, 2, false}));
  const auto norm = graph.add_node("bn", std::make_unique<BatchNorm>(1e-5));
  graph.connect(0, fc, 0);
  graph.connect(fc, norm, 0);
  graph.set_output(norm);
  graph.bind();
  graph.nodes()[fc].op->set_weight("weight", {1.0f, 0.0f, 0.0f, 1.0f});
  set_batchnorm_weights(*graph.nodes()[norm].op);
  graph.fold_affine_nodes();
  ASSERT_TRUE(graph.nodes()[norm].folded);
  expect_batchnorm_output(run_batchnorm_input(graph));
}

// One neuron spiking at steps 0, 1, 3 and 6 (dt 1 ms): intervals 1, 2, 3 ms, mean 2, sample
// standard deviation sqrt(((1-2)² + 0 + (3-2)²) / (3 - 1)) = 1, so CV = 0.5. The population
// standard deviation (1/n) would give sqrt(2/3) / 2 = 0.408.
const std::vector<Step> kSpikeSteps{0, 1, 3, 6};
constexpr double kSampleCv = 0.5;

TEST(KnownAnswer, TraceSummaryCvOfIsiUsesTheSampleStandardDeviation) {
  // The accumulator behind `snnsim trace summary` and `trace compare`.
  analysis::SpikeStatisticsAccumulator accumulator(1, {0, 10}, 1e-3, 5);
  const std::vector<NeuronIndex> neuron(kSpikeSteps.size(), 0);
  accumulator.add(kSpikeSteps, neuron);
  const analysis::SpikeStatistics statistics = accumulator.finish();
  EXPECT_EQ(statistics.cv_neurons, 1u);
  ASSERT_TRUE(statistics.cv_mean.has_value());
  EXPECT_NEAR(*statistics.cv_mean, kSampleCv, 1e-12);
}

TEST(KnownAnswer, RunSummaryCvOfIsiUsesTheSampleStandardDeviation) {
  // What `snnsim run` prints per population: a spike generator with the same train.
  const std::string text = R"({
    "format": "snnsim-network", "version": 1,
    "simulation": {"dt": "1 ms", "duration": "10 ms"},
    "populations": [{"name": "train", "model": "spike_generator", "size": 1,
                     "spike_times": {"unit": "ms", "values": [[0, 1, 3, 6]]}}]
  })";
  Network network = build_network(parse_network(text, "train.json"));
  const RunSummary summary = run_network(network, RunOptions{});
  ASSERT_EQ(summary.populations.size(), 1u);
  EXPECT_EQ(summary.populations[0].spikes, kSpikeSteps.size());
  EXPECT_NEAR(summary.populations[0].cv_isi, kSampleCv, 1e-12);
}

// A generator spikes at step 3 (dt 1 ms) into two lif_psc_delta neurons through synapses of
// their own delays, 2 ms and 5 ms (so the projection keeps one delay per synapse), weight 20 mV.
// A spike at step s with delay d is added to the target's membrane in its update of step s + d
// (kernels/spike_delivery.h), and lif_psc_delta's update v <- E_L + (v - E_L) P33 + w gives
// -70 + 20 = -50 mV >= V_th = -55 mV: it fires in that same step (latency 0). So the targets
// fire at steps 3 + 2 = 5 and 3 + 5 = 8, once each (then refractory, with no more input).
TEST(KnownAnswer, PerSynapseDelaysGiveSpikeTimesExactly) {
  const std::string text = R"({
    "format": "snnsim-network", "version": 1,
    "simulation": {"dt": "1 ms", "duration": "20 ms"},
    "populations": [
      {"name": "source", "model": "spike_generator", "size": 1,
       "spike_times": {"unit": "ms", "values": [[3]]}},
      {"name": "target", "model": "lif_psc_delta", "size": 2}
    ],
    "projections": [{"source": "source", "target": "target", "receptor": "v",
                     "connectivity": {"rule": "explicit", "sources": [0, 0], "targets": [0, 1]},
                     "weight": "20 mV", "delay": {"values": [2, 5], "unit": "ms"}}]
  })";
  const NetworkSpec spec = parse_network(text, "delays.json");
  for (int threads : {1, 2}) {
    Network network = build_network(spec);
    ASSERT_EQ(network.projections[0].synapses.delays.size(), 2u) << "one delay per synapse";
    const testing::Recording recording = testing::run_steps(network, 20, threads);
    EXPECT_EQ(recording.spikes[1], (std::vector<std::pair<Step, NeuronIndex>>{{5, 0}, {8, 1}}))
        << threads << " thread(s)";
  }
}

}  // namespace
}  // namespace snnsim
