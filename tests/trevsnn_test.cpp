// T-RevSNN (sim/graph/models/trevsnn.h) against golden fixtures of the PyTorch reference
// (tools/reference/trevsnn_reference.py, written from the official code and checked against it
// by tools/reference/check_trevsnn_official.py): seeded random weights with non-trivial
// BatchNorm statistics, gains, gammas and alphas (negative ones and one below the 1e-3 clamp),
// 32 x 32 inputs, the official state_dict as it is saved. Regenerate with
// tools/reference/make_trevsnn_fixtures.py.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>

#include <fstream>
#include <map>

#include "networks/graph_weights.h"
#include "networks/npy.h"
#include "networks/safetensors.h"
#include "sim/graph/models/trevsnn.h"
#include "sim/trace_reader.h"
#include "test_support.h"

namespace snnsim {
namespace {

const std::string kFixtures = SNNSIM_SOURCE_DIR "/tests/data/trevsnn/";

struct Fixture {
  const char* name;
  TrevsnnConfig config;
};

const Fixture kFixturesTable[] = {
    {"rgb_t4_k3", {false, {8, 16, 24, 32}, 4, 3, 10, 32, 32}},
    {"dvs_t4_k3", {true, {8, 16, 24, 32}, 4, 3, 10, 32, 32}},
    {"rgb_t8_k5", {false, {8, 16, 16, 24}, 8, 5, 10, 32, 32}},
};

/// The model of `fixture` with its weights.
ModelGraph load(const Fixture& fixture) {
  ModelGraph model = build_trevsnn(fixture.config);
  load_graph_weights(*model.graph, kFixtures + fixture.name + ".safetensors", model.naming);
  return model;
}

/// The fixture's input as the graph takes it: one timestep of images, or T of event frames
/// (the file holds [B, T, 2, H, W]).
Value input_of(const Fixture& fixture) {
  const NpyArray array = read_npy(kFixtures + fixture.name + "-input.npy");
  const std::size_t batch = array.shape[0];
  const TrevsnnConfig& c = fixture.config;
  const std::size_t steps = c.events ? c.timesteps : 1;
  const Shape shape{c.events ? 2u : 3u, c.height, c.width};
  Value x = Value::analog(shape, steps, batch);
  const std::size_t n = element_count(shape);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t t = 0; t < steps; ++t) {
      std::copy_n(array.values.begin() + (b * steps + t) * n, n,
                  x.dense.begin() + (t * batch + b) * n);
    }
  }
  return x;
}

class TrevsnnFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(TrevsnnFixture, LogitsAndEverySpikeMatchTheReference) {
  const Fixture& fixture = GetParam();
  const ModelGraph model = load(fixture);
  const LayerGraph& graph = *model.graph;
  GraphRun run = graph.run(input_of(fixture), true);
  const SafetensorsFile expected(kFixtures + fixture.name + "-expected.safetensors");

  const std::vector<float> logits = expected.read_float("logits");
  const std::vector<float> ours = run.output.densified();
  ASSERT_EQ(run.output.steps, 1u);  // the head reads the last column only
  ASSERT_EQ(ours.size(), logits.size());
  float largest = 0.0f;
  for (float v : logits)
    largest = std::max(largest, std::abs(v));
  for (std::size_t i = 0; i < logits.size(); ++i)
    EXPECT_NEAR(ours[i], logits[i], 1e-4f * largest) << "logit " << i;

  // Every spiking node the reference records, at every column: identical. The reference's
  // head.sn of an image model is s3 at the last column (both are SN(c3)).
  std::size_t compared = 0;
  for (const std::string& name : expected.names()) {
    if (name == "logits" || name == "x" || name[0] == 'c') continue;
    const bool head_of_image = name == "head.sn" && !fixture.config.events;
    const int node = graph.find(head_of_image ? "s3" : name);
    ASSERT_GE(node, 0) << name;
    const Value& spikes = run.spikes_of(static_cast<std::size_t>(node));
    ASSERT_TRUE(spikes.is_spikes()) << name;
    std::vector<float> dense = spikes.densified();
    if (name == "head.sn") {
      const std::size_t last = dense.size() / spikes.steps * (spikes.steps - 1);
      dense.erase(dense.begin(), dense.begin() + static_cast<long>(last));
    }
    const std::vector<float> reference = expected.read_float(name);
    ASSERT_EQ(dense.size(), reference.size()) << name;
    std::size_t differ = 0;
    for (std::size_t i = 0; i < dense.size(); ++i)
      differ += dense[i] != reference[i];
    EXPECT_EQ(differ, 0u) << name << ": " << differ << " of " << dense.size() << " spikes differ";
    ++compared;
  }
  EXPECT_EQ(compared, 21u);  // s0..s3, head.sn, 4 levels x 2 blocks x 2 neurons
}

/// "c0".."c3", the level states' names (appended: g++ 12 warns falsely of "c" + to_string).
std::string level_name(std::size_t l) {
  return std::string("c").append(std::to_string(l));
}

/// Node indices of the level states c0..c3.
std::vector<std::size_t> level_states(const LayerGraph& graph) {
  std::vector<std::size_t> nodes;
  for (int l = 0; l < 4; ++l)
    nodes.push_back(static_cast<std::size_t>(graph.find(level_name(l))));
  return nodes;
}

/// max |a - b| / max |b|.
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double largest = 0.0, difference = 0.0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    largest = std::max(largest, std::abs(static_cast<double>(b[i])));
    difference = std::max(difference, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return difference / largest;
}

TEST_P(TrevsnnFixture, LevelStatesOfEveryColumnMatchTheReference) {
  const Fixture& fixture = GetParam();
  const ModelGraph model = load(fixture);
  const std::vector<std::size_t> states = level_states(*model.graph);
  const GraphRun run = model.graph->run(input_of(fixture), false, false, states);
  const SafetensorsFile expected(kFixtures + fixture.name + "-expected.safetensors");
  for (std::size_t l = 0; l < 4; ++l) {
    const Value& c = run.kept_values[states[l] - 1];
    ASSERT_EQ(c.steps, fixture.config.timesteps);
    EXPECT_LT(relative_difference(c.densified(), expected.read_float(level_name(l))), 1e-5)
        << "c" << l;
  }
}

// T columns forward, then T - 1 inverses from the last column's states: column 0's states come
// back within 1e-4 relative. The alphas are set to magnitudes in [0.25, 1] as training leaves
// them (from 0.5): the fixtures' own go down to the 1e-3 clamp and to 0, where an inverse
// multiplies an error by 1000 or has nothing to recompute from (docs/models/trevsnn.md measures
// the drift).
TEST_P(TrevsnnFixture, InversesFromTheLastColumnGiveBackTheFirstColumnsStates) {
  const Fixture& fixture = GetParam();
  ModelGraph model = load(fixture);
  LayerGraph& graph = *model.graph;
  std::mt19937 random(7);
  for (std::size_t l = 0; l < 4; ++l) {
    LayerOp& leak = *graph.nodes()[graph.find(level_name(l) + ".leak")].op;
    for (std::size_t t = 1; t < fixture.config.timesteps; ++t) {
      std::vector<float> alpha(fixture.config.channels[l]);
      for (float& a : alpha)
        a = std::uniform_real_distribution<float>(0.25f, 1.0f)(random) * (random() % 4 ? 1 : -1);
      leak.set_weight("subnet" + std::to_string(t) + ".alpha" + std::to_string(l), alpha);
    }
  }
  const std::vector<std::array<double, 4>> errors =
      trevsnn_inversion_errors(graph, input_of(fixture));
  ASSERT_EQ(errors.size(), fixture.config.timesteps - 1);
  for (std::size_t t = 0; t < errors.size(); ++t) {
    for (std::size_t l = 0; l < 4; ++l)
      EXPECT_LT(errors[t][l], 1e-4) << "c" << l << " of column " << t;
  }
}

TEST(Trevsnn, InverseRefusesAColumnWhoseAlphaIsZero) {
  const Fixture& fixture = kFixturesTable[0];  // subnet1.alpha0 is 0 in channel 2
  const ModelGraph model = load(fixture);
  const std::vector<std::size_t> nodes = level_states(*model.graph);
  const Value input = input_of(fixture);
  const GraphRun run = model.graph->run(input, false, false, nodes);
  std::array<Value, 4> states;
  for (std::size_t l = 0; l < 4; ++l)
    states[l] = run.kept_values[nodes[l] - 1].step(1);
  try {
    trevsnn_previous_states(*model.graph, 1, input, states);
    FAIL() << "expected a refusal";
  } catch (const GraphError& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("subnet1.alpha0 is 0 in channel 2"));
  }
}

/// The rgb_t4_k3 fixture's tensors, as float32, to edit and write back.
struct Tensors {
  std::map<std::string, SafetensorsTensor> tensors;

  static Tensors of(const std::string& file) {
    const SafetensorsFile in(file);
    Tensors t;
    for (const std::string& name : in.names())
      t.tensors[name] = {in.shape(name), in.read_float(name)};
    return t;
  }
  void write(const std::filesystem::path& path) const {
    write_safetensors(path, {tensors.begin(), tensors.end()});
  }
};

class TrevsnnFile : public testing::CommandLineTest {
 protected:
  /// A network file for the rgb_t4_k3 fixture with `replace` applied to its text, and `weights`
  /// as its weights; returns the refusal of `snnsim infer` on it, after checking that it is one
  /// line, non-zero, and that nothing was written.
  std::string refusal(const std::string& replace_from, const std::string& replace_to,
                      const Tensors& weights) {
    std::ifstream in(kFixtures + "rgb_t4_k3.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (!replace_from.empty())
      text.replace(text.find(replace_from), replace_from.size(), replace_to);
    write("model.json", text);
    weights.write(path("rgb_t4_k3.safetensors"));
    const testing::CommandResult r = testing::run_snnsim(
        "infer " + path("model.json") + " --input " + kFixtures + "rgb_t4_k3-input.npy -q -o " +
        path("t.h5") + " --save-outputs " + path("out.npy"));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(path("t.h5")));
    EXPECT_FALSE(std::filesystem::exists(path("out.npy")));
    return r.output;
  }
  const Tensors fixture_ = Tensors::of(kFixtures + "rgb_t4_k3.safetensors");
};

// Both network files, the image one and the event one (frames [N, T, 2, H, W] in the input file,
// the "sequence" encoder), give the reference's logits through snnsim infer.
TEST_F(TrevsnnFile, TheFixturesRunFromTheirNetworkFiles) {
  for (const std::string name : {"rgb_t4_k3", "dvs_t4_k3"}) {
    const testing::CommandResult r =
        testing::run_snnsim("infer " + kFixtures + name + ".json --input " + kFixtures + name +
                            "-input.npy -q " + "--save-outputs " + path(name + ".npy"));
    ASSERT_EQ(r.status, 0) << r.output;
    const NpyArray out = read_npy(path(name + ".npy"));
    const std::vector<float> logits =
        SafetensorsFile(kFixtures + name + "-expected.safetensors").read_float("logits");
    ASSERT_EQ(out.shape, (Shape{2, 10})) << name;
    EXPECT_LT(relative_difference(out.values, logits), 1e-4) << name;
  }
}

// The event variant fed an event recording (x, y, t, p rows, binned by time into a frame per
// column): the recording holds the events of the fixture's first sample, frame t's at time t, so
// the frames are the fixture's and the logits its first sample's.
TEST_F(TrevsnnFile, EventVariantRunsFromAnEventRecording) {
  const NpyArray frames = read_npy(kFixtures + "dvs_t4_k3-input.npy");  // [B, T, 2, H, W]
  const std::size_t T = frames.shape[1], H = frames.shape[3], W = frames.shape[4];
  std::vector<float> events;
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t p = 0; p < 2; ++p) {
      for (std::size_t y = 0; y < H; ++y) {
        for (std::size_t x = 0; x < W; ++x) {
          const float count = frames.values[(((t * 2) + p) * H + y) * W + x];
          for (int k = 0; k < static_cast<int>(count); ++k) {
            events.insert(events.end(), {static_cast<float>(x), static_cast<float>(y),
                                         static_cast<float>(t), static_cast<float>(p)});
          }
        }
      }
    }
  }
  write_npy(path("events.npy"), {events.size() / 4, 4}, events);
  std::ifstream in(kFixtures + "dvs_t4_k3.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.replace(text.find("\"sequence\""), 10, "\"event_frames\"");
  text.replace(text.find("dvs_t4_k3.safetensors"), 21, kFixtures + "dvs_t4_k3.safetensors");
  write("dvs.json", text);
  const testing::CommandResult r =
      testing::run_snnsim("infer " + path("dvs.json") + " --input " + path("events.npy") +
                          " -q --save-outputs " + path("out.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  const NpyArray out = read_npy(path("out.npy"));
  std::vector<float> logits =
      SafetensorsFile(kFixtures + "dvs_t4_k3-expected.safetensors").read_float("logits");
  logits.resize(10);  // the first sample's
  ASSERT_EQ(out.shape, (Shape{1, 10}));
  EXPECT_LT(relative_difference(out.values, logits), 1e-4);
}

// --record c0 ... c3: the level states of every column in the trace, as the reference has them.
TEST_F(TrevsnnFile, RecordedLevelStatesAreTheReferences) {
  std::string arguments = "infer " + kFixtures + "rgb_t4_k3.json --input " + kFixtures +
                          "rgb_t4_k3-input.npy -q -o " + path("t.h5");
  for (int l = 0; l < 4; ++l)
    arguments += " --record c" + std::to_string(l);
  const testing::CommandResult r = testing::run_snnsim(arguments);
  ASSERT_EQ(r.status, 0) << r.output;
  const TraceReader trace(path("t.h5"));
  const SafetensorsFile expected(kFixtures + "rgb_t4_k3-expected.safetensors");
  for (int l = 0; l < 4; ++l) {
    const std::string name = level_name(l);
    const TraceState state = trace.read_state(name, "value");
    // The trace's rows are sample-major, the reference's [T, B, ...] time-major.
    const std::vector<float> reference = expected.read_float(name);
    const Shape shape = expected.shape(name);
    const std::size_t T = shape[0], B = shape[1], n = reference.size() / (T * B);
    ASSERT_EQ(state.samples, T * B) << name;
    std::vector<float> reordered(reference.size());
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t t = 0; t < T; ++t)
        std::copy_n(reference.begin() + (t * B + b) * n, n, reordered.begin() + (b * T + t) * n);
    }
    EXPECT_LT(relative_difference(state.values, reordered), 1e-5) << name;
  }
}

// The example trained by tools/reference/train_trevsnn_digits.py: snnsim gives the reference's
// prediction on at least 99.5 % of the 450 test digits (it gives all 450) and its logits.
TEST_F(TrevsnnFile, DigitsExampleGivesTheReferencesPredictions) {
  const std::string examples = SNNSIM_SOURCE_DIR "/examples/";
  const testing::CommandResult r =
      testing::run_snnsim("infer " + examples + "trevsnn-digits.json --input " + examples +
                          "data/trevsnn-digits-input.npy -q --save-outputs " + path("out.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  const NpyArray ours = read_npy(path("out.npy"));
  const NpyArray reference = read_npy(examples + "data/trevsnn-digits-expected.npy");
  const NpyArray labels = read_npy(examples + "data/trevsnn-digits-labels.npy");
  ASSERT_EQ(ours.shape, reference.shape);
  const std::size_t samples = ours.shape[0], classes = ours.shape[1];
  const auto top = [classes](const std::vector<float>& logits, std::size_t s) {
    const auto row = logits.begin() + static_cast<long>(s * classes);
    return std::max_element(row, row + static_cast<long>(classes)) - row;
  };
  std::size_t same = 0, correct = 0;
  for (std::size_t s = 0; s < samples; ++s) {
    same += top(ours.values, s) == top(reference.values, s);
    correct += top(ours.values, s) == static_cast<long>(labels.values[s]);
  }
  EXPECT_GE(same, samples * 995 / 1000) << same << " of " << samples;
  EXPECT_LT(relative_difference(ours.values, reference.values), 1e-4);
  EXPECT_GE(correct, samples * 98 / 100) << "accuracy " << correct << " of " << samples;
}

TEST_F(TrevsnnFile, BadCheckpointsAndConfigurationsAreRefusedInOneLine) {
  Tensors missing = fixture_;
  missing.tensors.erase("subnet2.level1.blocks.0.pwconv1.gain");
  EXPECT_THAT(refusal("", "", missing),
              ::testing::HasSubstr("rgb_t4_k3.safetensors: missing tensor "
                                   "'subnet2.level1.blocks.0.pwconv1.gain' [64, 1, 1, 1] for node "
                                   "level1.block0.pwconv1"));
  Tensors misshaped = fixture_;
  misshaped.tensors["subnet1.alpha3"] = {{1, 31, 1, 1}, std::vector<float>(31, 0.5f)};
  EXPECT_THAT(refusal("", "", misshaped),
              ::testing::HasSubstr("tensor 'subnet1.alpha3' has shape [1, 31, 1, 1]; node c3.leak "
                                   "expects [1, 32, 1, 1]"));
  Tensors disagreeing = fixture_;
  disagreeing.tensors["subnet3.level2.blocks.1.pwconv2_reuse.weight"].values[5] += 0.25f;
  EXPECT_THAT(refusal("", "", disagreeing),
              ::testing::HasSubstr("tensor 'subnet3.level2.blocks.1.pwconv2_reuse.weight' differs "
                                   "from 'subnet0.level2.blocks.1.pwconv2_reuse.weight'; the two "
                                   "are one shared tensor of the model"));
  // The tiny variant's own widths with the fixture's weights.
  EXPECT_THAT(refusal("\"channels\": [8, 16, 24, 32],", "", fixture_),
              ::testing::HasSubstr("tensor 'stem.down1.0.weight' has shape [8, 3, 7, 7]; node "
                                   "stem.down1 expects [64, 3, 7, 7]"));
  EXPECT_THAT(refusal("\"timesteps\": 4", "\"timesteps\": 0", fixture_),
              ::testing::HasSubstr("model.json: /timesteps: expected a number of columns, a whole "
                                   "number from 1"));
  EXPECT_THAT(refusal("\"timesteps\": 4", "\"timesteps\": 5", fixture_),
              ::testing::HasSubstr("missing tensor 'subnet4."));
  EXPECT_THAT(refusal("\"tiny\"", "\"huge\"", fixture_),
              ::testing::HasSubstr("/variant: expected one of: tiny, small, tiny_dvs; found "
                                   "\"huge\""));
  EXPECT_THAT(refusal("[3, 32, 32]", "[2, 32, 32]", fixture_),
              ::testing::HasSubstr("/input/shape: the image variants take RGB images of shape "
                                   "[3, height, width]"));
  EXPECT_THAT(refusal("[3, 32, 32]", "[3, 36, 36]", fixture_),
              ::testing::HasSubstr("/model: level 0's feature maps are 9x9, not twice level 1's"));
  EXPECT_THAT(refusal("\"classes\": 10", "\"classes\": 10, \"nodes\": []", fixture_),
              ::testing::HasSubstr("/nodes: unknown key 'nodes'"));
}

// What NIR and Loihi 2 cannot take of a T-RevSNN, node by node, with the reason.
TEST(Trevsnn, ExportCheckSaysWhatNeitherNirNorLoihi2CanMapAndWhy) {
  const std::string model = kFixtures + "rgb_t4_k3.json";
  const testing::CommandResult nir = testing::run_snnsim("export check " + model + " --target nir");
  EXPECT_EQ(nir.status, 1) << nir.output;
  EXPECT_THAT(nir.output, ::testing::HasSubstr(
                              "'level0.block0.pwconv1' (conv2d): an operator per timestep (each "
                              "column of a T-RevSNN has its own weights): a NIR node has one set "
                              "of parameters for all timesteps"));
  EXPECT_THAT(nir.output, ::testing::HasSubstr("'level0.up.upsample' (upsample_nearest): runs from "
                                               "timestep 1 on (zero before it)"));
  EXPECT_THAT(nir.output, ::testing::HasSubstr("NIR has no upsample_nearest operator"));
  EXPECT_THAT(nir.output, ::testing::HasSubstr("'head' (flatten): runs at the last timestep only"));
  EXPECT_THAT(nir.output, ::testing::Not(::testing::HasSubstr("'level0.up.bn'")));  // folded
  const testing::CommandResult loihi =
      testing::run_snnsim("export check " + model + " --target loihi2");
  EXPECT_EQ(loihi.status, 1) << loihi.output;
  EXPECT_THAT(loihi.output,
              ::testing::HasSubstr("node level0.block0.sn1 (threshold): a stateless threshold "
                                   "neuron (round(clamp(u, 0, 1)), T-RevSNN's SN): only `if` "
                                   "neurons, which integrate and reset, are mapped"));
  EXPECT_THAT(loihi.output, ::testing::HasSubstr("node c0.prev (delay): a node with a delay"));
  EXPECT_THAT(loihi.output, ::testing::HasSubstr("nodes without a Loihi 2 fixed-point mapping"));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TrevsnnFixture, ::testing::ValuesIn(kFixturesTable),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace snnsim
