// Layer-graph files end to end: the examples against the golden outputs of an independent NumPy
// implementation (tools/reference/train_digit_examples.py), weights errors, file errors, encoders,
// and `snnsim infer` with its trace.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "encoders/input_encoder.h"
#include "networks/hdf5_dataset.h"
#include "networks/layer_graph_file.h"
#include "networks/network_file.h"
#include "networks/npy.h"
#include "networks/safetensors.h"
#include "test_support.h"

namespace snnsim {
namespace {

const std::string kExamples = SNNSIM_SOURCE_DIR "/examples/";

/// The mean output over timesteps of `model` on its example input, [samples][classes].
std::vector<float> mean_outputs(const std::string& model, const std::string& input_file) {
  const LayerGraphSpec spec = load_layer_graph_file(kExamples + model);
  const NpyArray input = read_npy(kExamples + "data/" + input_file);
  const std::size_t samples = input.shape[0];
  const std::size_t t = spec.graph->timesteps();
  const Value x =
      encode_input(spec.encoder, spec.graph->input_shape(), input.values, samples, 0, t);
  const GraphRun run = spec.graph->run(x, false);
  const std::vector<float> out = run.output.densified();
  const std::size_t classes = out.size() / (t * samples);
  std::vector<float> mean(samples * classes, 0.0f);
  for (std::size_t f = 0; f < t * samples; ++f) {
    for (std::size_t k = 0; k < classes; ++k)
      mean[(f % samples) * classes + k] += out[f * classes + k] / static_cast<float>(t);
  }
  return mean;
}

TEST(GraphExamples, MatchTheIndependentNumpyReference) {
  for (const auto& [model, input, expected] :
       {std::tuple{"linear-snn.json", "linear-snn-input.npy", "linear-snn-expected.npy"},
        std::tuple{"conv-snn.json", "conv-snn-input.npy", "conv-snn-expected.npy"}}) {
    const std::vector<float> actual = mean_outputs(model, input);
    const NpyArray reference = read_npy(kExamples + "data/" + expected);
    ASSERT_EQ(actual.size(), reference.values.size()) << model;
    for (std::size_t k = 0; k < actual.size(); ++k) {
      // Sums differ from NumPy's only in rounding; 1e-4 absolute on outputs of magnitude ~10.
      ASSERT_NEAR(actual[k], reference.values[k], 1e-4f) << model << " output " << k;
    }
  }
}

class GraphFile : public testing::TemporaryFolderTest {
 protected:
  /// Writes a copy of the linear example with `edit` applied to its text, next to a copy of
  /// its weights, and returns the path.
  std::string write_model(const std::string& from, const std::string& to) {
    std::ifstream in(kExamples + "linear-snn.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (!from.empty()) {
      const auto at = text.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      text.replace(at, from.size(), to);
    }
    std::filesystem::create_directories(path("data"));
    std::filesystem::copy_file(kExamples + "data/linear-snn.safetensors",
                               path("data/linear-snn.safetensors"),
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(path("model.json")) << text;
    return path("model.json").string();
  }

  /// The one-line error loading the edited model gives.
  std::string error_of(const std::string& from, const std::string& to) {
    const std::string model = write_model(from, to);
    try {
      load_layer_graph_file(model);
    } catch (const std::exception& error) {
      const std::string message = error.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      return message;
    }
    ADD_FAILURE() << "no error for " << to;
    return {};
  }
};

TEST_F(GraphFile, ErrorsNameTheFileThePlaceAndWhatWasExpected) {
  EXPECT_NE(error_of(R"("in_features": 128)", R"("in_features": 100)")
                .find("model.json: /nodes: node fc2 (linear): expected an input whose last "
                      "dimension is in_features = 100; found [128]"),
            std::string::npos);
  EXPECT_NE(error_of(R"("op": "if")", R"("op": "iff")").find("/nodes/1/op: unknown op \"iff\""),
            std::string::npos);
  EXPECT_NE(error_of(R"("v_threshold": 1.0)", R"("v_threshld": 1.0)")
                .find("/nodes/1/v_threshld: unknown key 'v_threshld' for this op"),
            std::string::npos);
  EXPECT_NE(error_of(R"("timesteps": 4)", R"("timesteps": 0)").find("/timesteps: expected"),
            std::string::npos);
  EXPECT_NE(error_of(R"("kind": "layer_graph")", R"("kind": "population")")
                .find("a population network: run it with snnsim run"),
            std::string::npos);
  EXPECT_NE(error_of(R"("output": "fc2")", R"("output": "fc3")").find("/output: no node called"),
            std::string::npos);
}

TEST_F(GraphFile, WeightErrorsNameTheTensorAndBothShapes) {
  // A node renamed: its tensors are missing and the file's are unused.
  const std::string missing = error_of(R"("name": "fc1")", R"("name": "first")");
  EXPECT_NE(missing.find("linear-snn.safetensors: missing tensor 'first.weight' [128, 64] for "
                         "node first"),
            std::string::npos)
      << missing;
  EXPECT_NE(missing.find("more"), std::string::npos) << missing;
  // Mapping the node back to the file's names with "weights" fixes it.
  EXPECT_NO_THROW(load_layer_graph_file(
      write_model(R"("name": "fc1", )", R"("name": "first", "weights": "fc1", )")));
  const std::string shape = error_of(R"("out_features": 10)", R"("out_features": 12)");
  EXPECT_NE(shape.find("tensor 'fc2.weight' has shape [10, 128]; node fc2 expects [12, 128]"),
            std::string::npos)
      << shape;
  const std::string absent =
      error_of(R"("data/linear-snn.safetensors")", R"("data/missing.safetensors")");
  EXPECT_NE(absent.find("missing.safetensors"), std::string::npos) << absent;
}

TEST_F(GraphFile, MutatedFilesFailWithOneLineErrorsAndNeverCrash) {
  // Random byte edits of the conv example (fixed seed): every outcome is a graph that loads and
  // runs, or an error of one line naming the model or its weights file.
  std::ifstream in(kExamples + "conv-snn.json");
  const std::string original((std::istreambuf_iterator<char>(in)), {});
  std::mt19937 random(11);
  const std::string alphabet = "{}[]\",:0123456789-. abnlx";
  int rejected = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const std::string text = testing::mutated(original, 1 + trial % 3, alphabet, random);
    const std::string model = write_model("", "");
    std::filesystem::copy_file(kExamples + "data/conv-snn.safetensors",
                               path("data/conv-snn.safetensors"),
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(model) << text;
    try {
      const LayerGraphSpec spec = load_layer_graph_file(model);
      const std::size_t t = spec.graph->timesteps();
      if (element_count(spec.graph->input_shape()) * t < 100000) {
        const std::vector<float> zeros(element_count(spec.graph->input_shape()) *
                                           (encodes_sequences(spec.encoder.kind) ? t : 1),
                                       0.5f);
        spec.graph->run(encode_input(spec.encoder, spec.graph->input_shape(), zeros, 1, 0, t),
                        false);
      }
    } catch (const std::exception& error) {
      ++rejected;
      const std::string message = error.what();
      ASSERT_EQ(message.find('\n'), std::string::npos) << message;
      ASSERT_TRUE(message.find("model.json") != std::string::npos ||
                  message.find(".safetensors") != std::string::npos)
          << message << " for:\n"
          << text;
    }
  }
  EXPECT_GT(rejected, 150);
  EXPECT_LT(rejected, 300) << "some edits (whitespace, descriptions) leave a valid model";
}

// Sizes are checked against sim/limits.h before anything is allocated or looped over: an input
// of [1, 100000, 100000] took 12 s and a gigabyte to be refused, out_channels 1e9 ended in
// std::bad_alloc.
TEST_F(GraphFile, SizesBeyondTheLimitsAreRefusedBeforeAnythingIsBuilt) {
  const auto error_for = [&](const std::string& input_shape, const std::string& conv) {
    std::ofstream(path("big.json"))
        << R"({"format": "snnsim-network", "version": 1, "kind": "layer_graph", "timesteps": 2,
              "input": {"shape": )"
        << input_shape << R"(}, "nodes": [{"name": "conv", "op": "conv2d", )" << conv
        << R"(, "bias": false}]})";
    try {
      load_layer_graph_file(path("big.json"));
    } catch (const std::exception& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  const std::string file = path("big.json").string();
  EXPECT_EQ(error_for("[1, 100000, 100000]", R"("in_channels": 1, "out_channels": 1)"),
            file +
                ": /nodes: input: the input [1, 100000, 100000] has more than 2^28 "
                "(268435456) elements, the limit of one tensor");
  EXPECT_EQ(error_for("[1, 8, 8]", R"("in_channels": 1, "out_channels": 1e9)"),
            file +
                ": /nodes/0/out_channels: expected out_channels, a whole number from 1 to "
                "268435456; found 1e+09");
  // Within the limit per dimension and for the input, too large for the output.
  EXPECT_EQ(error_for("[1, 16384, 16384]", R"("in_channels": 1, "out_channels": 2)"),
            file +
                ": /nodes: node conv (conv2d): the output [2, 16384, 16384] has more than "
                "2^28 (268435456) elements, the limit of one tensor");
  EXPECT_EQ(error_for("[1, 1, 268435456]",
                      R"("in_channels": 1, "out_channels": 1, "kernel": [1, 65536])"),
            file +
                ": /nodes: node conv (conv2d): the taps along the width (output width x "
                "kernel width) [268369921, 65536] has more than 2^28 (268435456) elements, "
                "the limit of one tensor");
}

TEST_F(GraphFile, NonFiniteWeightsAreRefusedNamingTheTensorAndElement) {
  const std::string model = write_model("", "");
  const std::filesystem::path weights = path("data/linear-snn.safetensors");
  // fc2.bias, element 5, set to NaN in place: 8 bytes of header length, the header, the data.
  std::fstream file(weights, std::ios::in | std::ios::out | std::ios::binary);
  std::uint64_t header_length = 0;
  file.read(reinterpret_cast<char*>(&header_length), 8);
  std::string header(header_length, '\0');
  file.read(header.data(), static_cast<std::streamsize>(header_length));
  const nlohmann::json entry = nlohmann::json::parse(header).at("fc2.bias");
  ASSERT_EQ(entry.at("dtype"), "F32");
  const float nan = std::nanf("");
  file.seekp(static_cast<std::streamoff>(8 + header_length +
                                         entry.at("data_offsets")[0].get<std::uint64_t>() + 5 * 4));
  file.write(reinterpret_cast<const char*>(&nan), 4);
  file.close();
  try {
    load_layer_graph_file(model);
    FAIL() << "expected an error";
  } catch (const std::exception& error) {
    EXPECT_EQ(std::string(error.what()),
              weights.string() + ": tensor 'fc2.bias': expected finite values; element 5 is nan");
  }
  // The same for an HDF5 weights file.
  const SafetensorsFile tensors(kExamples + "data/linear-snn.safetensors");
  std::vector<std::pair<std::string, Hdf5Array>> arrays;
  for (const std::string& name : tensors.names()) {
    const std::vector<float> values = tensors.read_float(name);
    arrays.push_back({name, {tensors.shape(name), {values.begin(), values.end()}, false}});
    if (name == "fc1.weight") arrays.back().second.values[70] = -INFINITY;
  }
  write_hdf5_arrays(path("weights.h5"), arrays);
  try {
    load_layer_graph_file(write_model(R"("data/linear-snn.safetensors")", R"("weights.h5")"));
    FAIL() << "expected an error";
  } catch (const std::exception& error) {
    EXPECT_EQ(std::string(error.what()), path("weights.h5").string() +
                                             ": tensor 'fc1.weight': expected finite values; "
                                             "element 70 is -inf");
  }
}

TEST_F(GraphFile, HdfWeightsGiveTheSafetensorsOutputs) {
  // The linear example's tensors copied into an HDF5 file, one dataset per tensor.
  const SafetensorsFile tensors(kExamples + "data/linear-snn.safetensors");
  const std::string model = write_model(R"("data/linear-snn.safetensors")", R"("weights.H5")");
  const hid_t file = H5Fcreate(path("weights.H5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  for (const std::string& name : tensors.names()) {
    const std::vector<std::size_t> shape = tensors.shape(name);
    const std::vector<hsize_t> dims(shape.begin(), shape.end());
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t data = H5Dcreate2(file, name.c_str(), H5T_NATIVE_FLOAT, space, H5P_DEFAULT,
                                  H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(data, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
             tensors.read_float(name).data());
    H5Dclose(data);
    H5Sclose(space);
  }
  H5Fclose(file);
  const LayerGraphSpec from_hdf5 = load_layer_graph_file(model);
  const LayerGraphSpec from_safetensors = load_layer_graph_file(kExamples + "linear-snn.json");
  const NpyArray input = read_npy(kExamples + "data/linear-snn-input.npy");
  const auto run = [&](const LayerGraphSpec& spec) {
    const Value x = encode_input(spec.encoder, {64}, input.values, 32, 0, 4);
    return spec.graph->run(x, false).output.densified();
  };
  EXPECT_EQ(run(from_hdf5), run(from_safetensors));
}

TEST_F(GraphFile, InferWritesATraceWithPerLayerSpikesAndRejectsBadInput) {
  const std::string binary = SNNSIM_BINARY;
  const std::string trace = path("t.h5").string();
  const std::string command = binary + " infer " + kExamples + "conv-snn.json --input " +
                              kExamples + "data/conv-snn-input.npy -q -o " + trace +
                              " --summary-json " + path("summary.json").string();
  ASSERT_EQ(std::system(command.c_str()), 0);
  // The summary times every layer; the layers' times add up to at most the run's.
  const nlohmann::json summary = nlohmann::json::parse(std::ifstream(path("summary.json")));
  double layer_seconds = 0.0;
  for (const auto& layer : summary["layers"]) {
    EXPECT_GE(layer["seconds"].get<double>(), 0.0) << layer["name"];
    layer_seconds += layer["seconds"].get<double>();
  }
  EXPECT_GT(layer_seconds, 0.0);
  EXPECT_LE(layer_seconds, summary["wall_s"].get<double>());
  const std::string validate =
      binary + " validate " + kExamples + "conv-snn.json > " + path("validate.txt").string();
  EXPECT_EQ(std::system(validate.c_str()), 0);
  // Every spike of if1 is in the trace, with its timestep, sample and index.
  const LayerGraphSpec spec = load_layer_graph_file(kExamples + "conv-snn.json");
  const NpyArray input = read_npy(kExamples + "data/conv-snn-input.npy");
  const Value x = encode_input(spec.encoder, {1, 8, 8}, input.values, 32, 0, 16);
  const GraphRun run = spec.graph->run(x, true);
  const SpikeTrain& if1 = *run.spike_values[1].spikes;
  const Hdf5Array steps = read_hdf5_array(trace, "populations/if1/spikes/step");
  const Hdf5Array samples = read_hdf5_array(trace, "populations/if1/spikes/sample");
  const Hdf5Array indices = read_hdf5_array(trace, "populations/if1/spikes/index");
  ASSERT_EQ(indices.values.size(), if1.events());
  ASSERT_GT(if1.events(), 0u);
  std::size_t k = 0;
  for (std::size_t f = 0; f < if1.frames(); ++f) {
    for (const std::uint32_t index : if1.frame_indices(f)) {
      ASSERT_EQ(steps.values[k], f / 32);
      ASSERT_EQ(samples.values[k], f % 32);
      ASSERT_EQ(indices.values[k], index);
      ++k;
    }
  }
  // An input of the wrong shape: one line, non-zero, no trace.
  write_npy(path("bad.npy"), {3, 9}, std::vector<float>(27, 0.0f));
  const std::string bad = binary + " infer " + kExamples + "conv-snn.json --input " +
                          path("bad.npy").string() + " -q -o " + path("u.h5").string() + " 2> " +
                          path("err.txt").string();
  EXPECT_NE(std::system(bad.c_str()), 0);
  std::ifstream err(path("err.txt"));
  const std::string message((std::istreambuf_iterator<char>(err)), {});
  EXPECT_NE(message.find("bad.npy: expected an array of shape [1, 8, 8] or [N, 1, 8, 8]; found "
                         "[3, 9]"),
            std::string::npos)
      << message;
  EXPECT_FALSE(std::filesystem::exists(path("u.h5")));
  EXPECT_FALSE(std::filesystem::exists(path("u.h5.partial")));
}

// Bad inputs, labels and sizes of `snnsim infer`: one line, non-zero, nothing written.
TEST_F(GraphFile, InferRefusesSuspectInputsBeforeWritingAnything) {
  const std::string model = kExamples + "linear-snn.json";
  const std::string input = kExamples + "data/linear-snn-input.npy";
  const std::string trace = path("t.h5").string();
  const auto refusal = [&](const std::string& arguments) {
    const testing::CommandResult r = testing::run_snnsim("infer " + arguments + " -q -o " + trace);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(trace));
    return r.output;
  };
  write_npy(path("none.npy"), {0, 64}, {});
  EXPECT_THAT(refusal(model + " --input " + path("none.npy").string()),
              ::testing::HasSubstr("none.npy: holds no samples (shape [0, 64]); expected at "
                                   "least one"));
  std::vector<float> samples(2 * 64, 0.5f);
  samples[64 + 3] = std::nanf("");
  write_npy(path("nan.npy"), {2, 64}, samples);
  EXPECT_THAT(refusal(model + " --input " + path("nan.npy").string()),
              ::testing::HasSubstr("nan.npy: expected finite values; element 67 is nan"));
  for (const float label : {2.5f, -2.0f, 10.0f}) {
    std::vector<float> labels(32, 1.0f);
    labels[7] = label;
    write_npy(path("labels.npy"), {32}, labels);
    std::ostringstream expected;
    expected << "labels.npy: label 7 is " << label
             << "; expected a class, a whole number from 0 to 9 (the output has 10 values)";
    EXPECT_THAT(refusal(model + " --input " + input + " --labels " + path("labels.npy").string()),
                ::testing::HasSubstr(expected.str()));
  }
  EXPECT_THAT(refusal(model + " --input " + input + " -T 1000000000"),
              ::testing::HasSubstr("-T 1000000000: expected at most 2^16 (65536) timesteps"));
  // 129 samples at T = 65536 in batches of 256: conv2's [16, 8, 8] values for the batch exceed
  // 2^33.
  write_npy(path("many.npy"), {129, 1, 8, 8}, std::vector<float>(129 * 64, 0.5f));
  EXPECT_THAT(
      refusal(kExamples + "conv-snn.json --input " + path("many.npy").string() +
              " -T 65536 --batch 256"),
      ::testing::HasSubstr("--batch 256: node conv2 would hold 65536 timestep(s) x 129 samples x "
                           "1024 values, more than the limit of 2^33 (8589934592); use a "
                           "smaller --batch"));
}

TEST_F(GraphFile, SavedOutputsAreTheIndependentReferencesMeansAndTimesteps) {
  // Batches of 3 do not divide the samples: the last batch is partial.
  const std::string arguments = "infer " + kExamples + "conv-snn.json --input " + kExamples +
                                "data/conv-snn-input.npy -q --batch 3 --save-outputs ";
  ASSERT_EQ(testing::run_snnsim(arguments + path("mean.npy").string()).status, 0);
  ASSERT_EQ(testing::run_snnsim(arguments + path("steps.npy").string() + " --outputs-per-timestep")
                .status,
            0);
  const NpyArray reference = read_npy(kExamples + "data/conv-snn-expected.npy");
  const NpyArray mean = read_npy(path("mean.npy"));
  const NpyArray steps = read_npy(path("steps.npy"));
  ASSERT_EQ(mean.shape, reference.shape);
  const std::size_t samples = reference.shape[0], classes = reference.values.size() / samples;
  const LayerGraphSpec spec = load_layer_graph_file(kExamples + "conv-snn.json");
  const std::size_t t = spec.graph->timesteps();
  ASSERT_EQ(steps.shape, (std::vector<std::size_t>{samples, t, classes}));
  for (std::size_t s = 0; s < samples; ++s) {
    for (std::size_t k = 0; k < classes; ++k) {
      float sum = 0.0f;
      for (std::size_t step = 0; step < t; ++step)
        sum += steps.values[(s * t + step) * classes + k];
      // As in MatchTheIndependentNumpyReference: rounding only, outputs of magnitude ~10.
      EXPECT_NEAR(mean.values[s * classes + k], reference.values[s * classes + k], 1e-4f);
      EXPECT_NEAR(sum / static_cast<float>(t), reference.values[s * classes + k], 1e-4f);
    }
  }
  const testing::CommandResult alone =
      testing::run_snnsim("infer " + kExamples + "conv-snn.json --input " + kExamples +
                          "data/conv-snn-input.npy --outputs-per-timestep");
  EXPECT_EQ(alone.status, 2);
  EXPECT_THAT(alone.output, ::testing::HasSubstr("needs --save-outputs"));
}

TEST_F(GraphFile, InferTraceRecordsTheTokensAGatherKeeps) {
  std::ofstream(path("gather.json")) << R"({"format": "snnsim-network", "version": 1,
    "kind": "layer_graph", "timesteps": 2, "input": {"shape": [5, 3]},
    "nodes": [{"name": "keep", "op": "token_gather", "indices": [4, 0, 2]}], "output": "keep"})";
  write_npy(path("x.npy"), {1, 5, 3}, std::vector<float>(15, 0.5f));
  const std::string command = std::string(SNNSIM_BINARY) + " infer " +
                              path("gather.json").string() + " --input " + path("x.npy").string() +
                              " -q -o " + path("t.h5").string();
  ASSERT_EQ(std::system(command.c_str()), 0);
  const hid_t file = H5Fopen(path("t.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t attribute =
      H5Aopen_by_name(file, "populations/keep", "token_indices", H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(attribute, 0);
  std::vector<std::uint32_t> kept(3);
  EXPECT_GE(H5Aread(attribute, H5T_NATIVE_UINT32, kept.data()), 0);
  H5Aclose(attribute);
  H5Fclose(file);
  EXPECT_EQ(kept, (std::vector<std::uint32_t>{4, 0, 2}));
}

TEST(InputEncoders, RateAndLatencyFollowTheirDefinitions) {
  const Shape shape{1000};
  std::vector<float> x(2000);
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(i % 1000) / 999.0f;  // 0 .. 1 for two samples
  const Value rate = encode_input({EncoderKind::rate, 7}, shape, x, 2, 0, 50);
  // Each input fires with probability x per step: 1000 features x 2 samples x 50 steps, mean
  // x = 0.5, so 50,000 expected spikes; the standard deviation is about 160.
  EXPECT_NEAR(static_cast<double>(rate.spikes->events()), 50000.0, 800.0);
  // The same sample draws the same spikes in another batch position.
  const Value alone =
      encode_input({EncoderKind::rate, 7}, shape, std::span(x).subspan(1000), 1, 1, 50);
  EXPECT_EQ(alone.spikes->frame_indices(0).size(), rate.spikes->frame_indices(1).size());
  const Value latency = encode_input({EncoderKind::latency, 1}, shape, x, 1, 0, 11);
  // One spike per positive input, at round((1 - x) * 10): x = 1 at step 0, x near 0 at step 10.
  EXPECT_EQ(latency.spikes->events(), 999u);
  EXPECT_EQ(latency.spikes->frame_indices(0).back(), 999u);
  EXPECT_EQ(latency.spikes->frame_indices(10).front(), 1u);
}

}  // namespace
}  // namespace snnsim
