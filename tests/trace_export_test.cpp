// snnsim trace export: CSV that parses back to the trace's spikes, NIR data whose layout (types,
// shapes, padding, attributes) is NIR's NIRGraphData of EventData, and no output after a failure.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <tuple>

#include "sim/hdf5_util.h"
#include "sim/trace_reader.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using hdf5::Handle;

using testing::CommandResult;
using testing::run_snnsim;

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string field; std::getline(in, field, ',');)
    fields.push_back(field);
  return fields;
}

// --- HDF5 reading, with the C API as a foreign reader would --------------------------------------

std::string string_attribute(hid_t object, const char* name) {
  const Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid()) return "<missing>";
  const Handle type(H5Aget_type(attribute.get()), H5Tclose);
  EXPECT_EQ(H5Tget_class(type.get()), H5T_STRING);
  EXPECT_GT(H5Tis_variable_str(type.get()), 0) << name << ": h5py writes str as vlen";
  EXPECT_EQ(H5Tget_cset(type.get()), H5T_CSET_UTF8);
  char* text = nullptr;
  H5Aread(attribute.get(), type.get(), &text);
  std::string value = text != nullptr ? text : "";
  H5free_memory(text);
  return value;
}

/// A scalar attribute's value and whether its stored type is `expected`.
template <class T>
T scalar_attribute(hid_t object, const char* name, hid_t memory_type, hid_t expected) {
  const Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  EXPECT_TRUE(attribute.valid()) << name;
  const Handle type(H5Aget_type(attribute.get()), H5Tclose);
  EXPECT_GT(H5Tequal(type.get(), expected), 0) << name;
  T value{};
  H5Aread(attribute.get(), memory_type, &value);
  return value;
}

/// A 2-D dataset: its shape, stored type check and values, row-major.
template <class T>
std::vector<T> read_matrix(hid_t group, const char* name, hid_t memory_type, hid_t expected,
                           hsize_t (&dims)[2]) {
  const Handle dataset(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
  EXPECT_TRUE(dataset.valid()) << name;
  const Handle type(H5Dget_type(dataset.get()), H5Tclose);
  EXPECT_GT(H5Tequal(type.get(), expected), 0) << name;
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  EXPECT_EQ(H5Sget_simple_extent_ndims(space.get()), 2) << name;
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  std::vector<T> values(dims[0] * dims[1]);
  if (!values.empty()) {
    H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  }
  return values;
}

/// A spike as the export should hold it: sample, time, neuron.
using Event = std::tuple<std::uint32_t, double, std::int64_t>;

/// Checks one node of a NIR data file against the trace's spikes of the population.
void check_node(hid_t file, const TraceReader& trace, const std::string& population,
                std::uint64_t samples, double dt, double t_max) {
  SCOPED_TRACE(population);
  const Handle node(H5Gopen2(file, ("nodes/" + population).c_str(), H5P_DEFAULT), H5Gclose);
  ASSERT_TRUE(node.valid());
  EXPECT_EQ(string_attribute(node.get(), "__type__"), "NIRNodeData");
  const Handle spikes(H5Gopen2(node.get(), "observables/spikes", H5P_DEFAULT), H5Gclose);
  ASSERT_TRUE(spikes.valid());
  EXPECT_EQ(string_attribute(spikes.get(), "__type__"), "EventData");
  EXPECT_EQ(
      scalar_attribute<std::int64_t>(spikes.get(), "n_neurons", H5T_NATIVE_INT64, H5T_STD_I64LE),
      trace.population_size(population));
  EXPECT_DOUBLE_EQ(
      scalar_attribute<double>(spikes.get(), "t_max", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE), t_max);

  hsize_t idx_dims[2], time_dims[2];
  const auto idx =
      read_matrix<std::int64_t>(spikes.get(), "idx", H5T_NATIVE_INT64, H5T_STD_I64LE, idx_dims);
  const auto time =
      read_matrix<double>(spikes.get(), "time", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, time_dims);
  ASSERT_EQ(idx_dims[0], samples);
  ASSERT_EQ(time_dims[0], samples);
  ASSERT_EQ(idx_dims[1], time_dims[1]);

  // The trace's spikes per sample, in file order (each sample's in time order).
  std::vector<std::vector<Event>> expected(samples);
  trace.for_each_spike_block(population, [&](const SpikeBlock& b) {
    for (std::size_t k = 0; k < b.steps.size(); ++k) {
      const std::uint32_t sample = b.samples.empty() ? 0 : b.samples[k];
      expected[sample].emplace_back(sample, static_cast<double>(b.steps[k]) * dt, b.indices[k]);
    }
  });
  std::size_t longest = 0;
  for (const auto& events : expected)
    longest = std::max(longest, events.size());
  EXPECT_EQ(idx_dims[1], longest) << "padded to the largest sample's count";
  const hsize_t width = idx_dims[1];
  for (std::uint32_t s = 0; s < samples; ++s) {
    for (hsize_t e = 0; e < width; ++e) {
      const std::int64_t i = idx[s * width + e];
      const double t = time[s * width + e];
      if (e < expected[s].size()) {
        EXPECT_EQ(Event(s, t, i), expected[s][e]) << "sample " << s << " event " << e;
      } else {
        EXPECT_EQ(i, -1) << "padding of sample " << s;
        EXPECT_EQ(t, std::numeric_limits<double>::infinity()) << "padding of sample " << s;
      }
    }
  }
}

class TraceExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = fs::temp_directory_path() / ("snnsim-trace-export-" + std::to_string(::getpid()));
    fs::create_directories(folder_);
    const std::string source = SNNSIM_SOURCE_DIR;
    const CommandResult coba =
        run_snnsim("run " + source + "/examples/coba.json --duration 200ms -t 1 " + "-q -o " +
                   path("coba.h5"));
    ASSERT_EQ(coba.status, 0) << coba.output;
    const CommandResult conv =
        run_snnsim("infer " + source + "/examples/conv-snn.json --input " + source +
                   "/examples/data/conv-snn-input.npy -q -t 1 -o " + path("conv.h5"));
    ASSERT_EQ(conv.status, 0) << conv.output;
  }
  static void TearDownTestSuite() { fs::remove_all(folder_); }
  static std::string path(const std::string& name) { return (folder_ / name).string(); }

  static fs::path folder_;
};
fs::path TraceExport::folder_;

TEST_F(TraceExport, CsvRoundTrip) {
  const CommandResult r =
      run_snnsim("trace export " + path("coba.h5") + " --format csv -o " + path("coba.csv"));
  ASSERT_EQ(r.status, 0) << r.output;
  const TraceReader trace(path("coba.h5"));
  const double dt = trace.attribute_double("dt");
  std::map<std::string, TraceSpikes> parsed;
  std::ifstream csv(path("coba.csv"));
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  EXPECT_EQ(line, "population,time_s,neuron");
  while (std::getline(csv, line)) {
    const std::vector<std::string> f = split(line);
    ASSERT_EQ(f.size(), 3u) << line;
    const double time_s = std::stod(f[1]);
    // Times are step · dt, written exactly: they divide back to whole steps.
    const double steps = time_s / dt;
    ASSERT_NEAR(steps, std::round(steps), 1e-6) << line;
    parsed[f[0]].steps.push_back(static_cast<Step>(std::llround(steps)));
    parsed[f[0]].indices.push_back(static_cast<NeuronIndex>(std::stoul(f[2])));
  }
  for (const std::string& name : trace.population_names()) {
    const TraceSpikes spikes = trace.read_spikes(name);
    EXPECT_GT(spikes.steps.size(), 1000u) << name;
    EXPECT_EQ(parsed[name].steps, spikes.steps) << name;
    EXPECT_EQ(parsed[name].indices, spikes.indices) << name;
  }
  EXPECT_FALSE(fs::exists(path("coba.csv.partial")));
}

TEST_F(TraceExport, CsvOfALayerGraphHasSamplesAndValues) {
  const CommandResult r = run_snnsim("trace export " + path("conv.h5") +
                                     " --format csv -P if1 --from 2 -o " + path("conv.csv"));
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream csv(path("conv.csv"));
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  EXPECT_EQ(line, "population,timestep,neuron,sample,value");
  std::vector<std::tuple<Step, NeuronIndex, std::uint32_t>> parsed;
  while (std::getline(csv, line)) {
    const std::vector<std::string> f = split(line);
    ASSERT_EQ(f.size(), 5u) << line;
    EXPECT_EQ(f[0], "if1");
    EXPECT_EQ(f[4], "1") << "binary spikes";
    parsed.emplace_back(std::stoull(f[1]), std::stoul(f[2]), std::stoul(f[3]));
  }
  std::vector<std::tuple<Step, NeuronIndex, std::uint32_t>> expected;
  const TraceReader trace(path("conv.h5"));
  trace.for_each_spike_block("if1", [&](const SpikeBlock& b) {
    for (std::size_t k = 0; k < b.steps.size(); ++k)
      if (b.steps[k] >= 2) expected.emplace_back(b.steps[k], b.indices[k], b.samples[k]);
  });
  EXPECT_GT(expected.size(), 1000u);
  EXPECT_EQ(parsed, expected);
}

TEST_F(TraceExport, NirDataLayoutOfAPopulationTrace) {
  const CommandResult r =
      run_snnsim("trace export " + path("coba.h5") + " --format nirdata -o " + path("coba.nir"));
  ASSERT_EQ(r.status, 0) << r.output;
  hdf5::silence_errors();
  const Handle file(H5Fopen(path("coba.nir").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ASSERT_TRUE(file.valid());
  EXPECT_EQ(string_attribute(file.get(), "__type__"), "NIRGraphData");
  const TraceReader trace(path("coba.h5"));
  const double dt = trace.attribute_double("dt");
  const double t_max = static_cast<double>(trace.attribute_uint("steps_completed")) * dt;
  for (const std::string& name : trace.population_names())
    check_node(file.get(), trace, name, 1, dt, t_max);
}

TEST_F(TraceExport, NirDataOfALayerGraphIsPaddedPerSample) {
  const CommandResult r =
      run_snnsim("trace export " + path("conv.h5") + " --format nirdata -o " + path("conv.nir"));
  ASSERT_EQ(r.status, 0) << r.output;
  hdf5::silence_errors();
  const Handle file(H5Fopen(path("conv.nir").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ASSERT_TRUE(file.valid());
  EXPECT_EQ(string_attribute(file.get(), "__type__"), "NIRGraphData");
  const TraceReader trace(path("conv.h5"));
  const std::uint64_t samples = trace.attribute_uint("samples");
  const double t_max = static_cast<double>(trace.attribute_uint("timesteps"));
  ASSERT_EQ(samples, 32u);
  // Layers that spike, and an analog one (no events: shape [32, 0]).
  for (const char* name : {"if1", "if2", "flat", "conv1"})
    check_node(file.get(), trace, name, samples, 1.0, t_max);
}

TEST_F(TraceExport, BadInputLeavesNoOutput) {
  std::ofstream(path("text.h5")) << "not a trace\n";
  std::ifstream whole(path("coba.h5"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(whole)), {});
  std::ofstream(path("truncated.h5"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  struct Case {
    std::string arguments;
    int status;
  };
  const std::string out = path("out.csv");
  for (const Case& c : std::initializer_list<Case>{
           {path("text.h5") + " --format csv -o " + out, 1},
           {path("truncated.h5") + " --format nirdata -o " + out, 1},
           {path("missing.h5") + " --format csv -o " + out, 1},
           {path("coba.h5") + " --format csv -o " + path("no/such/folder/out.csv"), 1},
           {path("coba.h5") + " --format nirdata -o " + path("no/such/folder/out.nir"), 1},
           {path("coba.h5") + " --format csv -o " + path("coba.h5"), 1},
           {path("coba.h5") + " --format csv -P X -o " + out, 1},
           {path("coba.h5") + " --format xml -o " + out, 2},
           {path("coba.h5") + " --format csv", 2},
           {path("coba.h5") + " -o " + out, 2}}) {
    const CommandResult r = run_snnsim("trace export " + c.arguments);
    EXPECT_EQ(r.status, c.status) << c.arguments << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_EQ(r.output.rfind("snnsim trace export: ", 0), 0u) << r.output;
    EXPECT_FALSE(fs::exists(out)) << c.arguments;
    EXPECT_FALSE(fs::exists(out + ".partial")) << c.arguments;
  }
  // The trace named as its own output is untouched.
  EXPECT_NO_THROW(TraceReader{path("coba.h5")});
}

}  // namespace
}  // namespace snnsim
