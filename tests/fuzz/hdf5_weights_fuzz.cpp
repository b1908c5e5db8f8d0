// HDF5 weights and tensors (networks/hdf5_dataset.h, networks/graph_weights.h): every dataset
// read as an n-D array and as a 1-D vector (population networks' connectivity and parameter
// files), then the file loaded as the weights of a small layer graph (conv, BatchNorm, LIF,
// linear) whose tensors the seeds hold.
#include <fstream>

#include "networks/hdf5_dataset.h"
#include "networks/layer_graph_file.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr const char* kNetwork = R"({
  "format": "snnsim-network", "version": 1, "kind": "layer_graph", "timesteps": 2,
  "input": {"shape": [2, 5, 5], "encoder": "direct"},
  "weights": "weights.h5",
  "nodes": [
    {"name": "conv", "op": "conv2d", "in_channels": 2, "out_channels": 3, "kernel": 3},
    {"name": "bn", "op": "batchnorm"},
    {"name": "lif", "op": "lif", "tau": 2.0, "v_threshold": 1.0, "v_reset": 0.0},
    {"name": "flat", "op": "flatten"},
    {"name": "fc", "op": "linear", "in_features": 27, "out_features": 4}
  ],
  "output": "fc"
})";

const std::filesystem::path& network_path() {
  static const std::filesystem::path path = snnsim::fuzz::scratch_folder() / "network.json";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snnsim::fuzz::silence_hdf5();
  std::ofstream(network_path()) << kNetwork;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = snnsim::fuzz::write_input(data, size, "weights.h5");
  snnsim::fuzz::expect_clean_refusal([&] {
    for (const std::string& dataset : snnsim::list_hdf5_datasets(path)) {
      snnsim::fuzz::expect_clean_refusal([&] { snnsim::read_hdf5_array(path, dataset); });
      snnsim::fuzz::expect_clean_refusal([&] { snnsim::read_hdf5_vector(path, dataset); });
    }
  });
  snnsim::fuzz::expect_clean_refusal([&] { snnsim::load_layer_graph_file(network_path()); });
  return 0;
}
