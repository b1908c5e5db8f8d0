// Spikformer (sim/graph/models/spikformer.h) against golden fixtures of the PyTorch reference
// (tools/reference/spikformer_reference.py, written from the official cifar10/model.py and
// checked against it by tools/reference/check_spikformer_official.py): seeded random weights
// with non-trivial BatchNorm statistics, 32 x 32 images, the official state_dict as it is saved.
// Regenerate with tools/reference/make_spikformer_fixtures.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "model_fixture_support.h"
#include "networks/graph_weights.h"
#include "networks/layer_graph_file.h"
#include "networks/npy.h"
#include "networks/safetensors.h"
#include "sim/graph/models/spikformer.h"
#include "sim/trace_reader.h"
#include "test_support.h"

namespace snnsim {
namespace {

const std::string kFixtures = SNNSIM_SOURCE_DIR "/tests/data/spikformer/";

std::size_t expect_fixture_matches(const std::string& name) {
  return testing::expect_fixture_matches(kFixtures, name);
}

TEST(Spikformer, LogitsAndEverySpikeOfEveryLifLayerMatchTheReference) {
  // 5 SPS LIF layers, 7 per block.
  EXPECT_EQ(expect_fixture_matches("cifar_d32_l2"), 5u + 7u * 2);
}

// The ImageNet model (channel-first, bias-free Conv1d q/k/v, Q (K^T V), four max-pools) at
// 128 x 128 (8 x 8 tokens), without and with STATA (fused pruned tokens) at blocks 1 and 2.
TEST(Spikformer, ImagenetVariantMatchesTheReference) {
  EXPECT_EQ(expect_fixture_matches("imagenet_d32_l2"), 5u + 7u * 2);
  EXPECT_EQ(expect_fixture_matches("imagenet_stata_d32_l3"), 5u + 7u * 3 + 2u * 2);
}

// STATA and EViT token pruning at blocks 1 and 2 of 3: on top of every spike, each pruning
// block's anchor scores and kept tokens (the same set at every timestep) as the reference's.
TEST(Spikformer, TokenPruningKeepsTheReferencesTokensAndSpikes) {
  for (const char* name : {"stata_d32_l3_drop", "stata_d32_l3_fuse", "evit_d32_l3_drop"})
    EXPECT_EQ(expect_fixture_matches(name), 5u + 7u * 3 + 2u * 2) << name;
}

// Keep ratio 1.0 at every pruning block computes exactly the model with its anchor and no pruning.
TEST(Spikformer, KeepRatioOneIsTheUnprunedModelExactly) {
  SpikformerConfig config;
  config.embed_dims = 32;
  config.depths = 3;
  config.heads = 2;
  config.pruning = TokenPruning{};
  ModelGraph unpruned = build_spikformer(config);
  config.pruning->blocks = {0, 1, 2};
  config.pruning->keep_ratios = {1.0, 1.0, 1.0};
  ModelGraph pruned = build_spikformer(config);
  const Value x =
      testing::repeated(read_npy(kFixtures + "stata_d32_l3_drop-input.npy"), config.timesteps);
  for (ModelGraph* model : {&unpruned, &pruned}) {
    load_graph_weights(*model->graph, kFixtures + "stata_d32_l3_drop.safetensors", model->naming);
    model->graph->fold_affine_nodes();
  }
  GraphRun a = unpruned.graph->run(x, true), b = pruned.graph->run(x, true);
  EXPECT_EQ(a.output.densified(), b.output.densified());
  std::size_t compared = 0;
  for (const NodeReport& report : a.nodes) {
    if (report.kind != "lif") continue;
    const int other = pruned.graph->find(report.name);
    ASSERT_GT(other, 0) << report.name;
    EXPECT_EQ(a.spikes_of(report.node).densified(),
              b.spikes_of(static_cast<std::size_t>(other)).densified())
        << report.name;
    ++compared;
  }
  EXPECT_EQ(compared, 5u + 7u * 3);
}

// Pruning at a block the model lacks, keep ratios outside (0, 1], blocks out of order: one line
// naming the network file and the key.
TEST(Spikformer, RefusesTokenPruningItCannotDo) {
  const std::string text = testing::read_file(kFixtures + "stata_d32_l3_drop.json");
  const std::string good = R"("blocks": [1, 2], "keep_ratio": 0.7)";
  ASSERT_NE(text.find(good), std::string::npos);
  const std::pair<std::string, std::string> cases[] = {
      {R"("blocks": [1, 3], "keep_ratio": 0.7)", "block 3 does not exist"},
      {R"("blocks": [1, 2], "keep_ratio": 0)", "expected one in (0, 1]"},
      {R"("blocks": [1, 2], "keep_ratio": 1.5)", "expected one in (0, 1]"},
      {R"("blocks": [1, 2], "keep_ratio": [0.7])", "one keep ratio per pruning block"},
      {R"("blocks": [2, 1], "keep_ratio": 0.7)", "ascending order"},
      {R"("blocks": [1, 2], "keep_ratio": 0.7, "method": "stata")", "unknown key 'method'"},
  };
  for (const auto& [replacement, message] : cases) {
    std::string bad = text;
    bad.replace(bad.find(good), good.size(), replacement);
    const std::string path = kFixtures + "bad-pruning.json";
    testing::write_file(path, bad);
    try {
      load_layer_graph_file(path);
      ADD_FAILURE() << replacement << ": loaded";
    } catch (const std::exception& error) {
      const std::string what = error.what();
      EXPECT_NE(what.find("bad-pruning.json:"), std::string::npos) << what;
      EXPECT_NE(what.find(": /token_pruning/"), std::string::npos) << what;
      EXPECT_NE(what.find(message), std::string::npos) << what;
    }
    std::remove(path.c_str());
  }
}

// The fixture's network file through snnsim infer: --save-outputs (the mean over timesteps) is the
// reference's head(x.mean(0)).
TEST(Spikformer, RunsFromItsNetworkFile) {
  const std::string out = ::testing::TempDir() + "spikformer-out.npy";
  const testing::CommandResult r =
      testing::run_snnsim("infer " + kFixtures + "cifar_d32_l2.json --input " + kFixtures +
                          "cifar_d32_l2-input.npy -q --save-outputs " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const NpyArray ours = read_npy(out);
  const std::vector<float> logits =
      SafetensorsFile(kFixtures + "cifar_d32_l2-expected.safetensors").read_float("logits");
  ASSERT_EQ(ours.values.size(), logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i)
    EXPECT_NEAR(ours.values[i], logits[i], 1e-4f * (1.0f + std::abs(logits[i]))) << i;
  std::remove(out.c_str());
}

// snnsim infer -o: every pruning block's kept tokens in the trace, one row per sample, as the
// reference kept them; the summary names the counts.
TEST(Spikformer, InferWritesTheKeptTokensToTheTrace) {
  const std::string trace_path = ::testing::TempDir() + "spikformer-kept.h5";
  const testing::CommandResult r =
      testing::run_snnsim("infer " + kFixtures + "stata_d32_l3_fuse.json --input " + kFixtures +
                          "stata_d32_l3_fuse-input.npy -o " + trace_path);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("tokens kept block1.keep 45 of 64, block2.keep 23 of 46"),
            std::string::npos)
      << r.output;
  const TraceReader trace(trace_path);
  const SafetensorsFile expected(kFixtures + "stata_d32_l3_fuse-expected.safetensors");
  for (const char* block : {"block1.keep", "block2.keep"}) {
    const TraceState kept = trace.read_state(block, "value");
    EXPECT_EQ(kept.samples, 2u) << block;
    EXPECT_EQ(kept.values, expected.read_float(block)) << block;
  }
  std::remove(trace_path.c_str());
}

// The digits examples trained by tools/reference/train_spikformer_digits.py (without pruning, and
// fine-tuned with STATA at keep ratio 0.7): snnsim gives the reference's prediction on at least
// 99.5 % of the 450 test digits, and the reference's accuracy.
TEST(Spikformer, DigitsExamplesGiveTheReferencesPredictions) {
  const std::string examples = SNNSIM_SOURCE_DIR "/examples/";
  const NpyArray labels = read_npy(examples + "data/spikformer-digits-labels.npy");
  for (const std::string model : {"spikformer-digits", "spikformer-digits-stata"}) {
    const std::string out = ::testing::TempDir() + model + "-out.npy";
    const testing::CommandResult r =
        testing::run_snnsim("infer " + examples + model + ".json --input " + examples +
                            "data/spikformer-digits-input.npy -q --save-outputs " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    const NpyArray ours = read_npy(out);
    const NpyArray reference = read_npy(examples + "data/" + model + "-expected.npy");
    ASSERT_EQ(ours.shape, reference.shape);
    const std::size_t samples = ours.shape[0], classes = ours.shape[1];
    const auto top = [classes](const std::vector<float>& logits, std::size_t s) {
      const auto row = logits.begin() + static_cast<long>(s * classes);
      return std::max_element(row, row + static_cast<long>(classes)) - row;
    };
    std::size_t same = 0, ours_right = 0, reference_right = 0;
    for (std::size_t s = 0; s < samples; ++s) {
      same += top(ours.values, s) == top(reference.values, s);
      ours_right += top(ours.values, s) == static_cast<long>(labels.values[s]);
      reference_right += top(reference.values, s) == static_cast<long>(labels.values[s]);
    }
    EXPECT_GE(same, static_cast<std::size_t>(std::ceil(0.995 * samples))) << model;
    EXPECT_EQ(ours_right, reference_right) << model;
    std::remove(out.c_str());
  }
}

}  // namespace
}  // namespace snnsim
