// SpikeLM (sim/graph/models/spikelm.h) against golden fixtures of the PyTorch reference
// (tools/reference/make_spikelm_fixtures.py, equal to the official code by
// tools/reference/check_spikelm_official.py): hidden states and logits within 1e-4 of the
// largest, every ternary spike of every neuron identical; padding changes nothing of the tokens;
// checkpoints with the official key names load, and bad ones are refused in one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "networks/layer_graph_file.h"
#include "networks/npy.h"
#include "networks/safetensors.h"
#include "sim/graph/models/spikelm.h"
#include "test_support.h"

namespace snnsim {
namespace {

const std::string kFixtures = std::string(SNNSIM_SOURCE_DIR) + "/tests/data/spikelm/";

/// The fixture's input [B, 3, L] as the graph takes it: T copies, bound to its length.
Value fixture_input(const NpyArray& input, std::size_t steps) {
  Value x = Value::analog({3, input.shape[2]}, steps, input.shape[0]);
  for (std::size_t t = 0; t < steps; ++t)
    std::copy(input.values.begin(), input.values.end(), x.dense.begin() + t * input.values.size());
  return x;
}

/// The signed levels of a spike train, dense [T][B][features].
std::vector<float> levels_of(const SpikeTrain& s) {
  std::vector<float> levels(s.frames() * s.features, 0.0f);
  for (std::size_t f = 0; f < s.frames(); ++f) {
    for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k)
      levels[f * s.features + s.indices[k]] = static_cast<float>(s.level(k));
  }
  return levels;
}

void expect_close_to_largest(const std::vector<float>& ours, const std::vector<float>& reference,
                             const std::string& what) {
  ASSERT_EQ(ours.size(), reference.size()) << what;
  float largest = 0.0f;
  for (float v : reference)
    largest = std::max(largest, std::abs(v));
  std::size_t far = 0;
  for (std::size_t i = 0; i < ours.size(); ++i)
    far += !(std::abs(ours[i] - reference[i]) <= 1e-4f * largest);
  EXPECT_EQ(far, 0u) << what << ": " << far << " of " << ours.size()
                     << " values differ by more than 1e-4 of the largest, " << largest;
}

class SpikeLmFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(SpikeLmFixture, MatchesTheReferenceSpikeForSpike) {
  const std::string name = GetParam();
  LayerGraphSpec spec = load_layer_graph_file(kFixtures + name + ".json");
  LayerGraph& graph = *spec.graph;
  const Value x = fixture_input(read_npy(kFixtures + name + "-input.npy"), graph.timesteps());
  graph.rebind(x.shape);
  const SafetensorsFile expected(kFixtures + name + "-expected.safetensors");
  std::vector<std::size_t> kept{static_cast<std::size_t>(graph.find("encoder.mean"))};
  for (const std::string& tensor : expected.names()) {
    if (tensor == "hidden" || tensor == "logits") continue;
    const int node = graph.find(tensor);
    ASSERT_GT(node, 0) << "no node " << tensor;
    kept.push_back(static_cast<std::size_t>(node));
  }
  const GraphRun run = graph.run(x, false, false, kept);
  expect_close_to_largest(run.kept_values[kept[0] - 1].densified(), expected.read_float("hidden"),
                          name + " hidden states");
  expect_close_to_largest(run.output.densified(), expected.read_float("logits"), name + " logits");
  std::size_t neurons = 0;
  for (std::size_t k = 1; k < kept.size(); ++k) {
    const Value& value = run.kept_values[kept[k] - 1];
    const std::string& node = graph.nodes()[kept[k]].name;
    ASSERT_TRUE(value.is_spikes()) << node;
    const std::vector<float> ours = levels_of(*value.spikes), reference = expected.read_float(node);
    ASSERT_EQ(ours.size(), reference.size()) << node;
    std::size_t differ = 0;
    for (std::size_t i = 0; i < ours.size(); ++i)
      differ += ours[i] != reference[i];
    EXPECT_EQ(differ, 0u) << name << " " << node << ": " << differ << " of " << ours.size()
                          << " spikes differ";
    ++neurons;
  }
  // Per layer: the q, k, v, output, intermediate and FFN neurons and the K and V quantizers.
  EXPECT_EQ(neurons, 8u * 2);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SpikeLmFixture,
                         ::testing::Values("spikelm_d128_l2_mlm", "spikelm_d128_l2_cls"));

TEST(SpikeLm, PaddingChangesNothingOfTheTokens) {
  // Each text of the fixture's padded batch, run alone at its own length, gives the same hidden
  // states and spikes at its tokens: padding is masked out of attention, and every other
  // operator works token by token.
  LayerGraphSpec spec = load_layer_graph_file(kFixtures + "spikelm_d128_l2_mlm.json");
  LayerGraph& graph = *spec.graph;
  const NpyArray input = read_npy(kFixtures + "spikelm_d128_l2_mlm-input.npy");
  const std::size_t texts = input.shape[0], length = input.shape[2], steps = graph.timesteps();
  const Value batch = fixture_input(input, steps);
  graph.rebind(batch.shape);
  const std::size_t spikes = static_cast<std::size_t>(graph.find("layer1.output.spikes"));
  const std::vector<std::size_t> kept{static_cast<std::size_t>(graph.find("encoder.mean")), spikes};
  const GraphRun together = graph.run(batch, false, false, kept);
  const std::vector<float> hidden = together.kept_values[kept[0] - 1].densified();
  const std::vector<float> levels = levels_of(*together.kept_values[spikes - 1].spikes);
  const std::size_t d = graph.nodes()[kept[0]].shape[1], wide = graph.nodes()[spikes].shape[1];
  bool padded = false;
  for (std::size_t b = 0; b < texts; ++b) {
    std::vector<std::uint32_t> ids;
    for (std::size_t n = 0; n < length && input.values[(b * 3 + 2) * length + n] != 0; ++n)
      ids.push_back(static_cast<std::uint32_t>(input.values[b * 3 * length + n]));
    std::vector<std::uint32_t> types;
    for (std::size_t n = 0; n < ids.size(); ++n)
      types.push_back(static_cast<std::uint32_t>(input.values[(b * 3 + 1) * length + n]));
    padded |= ids.size() < length;
    const std::vector<std::vector<std::uint32_t>> one_ids{ids}, one_types{types};
    const Value alone = spikelm_input(one_ids, one_types, 0, steps);
    graph.rebind(alone.shape);
    const GraphRun single = graph.run(alone, false, false, kept);
    const std::vector<float> h = single.kept_values[kept[0] - 1].densified();
    for (std::size_t i = 0; i < ids.size() * d; ++i)
      ASSERT_NEAR(h[i], hidden[b * length * d + i], 1e-5f * (1 + std::abs(h[i])))
          << "text " << b << " element " << i;
    const std::vector<float> l = levels_of(*single.kept_values[spikes - 1].spikes);
    for (std::size_t t = 0; t < steps; ++t) {
      for (std::size_t i = 0; i < ids.size() * wide; ++i)
        ASSERT_EQ(l[t * ids.size() * wide + i], levels[(t * texts + b) * length * wide + i])
            << "text " << b << " timestep " << t << " element " << i;
    }
  }
  EXPECT_TRUE(padded) << "the fixture's texts should differ in length";
}

TEST(SpikeLm, RefusesMoreTokensThanPositions) {
  LayerGraphSpec spec = load_layer_graph_file(kFixtures + "spikelm_d128_l2_mlm.json");
  const std::size_t positions = spec.graph->input_shape()[1];
  try {
    spec.graph->rebind({3, positions + 1});
    FAIL() << "expected a GraphError";
  } catch (const GraphError& error) {
    EXPECT_NE(std::string(error.what())
                  .find("longer than the model's " + std::to_string(positions) + " positions"),
              std::string::npos)
        << error.what();
  }
}

/// The fixture's tensors, to edit and write back.
std::map<std::string, SafetensorsTensor> fixture_tensors(const std::string& name) {
  const SafetensorsFile in(kFixtures + name + ".safetensors");
  std::map<std::string, SafetensorsTensor> tensors;
  for (const std::string& tensor : in.names())
    tensors[tensor] = {in.shape(tensor), in.read_float(tensor)};
  return tensors;
}

/// Loading the mlm fixture's network file with edited weights: the error's message.
std::string refusal(const std::map<std::string, SafetensorsTensor>& tensors) {
  const std::filesystem::path folder = ::testing::TempDir() + "/spikelm_weights";
  std::filesystem::create_directories(folder);
  std::string network = testing::read_file(kFixtures + "spikelm_d128_l2_mlm.json");
  const std::string weights = "spikelm_d128_l2_mlm.safetensors";
  network.replace(network.find(weights), weights.size(), "edited.safetensors");
  testing::write_file((folder / "net.json").string(), network);
  write_safetensors(folder / "edited.safetensors", {tensors.begin(), tensors.end()});
  try {
    load_layer_graph_file(folder / "net.json");
  } catch (const std::exception& error) {
    return error.what();
  }
  return "";
}

TEST(SpikeLm, RefusesACheckpointMissingAnAlphaOrWithUntiedDecoder) {
  auto tensors = fixture_tensors("spikelm_d128_l2_mlm");
  ASSERT_EQ(refusal(tensors), "");
  auto missing = tensors;
  missing.erase("bert.encoder.layer.1.intermediate.dense.act_clip_val.2");
  EXPECT_NE(refusal(missing).find("missing tensor 'bert.encoder.layer.1.intermediate.dense."
                                  "act_clip_val' [4] (or bert.encoder.layer.1.intermediate.dense."
                                  "act_clip_val.0 to .3, a scalar each)"),
            std::string::npos)
      << refusal(missing);
  auto untied = tensors;
  untied.at("cls.predictions.decoder.weight").values[5] += 1.0f;
  EXPECT_NE(refusal(untied).find("'cls.predictions.decoder.weight' differs from "
                                 "'bert.embeddings.word_embeddings.weight'"),
            std::string::npos)
      << refusal(untied);
  auto extra = tensors;
  extra["bert.encoder.layer.1.attention.self.clip_query.0"] = {{}, {1.0f}};
  EXPECT_NE(refusal(extra).find("'bert.encoder.layer.1.attention.self.clip_query.0' is not used"),
            std::string::npos)
      << refusal(extra);
}

}  // namespace
}  // namespace snnsim
