// The trace writer and reader: round trips across buffer writes and flushes, the documented
// layout, interruption, cleanup after a failure, and one-line errors naming the file for missing,
// foreign, damaged and truncated files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>

#include "sim/hdf5_util.h"
#include "sim/trace_reader.h"
#include "sim/trace_writer.h"
#include "sim/version.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

/// What the writer buffers per population before writing (docs: "about a million").
constexpr std::size_t kDocumentedSpikeBuffer = 1'000'000;

class Trace : public testing::TemporaryFolderTest {
 protected:
  static TraceMetadata metadata() {
    TraceMetadata m;
    m.dt_s = 1e-4;
    m.duration_s = 2.0;
    m.seed = 42;
    m.network_json = "{\"format\": \"snnsim-network\"}";
    m.network_path = "net.json";
    m.backend = "cpu";
    m.threads = 3;
    return m;
  }

  static std::vector<TracePopulationSpec> populations() {
    return {testing::trace_population("E", 1000, true, {{"v", "mV", {3, 1, 4}, 10}}),
            testing::trace_population("I", 10, true), testing::trace_population("X", 5, false)};
  }

  /// The message of the std::runtime_error `operation` throws, checked to be one line naming
  /// `file`; empty (and a test failure) when it throws nothing.
  static std::string one_line_error(const std::function<void()>& operation, const fs::path& file) {
    try {
      operation();
    } catch (const std::runtime_error& error) {
      const std::string message = error.what();
      EXPECT_THAT(message, HasSubstr(file.filename().string()));
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      return message;
    }
    ADD_FAILURE() << "expected a std::runtime_error about " << file;
    return "";
  }

  static std::string reader_error(const fs::path& file) {
    return one_line_error([&] { TraceReader reader(file); }, file);
  }

  /// A finished trace with 2,000,000 spikes in population E.
  void write_large_trace(const fs::path& file) {
    TraceWriter writer(file, metadata(), populations());
    const std::vector<NeuronIndex> spikes(1000, 1);
    for (Step step = 0; step < 2000; ++step)
      writer.append_spikes(0, step, spikes);
    writer.finish(true, 2000);
  }
};

/// Neurons 0..count-1 firing at `step`: the count varies from step to step, so a lost, repeated
/// or reordered block of spikes changes what is read back.
std::size_t spike_count(std::size_t population, Step step) {
  return population == 0 ? (step * 7) % 2000 + 1 : (step * 3) % 100;
}

float sample_value(Step step, std::size_t column) {
  return static_cast<float>(step) * 0.5f + static_cast<float>(column);
}

TEST_F(Trace, SpikesAndSamplesRoundTripAcrossBufferWritesAndFlushes) {
  std::vector<TracePopulationSpec> specs = {
      testing::trace_population("E", 2000, true,
                                {{"v", "mV", {3, 1, 4}, 10}, {"g_exc", "nS", {}, 2}}),
      testing::trace_population("I", 100, true, {{"v", "mV", {7}, 1}}),
      testing::trace_population("X", 5, false)};
  for (NeuronIndex n = 0; n < 1000; ++n)
    specs[0].probes[1].neurons.push_back(999 - n);
  TraceWriter writer(path("t.h5"), metadata(), specs);

  std::vector<NeuronIndex> all(2000);
  for (NeuronIndex n = 0; n < all.size(); ++n)
    all[n] = n;
  std::vector<TraceSpikes> expected(2);
  std::vector<float> row;
  // About 3,000,000 spikes in E: three times the write buffer, so the datasets are extended
  // several times from full buffers, and three explicit flushes extend them from partial ones.
  for (Step step = 0; step < 3000; ++step) {
    for (std::size_t p = 0; p < 2; ++p) {
      const std::span<const NeuronIndex> fired = std::span(all).first(spike_count(p, step));
      writer.append_spikes(p, step, fired);
      expected[p].steps.insert(expected[p].steps.end(), fired.size(), step);
      expected[p].indices.insert(expected[p].indices.end(), fired.begin(), fired.end());
    }
    for (std::size_t p = 0; p < 2; ++p) {
      for (std::size_t probe = 0; probe < specs[p].probes.size(); ++probe) {
        const StateProbeSpec& spec = specs[p].probes[probe];
        if (step % spec.interval_steps != 0) continue;
        row.clear();
        for (std::size_t column = 0; column < spec.neurons.size(); ++column)
          row.push_back(sample_value(step, column));
        writer.append_state(p, probe, step, row);
      }
    }
    if (step == 1000 || step == 1001 || step == 2500) writer.flush(step + 1);
  }
  EXPECT_TRUE(fs::exists(path("t.h5.partial")));
  EXPECT_FALSE(fs::exists(path("t.h5")));
  writer.finish(true, 3000);
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));
  ASSERT_GT(expected[0].steps.size(), 3 * kDocumentedSpikeBuffer - 100'000);

  const TraceReader reader(path("t.h5"));
  EXPECT_TRUE(reader.complete());
  EXPECT_EQ(reader.population_names(), (std::vector<std::string>{"E", "I", "X"}));
  EXPECT_EQ(reader.population_size("E"), 2000u);
  EXPECT_EQ(reader.population_size("X"), 5u);
  for (std::size_t p = 0; p < 2; ++p) {
    const TraceSpikes spikes = reader.read_spikes(specs[p].name);
    EXPECT_EQ(spikes.steps, expected[p].steps) << specs[p].name;
    EXPECT_EQ(spikes.indices, expected[p].indices) << specs[p].name;
  }
  EXPECT_THAT(one_line_error([&] { reader.read_spikes("X"); }, path("t.h5")),
              HasSubstr("population 'X' has no recorded spikes"));

  EXPECT_EQ(reader.state_variables("E"), (std::vector<std::string>{"g_exc", "v"}));
  EXPECT_EQ(reader.state_variables("X"), std::vector<std::string>{});
  for (std::size_t p = 0; p < 2; ++p) {
    for (const StateProbeSpec& spec : specs[p].probes) {
      const TraceState state = reader.read_state(specs[p].name, spec.variable);
      SCOPED_TRACE(specs[p].name + "/" + spec.variable);
      EXPECT_EQ(state.neurons, spec.neurons);
      EXPECT_EQ(state.unit, spec.unit);
      EXPECT_EQ(state.interval_steps, spec.interval_steps);
      ASSERT_EQ(state.samples, 3000 / spec.interval_steps);
      ASSERT_EQ(state.values.size(), state.samples * spec.neurons.size());
      for (std::size_t sample = 0; sample < state.samples; ++sample) {
        for (std::size_t column = 0; column < spec.neurons.size(); ++column) {
          ASSERT_EQ(state.values[sample * spec.neurons.size() + column],
                    sample_value(sample * spec.interval_steps, column))
              << "sample " << sample << ", column " << column;
        }
      }
    }
  }
}

// A probe on every neuron of a large layer (`snnsim infer --record`) names them in an
// attribute of 3.2 MB, far above the 64 kB of HDF5's oldest object format.
TEST_F(Trace, AProbeOnEightHundredThousandNeuronsNamesThemAll) {
  std::vector<TracePopulationSpec> specs = {
      testing::trace_population("L", 802'816, false, {{"value", "1", {}, 1}})};
  specs[0].probes[0].neurons.resize(802'816);
  std::iota(specs[0].probes[0].neurons.begin(), specs[0].probes[0].neurons.end(), NeuronIndex{0});
  TraceWriter writer(path("t.h5"), metadata(), specs);
  std::vector<float> row(802'816);
  std::iota(row.begin(), row.end(), 0.0f);
  writer.append_state(0, 0, 0, row);
  writer.finish(true, 1);
  const TraceState state = TraceReader(path("t.h5")).read_state("L", "value");
  EXPECT_EQ(state.neurons, specs[0].probes[0].neurons);
  EXPECT_EQ(state.values, row);
}

TEST_F(Trace, FullBuffersReachTheFileBeforeAnyFlush) {
  TraceWriter writer(path("t.h5"), metadata(), populations());
  const std::vector<NeuronIndex> spikes(1000, 1);
  for (Step step = 0; step < 1500; ++step)
    writer.append_spikes(0, step, spikes);
  // Same process: HDF5 shares the open file, so the reader sees what the writer has written.
  const TraceSpikes written = TraceReader(path("t.h5.partial")).read_spikes("E");
  ASSERT_GE(written.steps.size(), kDocumentedSpikeBuffer);
  EXPECT_LT(written.steps.size(), 1'500'000u);
  EXPECT_EQ(written.steps.size() % 1000, 0u);
  EXPECT_EQ(written.steps.back(), written.steps.size() / 1000 - 1);
}

TEST_F(Trace, MetadataRoundTrips) {
  TraceMetadata m = metadata();
  m.seed = std::numeric_limits<std::uint64_t>::max();
  m.backend = "cuda";
  m.threads = 16;
  // Far beyond the 64 KiB an HDF5 object header can hold inline.
  m.network_json = "{\"populations\": [" + std::string(300'000, ' ') + "], \"note\": \"µ\"}";
  m.network_path = "nets/brunel.json";
  {
    TraceWriter writer(path("t.h5"), m, populations());
    writer.finish(true, 20000);
  }
  const TraceReader reader(path("t.h5"));
  EXPECT_EQ(reader.attribute_string("format"), "snnsim-trace");
  EXPECT_EQ(reader.attribute_uint("version"), 1u);
  EXPECT_DOUBLE_EQ(reader.attribute_double("dt"), 1e-4);
  EXPECT_DOUBLE_EQ(reader.attribute_double("duration"), 2.0);
  EXPECT_EQ(reader.attribute_uint("seed"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(reader.attribute_string("snnsim_version"), kVersion);
  EXPECT_EQ(reader.attribute_string("network"), m.network_json);
  EXPECT_EQ(reader.attribute_string("network_path"), "nets/brunel.json");
  EXPECT_EQ(reader.attribute_string("backend"), "cuda");
  EXPECT_EQ(reader.attribute_uint("threads"), 16u);
  EXPECT_EQ(reader.attribute_uint("steps_completed"), 20000u);
  EXPECT_TRUE(reader.complete());
  EXPECT_THAT(one_line_error([&] { reader.attribute_double("colour"); }, path("t.h5")),
              HasSubstr("missing attribute 'colour'"));
  EXPECT_THAT(one_line_error([&] { reader.population_size("Z"); }, path("t.h5")),
              HasSubstr("no population 'Z'"));
}

/// The layout h5py users rely on (docs/trace-format.md), checked with the HDF5 C API.
TEST_F(Trace, LayoutIsTheDocumentedOne) {
  {
    TraceWriter writer(path("t.h5"), metadata(), populations());
    writer.append_spikes(0, 3, std::vector<NeuronIndex>{1, 2});
    writer.finish(true, 10);
  }
  const hid_t file = H5Fopen(path("t.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const auto attribute_type = [](hid_t object, const char* name) {
    const hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    const hid_t type = H5Aget_type(attribute);
    H5Aclose(attribute);
    return type;
  };
  const hid_t format = attribute_type(file, "format");
  EXPECT_EQ(H5Tget_class(format), H5T_STRING);
  EXPECT_GT(H5Tis_variable_str(format), 0);
  EXPECT_EQ(H5Tget_cset(format), H5T_CSET_UTF8);
  H5Tclose(format);

  const hid_t population = H5Gopen2(file, "/populations/E", H5P_DEFAULT);
  const hid_t size = attribute_type(population, "size");
  EXPECT_TRUE(H5Tequal(size, H5T_STD_U32LE) > 0);
  H5Tclose(size);
  H5Gclose(population);
  const hid_t spikes = H5Gopen2(file, "/populations/E/spikes", H5P_DEFAULT);
  std::uint64_t count = 0;
  const hid_t count_attribute = H5Aopen(spikes, "count", H5P_DEFAULT);
  H5Aread(count_attribute, H5T_NATIVE_UINT64, &count);
  EXPECT_EQ(count, 2u);
  H5Aclose(count_attribute);
  H5Gclose(spikes);

  for (const char* name :
       {"/populations/E/spikes/step", "/populations/E/spikes/index", "/populations/E/state/v"}) {
    SCOPED_TRACE(name);
    const hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
    ASSERT_GE(dataset, 0);
    const hid_t space = H5Dget_space(dataset);
    hsize_t dims[2] = {0, 0}, maximum[2] = {0, 0};
    H5Sget_simple_extent_dims(space, dims, maximum);
    EXPECT_EQ(maximum[0], H5S_UNLIMITED);
    const hid_t properties = H5Dget_create_plist(dataset);
    EXPECT_EQ(H5Pget_layout(properties), H5D_CHUNKED);
    ASSERT_EQ(H5Pget_nfilters(properties), 2);
    unsigned flags = 0, level = 0;
    std::size_t values = 1;
    EXPECT_EQ(H5Pget_filter2(properties, 0, &flags, &values, &level, 0, nullptr, nullptr),
              H5Z_FILTER_SHUFFLE);
    values = 1;
    EXPECT_EQ(H5Pget_filter2(properties, 1, &flags, &values, &level, 0, nullptr, nullptr),
              H5Z_FILTER_DEFLATE);
    EXPECT_EQ(level, 4u);
    H5Pclose(properties);
    H5Sclose(space);
    H5Dclose(dataset);
  }
  H5Fclose(file);
}

TEST_F(Trace, ProbeWithoutNeuronsIsAnEmptyDataset) {
  {
    TraceWriter writer(path("t.h5"), metadata(),
                       {testing::trace_population("E", 10, false, {{"v", "mV", {}, 1}})});
    writer.append_state(0, 0, 0, std::vector<float>{});
    writer.finish(true, 1);
  }
  const TraceState v = TraceReader(path("t.h5")).read_state("E", "v");
  EXPECT_EQ(v.samples, 0u);
  EXPECT_TRUE(v.neurons.empty());
  EXPECT_TRUE(v.values.empty());
  EXPECT_EQ(v.unit, "mV");
}

TEST_F(Trace, InterruptedRunIsKeptWithItsDataAndMarkedIncomplete) {
  {
    TraceWriter writer(path("t.h5"), metadata(), populations());
    writer.append_spikes(0, 3, std::vector<NeuronIndex>{5});
    writer.append_state(0, 0, 0, std::vector<float>{1, 2, 3});
    writer.flush(4);
    writer.append_spikes(0, 4, std::vector<NeuronIndex>{6, 7});  // still buffered at finish
    writer.append_state(0, 0, 10, std::vector<float>{4, 5, 6});
    writer.finish(false, 12);
  }
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));
  const TraceReader reader(path("t.h5"));
  EXPECT_FALSE(reader.complete());
  EXPECT_EQ(reader.attribute_uint("steps_completed"), 12u);
  const TraceSpikes spikes = reader.read_spikes("E");
  EXPECT_EQ(spikes.steps, (std::vector<Step>{3, 4, 4}));
  EXPECT_EQ(spikes.indices, (std::vector<NeuronIndex>{5, 6, 7}));
  const TraceState v = reader.read_state("E", "v");
  EXPECT_EQ(v.samples, 2u);
  EXPECT_EQ(v.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST_F(Trace, AbandonedWriterLeavesNoFile) {
  {
    TraceWriter writer(path("t.h5"), metadata(), populations());
    writer.append_spikes(0, 3, std::vector<NeuronIndex>{5});
    writer.flush(4);
    EXPECT_TRUE(fs::exists(path("t.h5.partial")));
  }
  EXPECT_FALSE(fs::exists(path("t.h5")));
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));
}

TEST_F(Trace, StalePartialFileAndOldTraceAreReplaced) {
  std::ofstream(path("t.h5.partial")) << "left by a killed run\n";
  std::ofstream(path("t.h5")) << "an older trace\n";
  {
    TraceWriter writer(path("t.h5"), metadata(), populations());
    writer.append_spikes(1, 8, std::vector<NeuronIndex>{9});
    writer.finish(true, 10);
  }
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));
  EXPECT_EQ(TraceReader(path("t.h5")).read_spikes("I").indices, std::vector<NeuronIndex>{9});
}

TEST_F(Trace, FailedRenameKeepsTheDataUnderTheTemporaryName) {
  fs::create_directories(path("t.h5") / "occupied");  // a non-empty folder cannot be replaced
  {
    TraceWriter writer(path("t.h5"), metadata(), populations());
    writer.append_spikes(0, 2, std::vector<NeuronIndex>{4});
    EXPECT_THAT(one_line_error([&] { writer.finish(true, 5); }, path("t.h5")),
                HasSubstr("cannot rename"));
  }
  EXPECT_EQ(TraceReader(path("t.h5.partial")).read_spikes("E").indices,
            std::vector<NeuronIndex>{4});
}

TEST_F(Trace, SampleOfTheWrongWidthIsRefused) {
  TraceWriter writer(path("t.h5"), metadata(), populations());
  EXPECT_THAT(one_line_error(
                  [&] {
                    writer.append_state(0, 0, 0, std::vector<float>{1, 2});
                  },
                  path("t.h5.partial")),
              HasSubstr("a sample of 'E/v' has 2 values, expected 3"));
}

TEST_F(Trace, UncreatableFileIsAOneLineError) {
  const fs::path file = path("missing") / "t.h5";
  EXPECT_THAT(one_line_error([&] { TraceWriter writer(file, metadata(), populations()); }, file),
              HasSubstr("cannot create trace file '" + file.string() +
                        ".partial': No such file or directory"));
}

TEST_F(Trace, BadFilesGiveOneLineErrorsNamingTheFile) {
  EXPECT_THAT(reader_error(path("absent.h5")), HasSubstr("absent.h5: no such file"));

  std::ofstream(path("text.h5")) << "this is not HDF5\n";
  EXPECT_THAT(reader_error(path("text.h5")), HasSubstr("text.h5: not an HDF5 file"));

  H5Fclose(H5Fcreate(path("foreign.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  EXPECT_THAT(reader_error(path("foreign.h5")), HasSubstr("foreign.h5: not a snnsim trace"));

  {
    const hdf5::Handle file(
        H5Fcreate(path("future.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    hdf5::write_attribute(file.get(), "format", std::string("snnsim-trace"));
    hdf5::write_attribute(file.get(), "version", std::uint64_t{2});
    const hdf5::Handle other(
        H5Fcreate(path("other.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    hdf5::write_attribute(other.get(), "format", std::string("other-trace"));
    hdf5::write_attribute(other.get(), "version", std::uint64_t{1});
  }
  EXPECT_THAT(reader_error(path("other.h5")), HasSubstr("other.h5: not a snnsim trace"));
  EXPECT_THAT(reader_error(path("future.h5")),
              HasSubstr("future.h5: unsupported snnsim trace version 2"));

  write_large_trace(path("good.h5"));
  ASSERT_NO_THROW(TraceReader(path("good.h5")).read_spikes("E"));
  fs::copy_file(path("good.h5"), path("truncated.h5"));
  fs::resize_file(path("truncated.h5"), fs::file_size(path("good.h5")) / 2);
  EXPECT_THAT(reader_error(path("truncated.h5")), HasSubstr("truncated.h5: cannot open"));
}

}  // namespace
}  // namespace snnsim
