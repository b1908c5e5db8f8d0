// Traces with impossible contents (a neuron at or above the population's size, a population of
// size 0, steps going backwards or past the run, a sampling interval of 0, ...), made by editing
// valid traces with the HDF5 C API: TraceReader refuses each with one line naming the file, the
// dataset and the position, and so does every `snnsim trace` subcommand, leaving no output file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "sim/hdf5_util.h"
#include "sim/trace_reader.h"
#include "sim/trace_writer.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::run_snnsim;

constexpr Step kSteps = 200;  ///< steps of the population trace

/// The subcommands that read spikes, and `state`, which reads sampled state only.
const std::vector<std::string> kSpikeReaders = {"summary", "raster",  "rate",  "isi",
                                                "hist",    "compare", "export"};

class DamagedTrace : public testing::TemporaryFolderTest {
 protected:
  /// A complete population trace: P (10 neurons) fires neurons 0..4 every 10 steps and has v
  /// sampled every 2 steps for neurons 1 and 3; Q (4 neurons) fires neuron 2 every 20 steps.
  fs::path population_trace(const std::string& name) const {
    TraceMetadata metadata;
    metadata.dt_s = 1e-4;
    metadata.duration_s = kSteps * 1e-4;
    metadata.backend = "cpu";
    TraceWriter writer(path(name), metadata,
                       {testing::trace_population("P", 10, true, {{"v", "mV", {1, 3}, 2}}),
                        testing::trace_population("Q", 4, true)});
    const std::vector<NeuronIndex> five = {0, 1, 2, 3, 4}, two = {2};
    for (Step step = 0; step < kSteps; ++step) {
      if (step % 10 == 0) writer.append_spikes(0, step, five);
      if (step % 20 == 0) writer.append_spikes(1, step, two);
      if (step % 2 == 0) writer.append_state(0, 0, step, std::vector<float>{-60.0f, -55.0f});
    }
    writer.finish(true, kSteps);
    return path(name);
  }

  /// A layer-graph trace of T = 4 timesteps and 2 samples: layer L of shape 2x3 fires elements s
  /// and 5 of sample s at every timestep, with value 1: spikes 4t + 2s and 4t + 2s + 1.
  fs::path layer_trace(const std::string& name) const {
    TraceMetadata metadata;
    metadata.dt_s = 1;
    metadata.duration_s = 4;
    metadata.backend = "cpu";
    metadata.timesteps = 4;
    metadata.samples = 2;
    TracePopulationSpec layer = testing::trace_population("L", 6, true);
    layer.spike_samples = layer.spike_values = true;
    layer.layer_op = "lif";
    layer.layer_shape = {2, 3};
    TraceWriter writer(path(name), metadata, {layer});
    for (Step t = 0; t < 4; ++t) {
      for (std::uint32_t s = 0; s < 2; ++s) {
        const std::vector<NeuronIndex> fired = {s, 5};
        writer.append_spikes(0, t, fired, s, std::vector<float>{1.0f, 1.0f});
      }
    }
    writer.finish(true, 4);
    return path(name);
  }

  /// Runs `change` on the file opened for writing with HDF5.
  static void edit(const fs::path& file, const std::function<void(hid_t)>& change) {
    const hdf5::Handle handle(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_TRUE(handle.valid()) << file;
    change(handle.get());
  }

  /// Overwrites element `position` of a 1-D dataset with `value` (of memory type `type`).
  static void set_element(hid_t file, const std::string& dataset_path, hsize_t position, hid_t type,
                          const void* value) {
    const hdf5::Handle dataset(H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT), H5Dclose);
    ASSERT_TRUE(dataset.valid()) << dataset_path;
    const hdf5::Handle space(H5Dget_space(dataset.get()), H5Sclose);
    const hsize_t one = 1;
    ASSERT_GE(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &position, nullptr, &one, nullptr),
              0);
    const hdf5::Handle memory(H5Screate_simple(1, &one, nullptr), H5Sclose);
    ASSERT_GE(H5Dwrite(dataset.get(), type, memory.get(), space.get(), H5P_DEFAULT, value), 0);
  }

  static void set_uint_attribute(hid_t file, const std::string& object_path, const char* name,
                                 hid_t type, const void* value) {
    const hdf5::Handle object(H5Oopen(file, object_path.c_str(), H5P_DEFAULT), H5Oclose);
    ASSERT_TRUE(object.valid()) << object_path;
    hdf5::write_attribute(object.get(), name, type, value);
  }

  /// A damage to the layer trace, named, and what the refusal says.
  struct LayerDamage {
    std::string name;
    std::function<void(hid_t)> damage;
    std::string expected;
  };

  /// Each damage, made to a fresh layer trace, is refused by every subcommand that reads spikes.
  void expect_layer_damages_refused(const std::vector<LayerDamage>& damages) const {
    for (const LayerDamage& d : damages) {
      SCOPED_TRACE(d.name);
      const fs::path trace = layer_trace(d.name);
      edit(trace, d.damage);
      expect_refused(trace, kSpikeReaders, d.expected);
    }
  }

  /// The output file of `subcommand` (summary and compare write none).
  fs::path output_of(const std::string& subcommand) const {
    return path(subcommand == "export" ? "out.csv" : "out.png");
  }

  /// The command line of `snnsim trace SUBCOMMAND` on `trace` (compare: with itself).
  std::string command_line(const std::string& subcommand, const fs::path& trace) const {
    const std::string arguments = "trace " + subcommand + " " + trace.string();
    if (subcommand == "compare") return arguments + " " + trace.string();
    if (subcommand == "summary") return arguments;
    if (subcommand == "export")
      return arguments + " --format csv -o " + output_of("export").string();
    return arguments + " -o " + output_of(subcommand).string();
  }

  /// Each subcommand of `subcommands` on `trace` exits non-zero with one line that names the
  /// trace and says `expected`, and leaves no output file (nor its temporary).
  void expect_refused(const fs::path& trace, const std::vector<std::string>& subcommands,
                      const std::string& expected) const {
    const std::string file = trace.string();
    for (const std::string& subcommand : subcommands) {
      const fs::path output = output_of(subcommand);
      const std::string arguments = command_line(subcommand, trace);
      const CommandResult r = run_snnsim(arguments);
      SCOPED_TRACE(arguments);
      EXPECT_NE(r.status, 0) << r.output;
      if (subcommand == "compare") {
        EXPECT_EQ(r.status, 2) << "an error, not 'different'";
      }
      EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
      EXPECT_THAT(r.output, HasSubstr("snnsim trace " + subcommand + ": " + file + ": "));
      EXPECT_THAT(r.output, HasSubstr(expected));
      EXPECT_FALSE(fs::exists(output));
      EXPECT_FALSE(fs::exists(output.string() + ".partial"));
    }
  }
};

TEST_F(DamagedTrace, GoodTracesPassEverySubcommand) {
  // The traces the other tests damage are valid to begin with: the refusals are the damage's.
  for (const fs::path& trace : {population_trace("good.h5"), layer_trace("layers.h5")}) {
    std::vector<std::string> subcommands = kSpikeReaders;
    if (trace.filename() == "good.h5") subcommands.push_back("state");
    for (const std::string& subcommand : subcommands) {
      const CommandResult r = run_snnsim(command_line(subcommand, trace));
      EXPECT_EQ(r.status, 0) << command_line(subcommand, trace) << "\n" << r.output;
    }
  }
}

TEST_F(DamagedTrace, NeuronAtOrAboveThePopulationSize) {
  const fs::path trace = population_trace("t.h5");
  const NeuronIndex neuron = 10;
  edit(trace, [&](hid_t file) {
    set_element(file, "/populations/P/spikes/index", 7, H5T_NATIVE_UINT32, &neuron);
  });
  expect_refused(trace, kSpikeReaders,
                 "dataset '/populations/P/spikes/index', element 7: neuron 10 of a population "
                 "of 10");
  const TraceReader reader(trace);
  try {
    reader.read_spikes("P");
    ADD_FAILURE() << "read_spikes accepted a neuron out of range";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr(trace.string() + ": dataset"));
  }
}

TEST_F(DamagedTrace, PopulationOfSizeZero) {
  const fs::path trace = population_trace("t.h5");
  const NeuronIndex zero = 0;
  edit(trace, [&](hid_t file) {
    set_uint_attribute(file, "/populations/P", "size", H5T_NATIVE_UINT32, &zero);
  });
  std::vector<std::string> every = kSpikeReaders;
  every.push_back("state");
  expect_refused(trace, every, "attribute 'size' of '/populations/P' is 0; expected at least 1");
}

TEST_F(DamagedTrace, PopulationTooLargeForTheAnalysesTablesIsRefusedBeforeAllocation) {
  // 2^32 - 1 neurons and 10 spiking: per-neuron statistics would need some 400 GB, more than any
  // machine that runs this test has, and the subcommands that keep them say so. (hist's counts,
  // 17 GB, may fit.)
  const fs::path trace = population_trace("t.h5");
  const NeuronIndex most = 0xFFFFFFFFu;
  edit(trace, [&](hid_t file) {
    set_uint_attribute(file, "/populations/P", "size", H5T_NATIVE_UINT32, &most);
  });
  expect_refused(trace, {"summary", "compare"},
                 "the statistics of population 'P' (4294967295 entries) would need 412 GB of "
                 "memory, more than the ");
}

TEST_F(DamagedTrace, LayerGraphSizesBeyondWhatSnnsimWrites) {
  // Timesteps, samples and layer sizes past the limits of snnsim infer (sim/limits.h): the
  // analyses size tables by them, so the reader refuses them first.
  const std::uint64_t timesteps = (std::uint64_t{1} << 16) + 1;
  const std::uint64_t samples = (std::uint64_t{1} << 32) + 1;
  const NeuronIndex size = (NeuronIndex{1} << 28) + 1;
  expect_layer_damages_refused({
      {"timesteps.h5",
       [&](hid_t file) {
         set_uint_attribute(file, "/", "timesteps", H5T_NATIVE_UINT64, &timesteps);
       },
       "attribute 'timesteps' is 65537; a layer graph has at most 2^16 (65536)"},
      {"samples.h5",
       [&](hid_t file) { set_uint_attribute(file, "/", "samples", H5T_NATIVE_UINT64, &samples); },
       "attribute 'samples' is 4294967297; a trace holds at most 2^32 (4294967296)"},
      {"size.h5",
       [&](hid_t file) {
         set_uint_attribute(file, "/populations/L", "size", H5T_NATIVE_UINT32, &size);
       },
       "attribute 'size' of '/populations/L' is 268435457; a layer has at most 2^28 (268435456) "
       "elements"},
  });
}

TEST_F(DamagedTrace, StepsGoingBackwards) {
  const fs::path trace = population_trace("t.h5");
  // P fires 5 neurons every 10 steps: spikes 50 to 54 are at step 100.
  const Step step = 3;
  edit(trace, [&](hid_t file) {
    set_element(file, "/populations/P/spikes/step", 52, H5T_NATIVE_UINT64, &step);
  });
  expect_refused(trace, kSpikeReaders,
                 "dataset '/populations/P/spikes/step', element 52: step 3 after step 100 "
                 "(spikes must be in time order)");
  // Also when a range starts at the bad spike: it is checked against the one before it.
  const TraceReader reader(trace);
  EXPECT_THROW(reader.for_each_spike_block(
                   "P", [](const SpikeBlock&) {}, 10, 52),
               std::exception);
}

TEST_F(DamagedTrace, StepPastTheEndOfACompleteRun) {
  const fs::path trace = population_trace("t.h5");
  const Step step = kSteps + 5;
  edit(trace, [&](hid_t file) {
    set_element(file, "/populations/Q/spikes/step", 9, H5T_NATIVE_UINT64, &step);  // the last
  });
  expect_refused(trace, kSpikeReaders,
                 "dataset '/populations/Q/spikes/step', element 9: step 205 is not below the "
                 "trace's steps_completed (200)");
}

TEST_F(DamagedTrace, SamplingIntervalOfZero) {
  const fs::path trace = population_trace("t.h5");
  const std::uint64_t zero = 0;
  edit(trace, [&](hid_t file) {
    set_uint_attribute(file, "/populations/P/state/v", "interval_steps", H5T_NATIVE_UINT64, &zero);
  });
  expect_refused(
      trace, {"state"},
      "attribute 'interval_steps' of '/populations/P/state/v' is 0; expected at least 1");
}

TEST_F(DamagedTrace, KindWithAControlCharacterIsQuotedOnOneLine) {
  const fs::path trace = population_trace("t.h5");
  edit(trace,
       [&](hid_t file) { hdf5::write_attribute(file, "kind", std::string("pop\nulation")); });
  expect_refused(trace, kSpikeReaders, "unknown trace kind 'pop\\x0aulation'");
}

TEST_F(DamagedTrace, SampledNeuronOutsideThePopulation) {
  const fs::path trace = population_trace("t.h5");
  edit(trace, [&](hid_t file) {
    const hdf5::Handle v(H5Oopen(file, "/populations/P/state/v", H5P_DEFAULT), H5Oclose);
    hdf5::write_attribute(v.get(), "neurons", std::vector<std::uint32_t>{1, 12});
  });
  expect_refused(trace, {"state"},
                 "attribute 'neurons' of '/populations/P/state/v', element 1: neuron 12 of a "
                 "population of 10");
}

TEST_F(DamagedTrace, SamplesPastTheEndOfACompleteRun) {
  const fs::path trace = population_trace("t.h5");
  const std::uint64_t interval = 1000;  // 100 rows every 1000 steps: far past step 200
  edit(trace, [&](hid_t file) {
    set_uint_attribute(file, "/populations/P/state/v", "interval_steps", H5T_NATIVE_UINT64,
                       &interval);
  });
  expect_refused(trace, {"state"},
                 "dataset '/populations/P/state/v' has 100 rows every 1000 steps from step 0: "
                 "past the trace's steps_completed (200)");
}

TEST_F(DamagedTrace, LayerGraphSampleTimestepValueAndShape) {
  const std::uint32_t sample = 2;
  const Step timestep = 4;
  const float value = std::numeric_limits<float>::quiet_NaN();
  const std::uint32_t shape_of_four[] = {2, 2};
  expect_layer_damages_refused({
      {"sample.h5",
       [&](hid_t file) {
         set_element(file, "/populations/L/spikes/sample", 3, H5T_NATIVE_UINT32, &sample);
       },
       "dataset '/populations/L/spikes/sample', element 3: sample 2 of a trace of 2 "
       "samples"},
      {"timestep.h5",
       [&](hid_t file) {
         set_element(file, "/populations/L/spikes/step", 5, H5T_NATIVE_UINT64, &timestep);
       },
       "dataset '/populations/L/spikes/step', element 5: step 4 is not below the trace's "
       "timesteps (4)"},
      {"value.h5",
       [&](hid_t file) {
         set_element(file, "/populations/L/spikes/value", 1, H5T_NATIVE_FLOAT, &value);
       },
       "dataset '/populations/L/spikes/value', element 1: the value is not a finite number"},
      {"shape.h5",
       [&](hid_t file) {
         const hdf5::Handle layer(H5Gopen2(file, "/populations/L", H5P_DEFAULT), H5Gclose);
         hdf5::write_attribute(
             layer.get(), "shape",
             std::vector<std::uint32_t>(std::begin(shape_of_four), std::end(shape_of_four)));
       },
       "attribute 'size' of '/populations/L' (6) is not the number of elements of its "
       "attribute 'shape'"},
  });
}

}  // namespace
}  // namespace snnsim
