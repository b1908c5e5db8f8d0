// The traces of `snnsim infer -o` file every node's spikes and counts under that node's own name,
// whatever order the graph runs its nodes in: a recurrent graph (which runs step by step, its
// delay first) against snnTorch's spikes and against counts worked out here from the shapes, and
// `--dense` runs, which record the spikes of the event-driven run.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "networks/npy.h"
#include "sim/trace_reader.h"
#include "test_support.h"

namespace snnsim {
namespace {

using testing::CommandResult;
using testing::run_snnsim;

/// (timestep, sample, element) of every spike of a layer.
using LayerSpikes = std::vector<std::tuple<Step, std::uint32_t, NeuronIndex>>;

LayerSpikes layer_spikes(const TraceReader& trace, const std::string& layer) {
  LayerSpikes spikes;
  trace.for_each_spike_block(layer, [&](const SpikeBlock& block) {
    for (std::size_t k = 0; k < block.steps.size(); ++k)
      spikes.emplace_back(block.steps[k], block.samples[k], block.indices[k]);
  });
  std::sort(spikes.begin(), spikes.end());
  return spikes;
}

class GraphTrace : public testing::TemporaryFolderTest {
 protected:
  std::string file(const std::string& name) const { return path(name).string(); }
};

// snnTorch's RLeaky between two linears (tools/reference/make_snntorch_fixtures.py), imported as
// 0 (linear 6 -> 10), 1.lif.sum1 (add), 1.lif (lif), 1.w_rec (linear 10 -> 10, reading the
// delay), 1.lif.previous (delay), 2 (linear 10 -> 4), 3 (lif, the output).
TEST_F(GraphTrace, RecurrentGraphFilesSpikesAndCountsUnderTheirOwnNodes) {
  const std::string fixture = SNNSIM_SOURCE_DIR "/tests/fixtures/nir/snntorch_rleaky";
  // The fixture's input is [T, B, 6]; the sequence encoder reads [B, T, 6].
  const NpyArray input = read_npy(fixture + ".input.npy");
  const std::size_t steps = input.shape[0], batch = input.shape[1], features = input.shape[2];
  std::vector<float> samples(input.values.size());
  for (std::size_t t = 0; t < steps; ++t) {
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t i = 0; i < features; ++i)
        samples[(b * steps + t) * features + i] = input.values[(t * batch + b) * features + i];
    }
  }
  write_npy(path("input.npy"), {batch, steps, features}, samples);
  const CommandResult infer = run_snnsim(
      "infer " + fixture + ".nir --dt 0.1ms -T " + std::to_string(steps) + " --input " +
      file("input.npy") + " -o " + file("t.h5") + " --summary-json " + file("s.json") + " -t 1 -q");
  ASSERT_EQ(infer.status, 0) << infer.output;
  const TraceReader trace(path("t.h5"));

  // The output LIF's spikes are snnTorch's ([T, B, 4], exact: NirImport's test), under its name.
  const std::string output = "3", hidden = "1.lif";
  EXPECT_EQ(trace.population_attribute_string(output, "op"), "lif");
  EXPECT_EQ(trace.population_attribute_uints(output, "shape"), std::vector<std::uint32_t>{4});
  const NpyArray expected = read_npy(fixture + ".expected.npy");
  ASSERT_EQ(expected.shape, (std::vector<std::size_t>{steps, batch, 4}));
  LayerSpikes reference;
  for (std::size_t k = 0; k < expected.values.size(); ++k) {
    if (expected.values[k] != 0.0f) {
      reference.emplace_back(k / (batch * 4), static_cast<std::uint32_t>(k / 4 % batch),
                             static_cast<NeuronIndex>(k % 4));
    }
  }
  std::sort(reference.begin(), reference.end());
  ASSERT_GT(reference.size(), 0u);
  EXPECT_EQ(layer_spikes(trace, output), reference);

  // The recurrent LIF layer.
  EXPECT_EQ(trace.population_attribute_string(hidden, "op"), "lif");
  const LayerSpikes hidden_spikes = layer_spikes(trace, hidden);
  ASSERT_GT(hidden_spikes.size(), 0u);
  // The delay gives them one step later, up to the last step.
  LayerSpikes delayed;
  for (const auto& [step, sample, element] : hidden_spikes) {
    if (step + 1 < steps) delayed.emplace_back(step + 1, sample, element);
  }
  EXPECT_EQ(trace.population_attribute_string("1.lif.previous", "op"), "delay");
  EXPECT_EQ(layer_spikes(trace, "1.lif.previous"), delayed);
  const std::uint64_t before_last_step = delayed.size();  // what the recurrent linear reads

  // Counts from the shapes: 0 is fed analog values (MACs = frames x 6 x 10); 1.w_rec reads the
  // delay, a zero analog value at step 0 (B x 10 x 10 MACs), then the hidden spikes of the step
  // before (10 ACs each); 2 reads every hidden spike (4 ACs each); the others count nothing.
  const double frames = static_cast<double>(steps * batch);
  const std::map<std::string, std::pair<double, double>> macs_and_acs{
      {"0", {frames * 6 * 10, 0}},
      {"1.lif.sum1", {0, 0}},
      {"1.lif", {0, 0}},
      {"1.w_rec", {batch * 10.0 * 10, 10.0 * before_last_step}},
      {"1.lif.previous", {0, 0}},
      {"2", {0, 4.0 * hidden_spikes.size()}},
      {"3", {0, 0}}};
  std::vector<std::string> names = trace.population_names();
  std::sort(names.begin(), names.end());
  std::vector<std::string> expected_names;
  for (const auto& [name, counts] : macs_and_acs)
    expected_names.push_back(name);
  ASSERT_EQ(names, expected_names);
  // As the trace's attributes, `snnsim trace summary` and infer's own summary report them.
  const CommandResult summary = run_snnsim("trace summary " + file("t.h5") + " --json");
  ASSERT_EQ(summary.status, 0) << summary.output;
  const nlohmann::json layers = nlohmann::json::parse(summary.output)["layers"];
  std::ifstream infer_json(path("s.json"));
  const nlohmann::json infer_layers = nlohmann::json::parse(infer_json)["layers"];
  ASSERT_EQ(layers.size(), macs_and_acs.size());
  ASSERT_EQ(infer_layers.size(), macs_and_acs.size());
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const std::string name = layers[k]["name"];
    SCOPED_TRACE(name);
    const auto [macs, acs] = macs_and_acs.at(name);
    EXPECT_EQ(trace.population_attribute_double(name, "macs"), macs);
    EXPECT_EQ(trace.population_attribute_double(name, "acs"), acs);
    EXPECT_EQ(layers[k]["macs"].get<double>(), macs);
    EXPECT_EQ(layers[k]["acs"].get<double>(), acs);
    EXPECT_EQ(layers[k]["spikes"].get<std::uint64_t>(), trace.spike_count(name));
    EXPECT_EQ(infer_layers[k]["name"], name) << "the trace's layers in infer's order";
    EXPECT_EQ(infer_layers[k]["macs"].get<double>(), macs);
    EXPECT_EQ(infer_layers[k]["acs"].get<double>(), acs);
    EXPECT_EQ(infer_layers[k]["spikes"].get<std::uint64_t>(), trace.spike_count(name));
  }
}

// --dense takes the dense products but records every layer's spikes as the event-driven run
// does: flatten and max pooling of spikes are spikes either way.
TEST_F(GraphTrace, DenseRunsRecordTheSpikesOfTheEventDrivenRun) {
  const std::string source = SNNSIM_SOURCE_DIR;
  for (const auto& [model, input] :
       {std::pair{source + "/examples/conv-snn.json", source + "/examples/data/conv-snn-input.npy"},
        std::pair{source + "/tests/fixtures/graphs/conv_lif.json",
                  source + "/tests/fixtures/graphs/conv_lif-input.npy"}}) {
    SCOPED_TRACE(model);
    for (const char* mode : {"", " --dense"}) {
      const CommandResult run = run_snnsim("infer " + model + " --input " + input + " -t 1 -q -o " +
                                           file(mode[0] ? "dense.h5" : "events.h5") + mode);
      ASSERT_EQ(run.status, 0) << run.output;
    }
    const TraceReader events(path("events.h5")), dense(path("dense.h5"));
    ASSERT_EQ(events.population_names(), dense.population_names());
    for (const std::string& layer : events.population_names()) {
      const LayerSpikes expected = layer_spikes(events, layer);
      EXPECT_EQ(layer_spikes(dense, layer), expected) << layer;
      if (layer == "flat") {
        EXPECT_GT(expected.size(), 0u);
      }
    }
  }
}

}  // namespace
}  // namespace snnsim
