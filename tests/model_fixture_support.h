#pragma once
// Golden fixtures of the model families' PyTorch references (tools/reference/make_*_fixtures.py):
// NAME.json (the network file), NAME-input.npy (images), NAME-expected.safetensors (the logits and
// the reference's recorded tensors under snnsim's node names).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "networks/layer_graph_file.h"
#include "networks/npy.h"
#include "networks/safetensors.h"

namespace snnsim::testing {

/// The image of `images` at each of `steps` timesteps (direct encoding).
inline Value repeated(const NpyArray& images, std::size_t steps) {
  Value x =
      Value::analog({images.shape[1], images.shape[2], images.shape[3]}, steps, images.shape[0]);
  for (std::size_t t = 0; t < steps; ++t)
    std::copy(images.values.begin(), images.values.end(),
              x.dense.begin() + t * images.values.size());
  return x;
}

/// The mean over timesteps of a run's output [T][B][classes], as snnsim infer reports it: the
/// reference's head(mean over T) (the head is linear).
inline std::vector<double> mean_over_steps(const Value& output) {
  const std::vector<float> out = output.densified();
  const std::size_t per_step = output.batch * output.features();
  std::vector<double> mean(per_step, 0.0);
  for (std::size_t i = 0; i < out.size(); ++i)
    mean[i % per_step] += out[i] / static_cast<double>(output.steps);
  return mean;
}

/// Runs the fixture `name` of `directory` (a path ending in /) from its network file and compares
/// with the reference's expected tensors: logits within 1e-4 of the largest, every spike of every
/// LIF layer identical, and for token pruning the anchor scores and the kept tokens of every block
/// identical. Returns the number of tensors compared.
inline std::size_t expect_fixture_matches(const std::string& directory, const std::string& name) {
  const LayerGraphSpec spec = load_layer_graph_file(directory + name + ".json");
  const LayerGraph& graph = *spec.graph;
  const SafetensorsFile expected(directory + name + "-expected.safetensors");
  // The analog values the reference records: anchor scores and kept tokens.
  const auto analog = [&graph](int node) {
    const std::string_view kind = graph.nodes()[static_cast<std::size_t>(node)].op->kind();
    return kind == "anchor_scores" || kind == "top_tokens";
  };
  std::vector<std::size_t> kept;
  for (const std::string& tensor : expected.names()) {
    const int node = graph.find(tensor);
    if (node > 0 && analog(node)) kept.push_back(static_cast<std::size_t>(node));
  }
  const GraphRun run = graph.run(
      repeated(read_npy(directory + name + "-input.npy"), graph.timesteps()), true, false, kept);

  const std::vector<float> logits = expected.read_float("logits");
  const std::vector<double> ours = mean_over_steps(run.output);
  float largest = 0.0f;
  for (float v : logits)
    largest = std::max(largest, std::abs(v));
  EXPECT_EQ(ours.size(), logits.size()) << name;
  for (std::size_t i = 0; i < std::min(ours.size(), logits.size()); ++i)
    EXPECT_NEAR(ours[i], logits[i], 1e-4 * largest) << name << " logit " << i;
  std::size_t compared = 0;
  for (const std::string& tensor : expected.names()) {
    if (tensor == "logits") continue;
    const int node = graph.find(tensor);
    EXPECT_GT(node, 0) << name << ": no node " << tensor;
    if (node <= 0) continue;
    const bool spiking = !analog(node);
    const Value& value = spiking ? run.spike_values[static_cast<std::size_t>(node) - 1]
                                 : run.kept_values[static_cast<std::size_t>(node) - 1];
    EXPECT_EQ(value.is_spikes(), spiking) << name << " " << tensor;
    const std::vector<float> values = value.densified(), reference = expected.read_float(tensor);
    EXPECT_EQ(values.size(), reference.size()) << name << " " << tensor;
    if (values.size() != reference.size()) continue;
    std::size_t differ = 0;
    for (std::size_t i = 0; i < values.size(); ++i)
      differ += values[i] != reference[i];
    EXPECT_EQ(differ, 0u) << name << " " << tensor << ": " << differ << " of " << values.size()
                          << " values differ";
    ++compared;
  }
  return compared;
}

}  // namespace snnsim::testing
