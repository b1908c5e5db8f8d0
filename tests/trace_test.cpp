// The trace writer and reader: round trips across buffer flushes, interruption, cleanup after a
// failure, and one-line errors for missing, foreign, damaged and truncated files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sim/trace_reader.h"
#include "sim/trace_writer.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;

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
    return {
        {"E", 1000, true, {{"v", "mV", {3, 1, 4}, 10}}}, {"I", 10, true, {}}, {"X", 5, false, {}}};
  }

  std::string reader_error(const fs::path& file) {
    try {
      TraceReader reader(file);
    } catch (const std::runtime_error& error) {
      return error.what();
    }
    ADD_FAILURE() << "expected an error reading " << file;
    return "";
  }
};

TEST_F(Trace, SpikesAndSamplesRoundTripAcrossBufferFlushes) {
  TraceWriter writer(path("t.h5"), metadata(), populations());
  std::vector<Step> expected_steps;
  std::vector<NeuronIndex> expected_indices;
  std::vector<NeuronIndex> spikes(1000);
  for (NeuronIndex i = 0; i < 1000; ++i)
    spikes[i] = i;
  // 3000 steps x 1000 spikes: three times the in-memory buffer, so datasets are extended.
  for (Step step = 0; step < 3000; ++step) {
    const std::size_t count = (step * 7) % 1000 + 1;
    writer.append_spikes(0, step, std::span(spikes).first(count));
    expected_steps.insert(expected_steps.end(), count, step);
    expected_indices.insert(expected_indices.end(), spikes.begin(), spikes.begin() + count);
    if (step % 10 == 0) {
      const float row[] = {float(step), float(step) + 0.5f, -float(step)};
      writer.append_state(0, 0, step, row);
    }
    if (step == 1500) writer.flush();
  }
  writer.append_spikes(1, 7, std::vector<NeuronIndex>{2, 9});
  EXPECT_TRUE(fs::exists(path("t.h5.partial")));
  EXPECT_FALSE(fs::exists(path("t.h5")));
  writer.finish(true, 3000);
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));

  const TraceReader reader(path("t.h5"));
  EXPECT_TRUE(reader.complete());
  EXPECT_EQ(reader.attribute_string("format"), "snnsim-trace");
  EXPECT_EQ(reader.attribute_uint("version"), 1u);
  EXPECT_EQ(reader.attribute_uint("seed"), 42u);
  EXPECT_EQ(reader.attribute_uint("steps_completed"), 3000u);
  EXPECT_DOUBLE_EQ(reader.attribute_double("dt"), 1e-4);
  EXPECT_DOUBLE_EQ(reader.attribute_double("duration"), 2.0);
  EXPECT_EQ(reader.attribute_string("network_path"), "net.json");
  EXPECT_EQ(reader.attribute_string("backend"), "cpu");
  EXPECT_EQ(reader.population_names(), (std::vector<std::string>{"E", "I", "X"}));
  EXPECT_EQ(reader.population_size("E"), 1000u);
  const TraceSpikes e = reader.read_spikes("E");
  EXPECT_EQ(e.steps, expected_steps);
  EXPECT_EQ(e.indices, expected_indices);
  const TraceSpikes i = reader.read_spikes("I");
  EXPECT_EQ(i.steps, (std::vector<Step>{7, 7}));
  EXPECT_EQ(i.indices, (std::vector<NeuronIndex>{2, 9}));
  EXPECT_THROW(reader.read_spikes("X"), std::runtime_error);  // not recorded
  EXPECT_EQ(reader.state_variables("E"), std::vector<std::string>{"v"});
  const TraceState v = reader.read_state("E", "v");
  EXPECT_EQ(v.neurons, (std::vector<NeuronIndex>{3, 1, 4}));
  EXPECT_EQ(v.interval_steps, 10u);
  EXPECT_EQ(v.unit, "mV");
  ASSERT_EQ(v.samples, 300u);
  EXPECT_EQ(v.values[3 * 123 + 1], 1230.5f);
  EXPECT_EQ(v.values[3 * 299 + 2], -2990.0f);
}

TEST_F(Trace, InterruptedRunIsKeptAndMarkedIncomplete) {
  {
    TraceWriter writer(path("t.h5"), metadata(), populations());
    writer.append_spikes(0, 3, std::vector<NeuronIndex>{5});
    writer.finish(false, 4);
  }
  const TraceReader reader(path("t.h5"));
  EXPECT_FALSE(reader.complete());
  EXPECT_EQ(reader.attribute_uint("steps_completed"), 4u);
  EXPECT_EQ(reader.read_spikes("E").indices, std::vector<NeuronIndex>{5});
}

TEST_F(Trace, AbandonedWriterLeavesNoFile) {
  {
    TraceWriter writer(path("t.h5"), metadata(), populations());
    writer.append_spikes(0, 3, std::vector<NeuronIndex>{5});
  }
  EXPECT_FALSE(fs::exists(path("t.h5")));
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));
}

TEST_F(Trace, UncreatableFileIsAOneLineError) {
  try {
    TraceWriter writer(path("missing/dir/t.h5"), metadata(), populations());
    FAIL();
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("t.h5.partial"));
  }
}

TEST_F(Trace, BadFilesGiveOneLineErrorsNamingTheFile) {
  EXPECT_THAT(reader_error(path("absent.h5")), ::testing::HasSubstr("absent.h5: no such file"));

  std::ofstream(path("text.h5")) << "this is not HDF5\n";
  EXPECT_THAT(reader_error(path("text.h5")), ::testing::HasSubstr("text.h5: not an HDF5 file"));

  const hid_t file = H5Fcreate(path("foreign.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(file);
  EXPECT_THAT(reader_error(path("foreign.h5")),
              ::testing::HasSubstr("foreign.h5: not a snnsim trace"));

  {
    TraceWriter writer(path("good.h5"), metadata(), populations());
    std::vector<NeuronIndex> spikes(1000, 1);
    for (Step step = 0; step < 2000; ++step)
      writer.append_spikes(0, step, spikes);
    writer.finish(true, 2000);
  }
  fs::copy_file(path("good.h5"), path("truncated.h5"));
  fs::resize_file(path("truncated.h5"), fs::file_size(path("good.h5")) / 2);
  // Truncation is caught when opening or, at the latest, when reading the damaged data.
  std::string message;
  try {
    const TraceReader reader(path("truncated.h5"));
    reader.read_spikes("E");
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  EXPECT_THAT(message, ::testing::HasSubstr("truncated.h5"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace snnsim
