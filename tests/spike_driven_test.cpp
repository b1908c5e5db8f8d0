// The Spike-driven Transformer (sim/graph/models/spike_driven_transformer.h) against golden
// fixtures of the PyTorch reference (tools/reference/spike_driven_reference.py, written from the
// official BICLab/Spike-Driven-Transformer code and checked against it by
// tools/reference/check_spike_driven_official.py): seeded random weights with non-trivial
// BatchNorm statistics, the official state_dict as it is saved. Regenerate with
// tools/reference/make_spike_driven_fixtures.py.
#include <gtest/gtest.h>

#include <cstdio>

#include "model_fixture_support.h"
#include "networks/npy.h"
#include "sim/graph/models/spike_driven_transformer.h"
#include "test_support.h"

namespace snnsim {
namespace {

const std::string kFixtures = SNNSIM_SOURCE_DIR "/tests/data/spike_driven/";

// Logits within 1e-4 of the largest and every spike of every LIF layer identical: 4 in SPS, 7 per
// block (shortcut, Q, K, V, the kv sum's, fc1's and fc2's), the head's.
TEST(SpikeDrivenTransformer, LogitsAndEverySpikeOfEveryLifLayerMatchTheReference) {
  EXPECT_EQ(testing::expect_fixture_matches(kFixtures, "sdt_cifar_d32_l2"), 4u + 7u * 2 + 1u);
  // Max-pools after every SPS stage, the fourth on the analog BatchNorm output.
  EXPECT_EQ(testing::expect_fixture_matches(kFixtures, "sdt_cifar_d32_l1_p1111"), 4u + 7u + 1u);
}

// snnsim infer --save-outputs (the mean over timesteps) from the network file: the reference's
// logits.
TEST(SpikeDrivenTransformer, RunsFromItsNetworkFile) {
  const std::string out = ::testing::TempDir() + "sdt-out.npy";
  const testing::CommandResult r =
      testing::run_snnsim("infer " + kFixtures + "sdt_cifar_d32_l2.json --input " + kFixtures +
                          "sdt_cifar_d32_l2-input.npy -q --save-outputs " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const NpyArray ours = read_npy(out);
  const std::vector<float> logits =
      SafetensorsFile(kFixtures + "sdt_cifar_d32_l2-expected.safetensors").read_float("logits");
  ASSERT_EQ(ours.values.size(), logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i)
    EXPECT_NEAR(ours.values[i], logits[i], 1e-4f * (1.0f + std::abs(logits[i]))) << i;
  std::remove(out.c_str());
}

// A pooling pattern that is not four 0/1 stages, or a checkpoint of another depth: one line
// naming the file and what was expected.
TEST(SpikeDrivenTransformer, RefusesNetworksItsCheckpointDoesNotFit) {
  const std::string text = testing::read_file(kFixtures + "sdt_cifar_d32_l2.json");
  struct Case {
    std::string good, bad, message, file;  ///< the file the line names
  };
  const Case cases[] = {
      {R"("pooling_stat": "0011")", R"("pooling_stat": "0012")", "expected four characters 0 or 1",
       "bad-sdt.json"},
      {R"("depths": 2)", R"("depths": 3)", "missing tensor 'block.2.attn.q_conv.weight'",
       "sdt_cifar_d32_l2.safetensors"},
      {R"("embed_dims": 32)", R"("embed_dims": 64)",
       "tensor 'patch_embed.proj_conv.weight' has shape [4, 3, 3, 3]; node sps.conv0 expects [8, "
       "3, 3, 3]",
       "sdt_cifar_d32_l2.safetensors"},
  };
  for (const auto& [good, replacement, message, file] : cases) {
    std::string bad = text;
    ASSERT_NE(bad.find(good), std::string::npos) << good;
    bad.replace(bad.find(good), good.size(), replacement);
    const std::string path = kFixtures + "bad-sdt.json";
    testing::write_file(path, bad);
    const testing::CommandResult r = testing::run_snnsim("infer " + path + " --input " + kFixtures +
                                                         "sdt_cifar_d32_l2-input.npy -q");
    EXPECT_NE(r.status, 0) << replacement;
    EXPECT_NE(r.output.find(file + ":"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << replacement << ": " << r.output;
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace snnsim
