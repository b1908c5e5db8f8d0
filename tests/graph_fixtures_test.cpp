// Layer-graph operators against golden fixtures from an independent implementation: PyTorch, with
// spikingjelly's multi-step LIFNode/IFNode as the reference LIF and IF neurons
// (tools/reference/make_graph_fixtures.py writes tests/fixtures/graphs/). The first neuron
// layer's spikes must equal the reference exactly and every output value must lie within 1e-5
// relative + 1e-6 absolute of it, on the event-driven paths and on the dense ones.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "encoders/input_encoder.h"
#include "networks/layer_graph_file.h"
#include "networks/npy.h"
#include "sim/graph/layer_graph.h"

namespace snnsim {
namespace {

const std::string kFixtures = SNNSIM_SOURCE_DIR "/tests/fixtures/graphs/";

/// [T, B, ...shape].
std::vector<std::size_t> sequence_shape(std::size_t steps, std::size_t batch, const Shape& shape) {
  std::vector<std::size_t> full{steps, batch};
  full.insert(full.end(), shape.begin(), shape.end());
  return full;
}

/// Compares `actual` with `expected` element by element, within `relative` * |expected| +
/// `absolute` (both 0: exactly); reports how many differ and the first few.
void expect_close(const std::string& what, const std::vector<float>& actual,
                  const std::vector<float>& expected, float relative, float absolute) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  std::size_t differing = 0;
  std::ostringstream first;
  for (std::size_t k = 0; k < actual.size(); ++k) {
    const float tolerance = relative * std::fabs(expected[k]) + absolute;
    if (std::fabs(actual[k] - expected[k]) <= tolerance) continue;
    if (++differing <= 5) {
      first << "\n  [" << k << "] snnsim " << actual[k] << ", reference " << expected[k];
    }
  }
  EXPECT_EQ(differing, 0u) << what << ": " << differing << " of " << actual.size()
                           << " values differ" << first.str();
}

/// Runs fixture `name` on its input, event-driven or with every operator on its dense path
/// (`snnsim infer --dense`), and checks the spikes of `neuron` (empty: none) and the output
/// against the reference.
void check_fixture(const std::string& name, const std::string& neuron, bool dense = false) {
  const LayerGraphSpec spec = load_layer_graph_file(kFixtures + name + ".json");
  const NpyArray input = read_npy(kFixtures + name + "-input.npy");
  const LayerGraph& graph = *spec.graph;
  const std::size_t samples = input.shape[0];
  const std::size_t steps = graph.timesteps();
  ASSERT_EQ(Shape(input.shape.begin() + 1, input.shape.end()), graph.input_shape()) << name;
  const Value x = encode_input(spec.encoder, graph.input_shape(), input.values, samples, 0, steps);
  const NpyArray output = read_npy(kFixtures + name + "-output.npy");
  const std::string path = name + (dense ? " (dense)" : " (event-driven)");
  const GraphRun run = graph.run(x, true, dense);
  if (!neuron.empty()) {
    std::size_t k = 0;
    while (k < run.nodes.size() && run.nodes[k].name != neuron)
      ++k;
    ASSERT_LT(k, run.nodes.size()) << path << ": no node " << neuron;
    const Value& spikes = run.spike_values[k];
    ASSERT_TRUE(spikes.is_spikes()) << path << ": " << neuron << " gives no spikes";
    const NpyArray reference = read_npy(kFixtures + name + "-spikes.npy");
    ASSERT_EQ(sequence_shape(steps, samples, spikes.shape), reference.shape) << path;
    EXPECT_GT(spikes.spikes->events(), 0u) << path;
    expect_close(path + ": spikes of " + neuron, spikes.densified(), reference.values, 0.0f, 0.0f);
  }
  ASSERT_EQ(sequence_shape(steps, samples, run.output.shape), output.shape) << path;
  expect_close(path + ": output", run.output.densified(), output.values, 1e-5f, 1e-6f);
}

TEST(GraphFixtures, ConvBatchNormLifMaxPool) {
  check_fixture("conv_lif", "lif");
}

TEST(GraphFixtures, DepthwiseConvSoftResetIfAvgPool) {
  check_fixture("depthwise_if", "if");
}

TEST(GraphFixtures, LifWithoutInputDecayAndSoftReset) {
  check_fixture("lif_variants", "lif");
}

TEST(GraphFixtures, MultilevelThresholdLevels) {
  check_fixture("threshold_levels", "quant");
}

TEST(GraphFixtures, ElasticBispikeTernarySpikes) {
  check_fixture("ternary_spikelm", "bispike");
}

TEST(GraphFixtures, SpikformerSpikingSelfAttention) {
  check_fixture("spikformer_block", "q_lif");
}

TEST(GraphFixtures, FloatTransformerBlock) {
  check_fixture("transformer_float", "");
}

// The same fixtures with every operator on its dense path, as `snnsim infer --dense` runs them.
TEST(GraphFixtures, DensePathsMatchTheReferenceToo) {
  for (const auto& [name, neuron] :
       {std::pair{"conv_lif", "lif"}, std::pair{"depthwise_if", "if"},
        std::pair{"lif_variants", "lif"}, std::pair{"threshold_levels", "quant"},
        std::pair{"ternary_spikelm", "bispike"}, std::pair{"spikformer_block", "q_lif"},
        std::pair{"transformer_float", ""}}) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(check_fixture(name, neuron, true));
  }
}

}  // namespace
}  // namespace snnsim
