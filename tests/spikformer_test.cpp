// Spikformer (sim/graph/models/spikformer.h) against golden fixtures of the PyTorch reference
// (tools/reference/spikformer_reference.py, written from the official cifar10/model.py and
// checked against it by tools/reference/check_spikformer_official.py): seeded random weights
// with non-trivial BatchNorm statistics, 32 x 32 images, the official state_dict as it is saved.
// Regenerate with tools/reference/make_spikformer_fixtures.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "networks/graph_weights.h"
#include "networks/npy.h"
#include "networks/safetensors.h"
#include "sim/graph/models/spikformer.h"
#include "test_support.h"

namespace snnsim {
namespace {

const std::string kFixtures = SNNSIM_SOURCE_DIR "/tests/data/spikformer/";

TEST(Spikformer, LogitsAndEverySpikeOfEveryLifLayerMatchTheReference) {
  SpikformerConfig config;
  config.embed_dims = 32;
  config.depths = 2;
  config.heads = 2;
  config.mlp_ratio = 4;
  config.timesteps = 4;
  ModelGraph model = build_spikformer(config);
  load_graph_weights(*model.graph, kFixtures + "cifar_d32_l2.safetensors", model.naming);
  const NpyArray images = read_npy(kFixtures + "cifar_d32_l2-input.npy");
  const std::size_t batch = images.shape[0];
  // The image at every timestep (direct encoding).
  Value x = Value::analog({3, 32, 32}, config.timesteps, batch);
  for (std::size_t t = 0; t < config.timesteps; ++t)
    std::copy(images.values.begin(), images.values.end(),
              x.dense.begin() + t * images.values.size());
  const GraphRun run = model.graph->run(x, true);
  const SafetensorsFile expected(kFixtures + "cifar_d32_l2-expected.safetensors");

  // head(mean over T) = mean over T of head, as snnsim infer reports it.
  const std::vector<float> logits = expected.read_float("logits");
  const std::vector<float> out = run.output.densified();
  const std::size_t classes = 10;
  float largest = 0.0f;
  for (float v : logits)
    largest = std::max(largest, std::abs(v));
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t k = 0; k < classes; ++k) {
      double mean = 0.0;
      for (std::size_t t = 0; t < config.timesteps; ++t)
        mean += out[(t * batch + b) * classes + k];
      mean /= static_cast<double>(config.timesteps);
      EXPECT_NEAR(mean, logits[b * classes + k], 1e-4 * largest)
          << "sample " << b << " class " << k;
    }
  }
  std::size_t compared = 0;
  for (const std::string& name : expected.names()) {
    if (name == "logits") continue;
    const int node = model.graph->find(name);
    ASSERT_GE(node, 0) << name;
    const Value& spikes = run.spike_values[static_cast<std::size_t>(node) - 1];
    ASSERT_TRUE(spikes.is_spikes()) << name;
    const std::vector<float> ours = spikes.densified(), reference = expected.read_float(name);
    ASSERT_EQ(ours.size(), reference.size()) << name;
    std::size_t differ = 0;
    for (std::size_t i = 0; i < ours.size(); ++i)
      differ += ours[i] != reference[i];
    EXPECT_EQ(differ, 0u) << name << ": " << differ << " of " << ours.size() << " spikes differ";
    ++compared;
  }
  EXPECT_EQ(compared, 5u + 7u * config.depths);
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

}  // namespace
}  // namespace snnsim
