// The input files of layer graphs, end to end: images, HDF5 datasets, event recordings and
// sequences through read_samples, the encoders and a graph, against hand-computed values.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <fstream>

#include "encoders/sample_file.h"
#include "networks/layer_graph_file.h"
#include "networks/network_file.h"
#include "networks/npy.h"
#include "test_support.h"

namespace snnsim {
namespace {

class GraphInputs : public testing::TemporaryFolderTest {
 protected:
  /// A weightless model: `nodes` after an input of `shape` with `encoder` (JSON fragments).
  LayerGraphSpec model(const std::string& input, const std::string& nodes, std::size_t t) {
    std::ofstream(path("model.json"))
        << R"({"format": "snnsim-network", "version": 1, "kind": "layer_graph", "timesteps": )" << t
        << R"(, "input": )" << input << R"(, "nodes": )" << nodes << "}";
    return load_layer_graph_file(path("model.json"));
  }
  /// The graph's output over all timesteps for the samples of `file`.
  std::vector<float> run(const LayerGraphSpec& spec, const std::string& file) {
    const LayerGraph& graph = *spec.graph;
    const SampleFile samples =
        read_samples(file, graph.input_shape(), graph.timesteps(), spec.encoder);
    const Value x = encode_input(spec.encoder, graph.input_shape(), samples.values, samples.count,
                                 0, graph.timesteps());
    return graph.run(x, false).output.densified();
  }
};

TEST_F(GraphInputs, ImagesAreScaledToOneAndThresholded) {
  std::ofstream(path("x.pgm")) << "P2\n# a comment\n2 2\n255\n0 127 128 255\n";
  const LayerGraphSpec spec =
      model(R"({"shape": [1, 2, 2]})", R"([{"name": "sn", "op": "threshold"}])", 1);
  // round(clamp(x, 0, 1)): 127/255 < 0.5 <= 128/255.
  EXPECT_EQ(run(spec, path("x.pgm").string()), (std::vector<float>{0, 0, 1, 1}));
}

TEST_F(GraphInputs, HdfDatasetsHoldSamplesLikeNpyArrays) {
  const hid_t file = H5Fcreate(path("x.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[2] = {2, 3};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t data =
      H5Dcreate2(file, "inputs", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const float values[6] = {0.2f, 0.6f, 1.7f, 3.0f, 0.0f, 0.5f};
  H5Dwrite(data, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose(data);
  H5Sclose(space);
  H5Fclose(file);
  const LayerGraphSpec spec =
      model(R"({"shape": [3]})", R"([{"name": "sn", "op": "multilevel", "levels": 2}])", 1);
  // Two samples; round half to even: 0.5 -> 0, 1.7 -> 2, 3.0 clamps to 2.
  EXPECT_EQ(run(spec, path("x.h5").string() + ":inputs"), (std::vector<float>{0, 1, 2, 2, 0, 0}));
  EXPECT_THROW(run(spec, path("x.h5").string() + ":missing"), std::runtime_error);
}

TEST_F(GraphInputs, EventRecordingsBecomeOneFramePerTimestep) {
  // Events (x, y, t, p) on a 2x2 sensor, split by time into 2 frames of [2, 2, 2].
  write_npy(path("events.npy"), {4, 4},
            std::vector<float>{0, 0, 0.0f, 1, 1, 0, 1.0f, 0, 1, 1, 3.0f, 1, 1, 1, 4.0f, 1});
  const LayerGraphSpec spec = model(R"({"shape": [2, 2, 2], "encoder": "event_frames"})",
                                    R"([{"name": "flat", "op": "flatten"}])", 2);
  // Window [0, 2): (0,0) ON and (1,0) OFF; [2, 4]: (1,1) ON twice.
  EXPECT_EQ(run(spec, path("events.npy").string()),
            (std::vector<float>{0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));
}

TEST_F(GraphInputs, SequencesAreDeltaCodedIntoSignedSpikes) {
  // One sample, T = 4, two features: a rising and a falling ramp.
  write_npy(path("seq.npy"), {4, 2}, std::vector<float>{0, 1, 0.5f, 0.5f, 1.0f, 0, 1.0f, 0});
  const LayerGraphSpec spec = model(R"({"shape": [2], "encoder": "delta", "threshold": 0.5})",
                                    R"([{"name": "flat", "op": "flatten"}])", 4);
  // Spikes of amplitude 0.5: +1 / -1 at steps 1 and 2, none at 0 and 3.
  EXPECT_EQ(run(spec, path("seq.npy").string()),
            (std::vector<float>{0, 0, 0.5f, -0.5f, 0.5f, -0.5f, 0, 0}));
}

TEST_F(GraphInputs, AModelWithWeightsNeedsAWeightsFile) {
  try {
    model(R"({"shape": [3]})",
          R"([{"name": "fc", "op": "linear", "in_features": 3, "out_features": 2}])", 1);
    FAIL();
  } catch (const NetworkFileError& error) {
    EXPECT_NE(std::string(error.what()).find("missing required key 'weights': node fc (linear)"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace snnsim
