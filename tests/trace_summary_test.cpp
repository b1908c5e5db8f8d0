// `snnsim trace summary` and the analysis behind it: statistics of synthetic traces with known
// values (Poisson, regular and synchronous trains), the time window and the selection, the COBA
// example and a layer graph run through the command, and one-line errors for bad files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "analysis/trace_summary.h"
#include "sim/trace_reader.h"
#include "sim/trace_writer.h"
#include "tests/test_support.h"

namespace snnsim::analysis {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr double kDt = 1e-4;  // 0.1 ms, the examples' step

struct Spike {
  Step step;
  NeuronIndex neuron;
  auto operator<=>(const Spike&) const = default;
};

/// A finished population trace of one population "P" with `spikes` (any order).
void write_trace(const fs::path& file, NeuronIndex neurons, Step steps, std::vector<Spike> spikes) {
  std::sort(spikes.begin(), spikes.end());
  spikes.erase(std::unique(spikes.begin(), spikes.end()), spikes.end());
  TraceMetadata metadata;
  metadata.dt_s = kDt;
  metadata.duration_s = static_cast<double>(steps) * kDt;
  metadata.seed = 7;
  metadata.backend = "cpu";
  TraceWriter writer(
      file, metadata,
      {testing::trace_population("P", neurons, true), testing::trace_population("Q", 3, false)});
  std::vector<NeuronIndex> fired;
  for (std::size_t i = 0; i < spikes.size();) {
    fired.clear();
    const Step step = spikes[i].step;
    for (; i < spikes.size() && spikes[i].step == step; ++i)
      fired.push_back(spikes[i].neuron);
    writer.append_spikes(0, step, fired);
  }
  writer.finish(true, steps);
}

/// Independent Bernoulli trains (discrete-time Poisson) of `rate_hz`: geometric intervals.
std::vector<Spike> poisson_trains(NeuronIndex neurons, Step steps, double rate_hz,
                                  std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const double p = rate_hz * kDt;
  std::vector<Spike> spikes;
  for (NeuronIndex n = 0; n < neurons; ++n) {
    for (Step step = 0;;) {
      step += static_cast<Step>(std::ceil(std::log(1.0 - uniform(generator)) / std::log(1.0 - p)));
      if (step >= steps) break;
      spikes.push_back({step, n});
    }
  }
  return spikes;
}

/// Regular trains of period `period` steps, neuron n starting at step n % period.
std::vector<Spike> regular_trains(NeuronIndex neurons, Step steps, Step period) {
  std::vector<Spike> spikes;
  for (NeuronIndex n = 0; n < neurons; ++n)
    for (Step step = n % period; step < steps; step += period)
      spikes.push_back({step, n});
  return spikes;
}

class TraceSummary : public testing::TemporaryFolderTest {
 protected:
  /// The statistics of population P over the whole trace, or over [from, to) seconds.
  SpikeStatistics statistics(const fs::path& file, Step bin_steps = 50,
                             std::optional<double> from = {}, std::optional<double> to = {}) {
    const TraceReader reader(file);
    const TraceInfo info = read_trace_info(reader);
    const Summary summary = summarize(reader, info, select_populations(reader, {"P"}),
                                      window_of(info, from, to), bin_steps);
    return summary.populations.at(0).spikes.value();
  }
};

TEST_F(TraceSummary, PoissonTrainsHaveCvAndFanoNearOneAndNoCorrelation) {
  // 200 neurons at 20 Hz for 50 s: about 1,000 spikes per neuron and 10,000 bins of 5 ms.
  const NeuronIndex neurons = 200;
  const Step steps = 500'000;
  const std::vector<Spike> spikes = poisson_trains(neurons, steps, 20.0, 1);
  write_trace(path("poisson.h5"), neurons, steps, spikes);
  const SpikeStatistics s = statistics(path("poisson.h5"));

  EXPECT_EQ(s.spikes, spikes.size());
  EXPECT_EQ(s.neurons, neurons);
  EXPECT_DOUBLE_EQ(s.duration_s, 50.0);
  // Rates: the mean has a standard error of sqrt(200,000) / (200 × 50 s) = 0.045 Hz; each
  // neuron's count is Poisson, so rates spread by sqrt(1000) / 50 s = 0.63 Hz.
  EXPECT_NEAR(s.rate_hz.mean, 20.0, 0.25);
  EXPECT_NEAR(s.rate_hz.sd, 0.63, 0.1);
  EXPECT_NEAR(s.rate_hz.median, 20.0, 0.3);
  EXPECT_LT(s.rate_hz.p5, s.rate_hz.median);
  EXPECT_GT(s.rate_hz.p95, s.rate_hz.median);
  EXPECT_EQ(s.silent_fraction, 0.0);
  // Geometric intervals have CV sqrt(1 − p) = 0.999; each neuron's estimate has a standard error
  // of about 1/sqrt(1000) = 0.03, their mean over 200 neurons about 0.003.
  EXPECT_EQ(s.cv_neurons, neurons);
  EXPECT_NEAR(s.cv_mean.value(), 1.0, 0.02);
  EXPECT_NEAR(s.cv_median.value(), 1.0, 0.03);
  // Bernoulli counts in bins have Fano 1 − p; the estimate's standard error is about
  // sqrt((1/0.1 + 2) / 10,000) = 0.035 per neuron, 0.0025 for the mean.
  EXPECT_EQ(s.bins, 10'000u);
  EXPECT_NEAR(s.fano_mean.value(), 1.0, 0.02);
  // Independent trains: r has a standard error of 1/sqrt(10,000) = 0.01 per pair.
  EXPECT_EQ(s.correlation_neurons, kCorrelationNeurons);
  EXPECT_EQ(s.correlation_pairs, kCorrelationNeurons * (kCorrelationNeurons - 1) / 2);
  EXPECT_NEAR(s.correlation_mean.value(), 0.0, 0.005);
  // Independent neurons: χ² ≈ 1/N = 0.005.
  EXPECT_NEAR(s.synchrony_chi2.value(), 1.0 / neurons, 0.003);
}

TEST_F(TraceSummary, RegularTrainsHaveCvAndFanoZero) {
  // Period 50 steps = 5 ms (200 Hz), one spike in every 5 ms bin.
  const NeuronIndex neurons = 100;
  write_trace(path("regular.h5"), neurons, 20'000, regular_trains(neurons, 20'000, 50));
  const SpikeStatistics s = statistics(path("regular.h5"));
  EXPECT_DOUBLE_EQ(s.rate_hz.mean, 200.0);
  EXPECT_DOUBLE_EQ(s.rate_hz.sd, 0.0);
  EXPECT_EQ(s.cv_neurons, neurons);
  EXPECT_DOUBLE_EQ(s.cv_mean.value(), 0.0);
  EXPECT_DOUBLE_EQ(s.fano_mean.value(), 0.0);
  // Constant counts have no correlation and no synchrony to measure.
  EXPECT_EQ(s.correlation_pairs, 0u);
  EXPECT_FALSE(s.correlation_mean.has_value());
  EXPECT_FALSE(s.synchrony_chi2.has_value());

  // Bins of 7.5 ms hold one or two spikes: the counts now vary, as their Fano factor says.
  const SpikeStatistics uneven = statistics(path("regular.h5"), 75);
  EXPECT_NEAR(uneven.fano_mean.value(), 0.25 / 1.5, 0.01);
  EXPECT_DOUBLE_EQ(uneven.cv_mean.value(), 0.0);
}

TEST_F(TraceSummary, SynchronousPopulationHasChiSquaredOneAndFullCorrelation) {
  // Every neuron fires at the same Poisson times.
  const NeuronIndex neurons = 100;
  const Step steps = 100'000;
  std::vector<Spike> spikes;
  for (const Spike& common : poisson_trains(1, steps, 20.0, 3))
    for (NeuronIndex n = 0; n < neurons; ++n)
      spikes.push_back({common.step, n});
  write_trace(path("sync.h5"), neurons, steps, spikes);
  const SpikeStatistics s = statistics(path("sync.h5"));
  EXPECT_NEAR(s.synchrony_chi2.value(), 1.0, 1e-9);
  EXPECT_NEAR(s.correlation_mean.value(), 1.0, 1e-9);
  EXPECT_NEAR(s.cv_mean.value(), 1.0, 0.1);
}

TEST_F(TraceSummary, WindowCountsOnlyItsSpikes) {
  // Regular 200 Hz trains for 2 s; the window [0.5 s, 1.25 s) holds 150 spikes per neuron.
  const NeuronIndex neurons = 10;
  write_trace(path("w.h5"), neurons, 20'000, regular_trains(neurons, 20'000, 50));
  const SpikeStatistics s = statistics(path("w.h5"), 50, 0.5, 1.25);
  EXPECT_EQ(s.spikes, 150u * neurons);
  EXPECT_DOUBLE_EQ(s.duration_s, 0.75);
  EXPECT_DOUBLE_EQ(s.rate_hz.mean, 200.0);
  EXPECT_EQ(s.bins, 150u);

  const TraceReader reader(path("w.h5"));
  const TraceInfo info = read_trace_info(reader);
  const StepWindow window = window_from_options(info, "500ms", "1.25 s");
  EXPECT_EQ(window.first, 5000u);
  EXPECT_EQ(window.last, 12'500u);
  // The bisection finds the first spike of the window and the first one after it.
  const SpikeRange range =
      spike_range(reader, info, select_populations(reader, {"P"}).at(0), window);
  EXPECT_EQ(range.first, 1000u);
  EXPECT_EQ(range.last, 2500u);
  for (const auto& [from, to, message] : {std::tuple{"1s", "500ms", "is not before --to"},
                                          {"3s", "", "past the end"},
                                          {"", "2.5s", "past the end"},
                                          {"-1ms", "", "negative"},
                                          {"1 kg", "", "--from 1 kg"}}) {
    try {
      window_from_options(info, from, to);
      ADD_FAILURE() << "no error for --from " << from << " --to " << to;
    } catch (const std::runtime_error& error) {
      EXPECT_THAT(error.what(), HasSubstr("w.h5: "));
      EXPECT_THAT(error.what(), HasSubstr(message));
    }
  }
}

TEST_F(TraceSummary, SelectionNamesTheExistingPopulationsOfAnUnknownOne) {
  write_trace(path("s.h5"), 5, 100, regular_trains(5, 100, 10));
  const TraceReader reader(path("s.h5"));
  const std::vector<PopulationInfo> all = select_populations(reader, {});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "P");
  EXPECT_EQ(all[0].spikes, 50u);
  EXPECT_FALSE(all[1].has_spikes);
  EXPECT_EQ(select_populations(reader, {"Q", "P", "Q"}).size(), 2u);
  try {
    select_populations(reader, {"X"});
    ADD_FAILURE() << "no error for an unknown population";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("s.h5: no population 'X'; it has P, Q"));
  }
}

// --- the command ------------------------------------------------------------------------------

struct CommandResult {
  int status;
  std::string out, err;
};

CommandResult run_snnsim(const std::string& arguments, const fs::path& folder) {
  const fs::path err = folder / "stderr.txt";
  const std::string command = std::string(SNNSIM_BINARY) + " " + arguments + " 2>" + err.string();
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    out.append(buffer.data(), n);
  const int status = pclose(pipe);
  std::ifstream in(err);
  std::string error((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, error};
}

class TraceSummaryCommand : public TraceSummary {
 protected:
  CommandResult summary(const std::string& arguments) {
    return run_snnsim("trace summary " + arguments, path(""));
  }
  /// A failing summary: exit 1 and one line on stderr, prefixed and naming the file.
  std::string failure(const fs::path& file, const std::string& options = "") {
    const CommandResult r = summary(file.string() + options);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_THAT(r.err, ::testing::StartsWith("snnsim trace summary: " + file.string() + ": "));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    return r.err;
  }
};

TEST_F(TraceSummaryCommand, CobaExampleSummaryMatchesItsSpikes) {
  const std::string trace = path("coba.h5").string();
  const CommandResult run = run_snnsim(
      "run " SNNSIM_SOURCE_DIR "/examples/coba.json --duration 200ms -q -o " + trace, path(""));
  ASSERT_EQ(run.status, 0) << run.err;

  const CommandResult r = summary(trace + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["trace"]["kind"], "population");
  EXPECT_DOUBLE_EQ(j["trace"]["dt_s"].get<double>(), 1e-4);
  EXPECT_EQ(j["trace"]["steps"], 2000);
  EXPECT_EQ(j["trace"]["seed"], 1);
  EXPECT_EQ(j["trace"]["complete"], true);
  EXPECT_DOUBLE_EQ(j["bin_s"].get<double>(), 0.005);

  // Counts and mean rates agree with the spikes read back whole.
  const TraceReader reader(trace);
  std::set<std::string> names;
  for (const json& p : j["populations"]) {
    const std::string name = p["name"];
    names.insert(name);
    const TraceSpikes spikes = reader.read_spikes(name);
    const double neurons = reader.population_size(name);
    EXPECT_EQ(p["neurons"], reader.population_size(name));
    EXPECT_EQ(p["spikes"], spikes.steps.size()) << name;
    EXPECT_NEAR(p["rate_hz"]["mean"].get<double>(), spikes.steps.size() / neurons / 0.2, 1e-9);
    std::set<NeuronIndex> active(spikes.indices.begin(), spikes.indices.end());
    EXPECT_NEAR(p["silent_fraction"].get<double>(), 1.0 - active.size() / neurons, 1e-12);
    EXPECT_EQ(p["bins"], 40);
    EXPECT_TRUE(p["cv_isi"]["mean"].is_number()) << name;
    EXPECT_TRUE(p["fano"]["mean"].is_number()) << name;
    EXPECT_TRUE(p["synchrony_chi2"].is_number()) << name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"E", "I"}));

  const CommandResult table = summary(trace + " -P I --bin 10ms");
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("spike counts in 20 bins of 10 ms"));
  EXPECT_THAT(table.out, HasSubstr("\nI "));
  EXPECT_THAT(table.out, ::testing::Not(HasSubstr("\nE ")));
  EXPECT_TRUE(table.err.empty()) << table.err;  // no progress off a terminal
}

TEST_F(TraceSummaryCommand, LayerGraphSummaryHasRatesPerTimestepAndEnergy) {
  const std::string trace = path("conv.h5").string();
  const CommandResult run =
      run_snnsim("infer " SNNSIM_SOURCE_DIR "/examples/conv-snn.json --input " SNNSIM_SOURCE_DIR
                 "/examples/data/conv-snn-input.npy -q -o " +
                     trace,
                 path(""));
  ASSERT_EQ(run.status, 0) << run.err;
  const CommandResult r = summary(trace + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["trace"]["kind"], "layer_graph");
  EXPECT_EQ(j["trace"]["steps"], 16);

  const TraceReader reader(trace);
  double energy = 0;
  bool spiking_layer = false;
  for (const json& layer : j["layers"]) {
    const std::string name = layer["name"];
    EXPECT_EQ(layer["op"], reader.population_attribute_string(name, "op"));
    energy += layer["energy_pj"].get<double>();
    if (!layer["spiking"].get<bool>()) {
      EXPECT_TRUE(layer["firing_rate"].is_null()) << name;
      continue;
    }
    spiking_layer = true;
    // The whole trace's rate is the one `snnsim infer` stored; the per-timestep rates average to
    // it.
    const double rate = layer["firing_rate"];
    EXPECT_NEAR(rate, reader.population_attribute_double(name, "firing_rate"), 1e-12) << name;
    const std::vector<double> per_step = layer["timestep_firing_rates"];
    ASSERT_EQ(per_step.size(), 16u);
    double sum = 0;
    for (double x : per_step)
      sum += x;
    EXPECT_NEAR(sum / 16, rate, 1e-12) << name;
  }
  EXPECT_TRUE(spiking_layer);
  EXPECT_NEAR(j["totals"]["energy_pj"].get<double>(), energy, 1e-6 * energy);
  EXPECT_GT(energy, 0);

  const CommandResult window = summary(trace + " --from 4 --to 8 --json");
  ASSERT_EQ(window.status, 0) << window.err;
  // A named value: a range-for over a member of a temporary reads it after it is destroyed.
  const json windowed = json::parse(window.out);
  for (const json& layer : windowed["layers"]) {
    if (layer["spiking"].get<bool>()) {
      EXPECT_EQ(layer["timestep_firing_rates"].size(), 4u);
    }
  }

  const CommandResult table = summary(trace);
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("firing rate per timestep"));
  EXPECT_THAT(table.out, HasSubstr("energy uJ"));
}

TEST_F(TraceSummaryCommand, BadFilesGiveOneLineErrors) {
  EXPECT_THAT(failure(path("absent.h5")), HasSubstr("no such file"));
  std::ofstream(path("text.h5")) << "this is not HDF5\n";
  EXPECT_THAT(failure(path("text.h5")), HasSubstr("not an HDF5 file"));
  H5Fclose(H5Fcreate(path("foreign.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  EXPECT_THAT(failure(path("foreign.h5")), HasSubstr("not a snnsim trace"));

  // 400,000 random spikes: compressed chunks fill most of the file.
  write_trace(path("good.h5"), 1000, 200'000, poisson_trains(1000, 200'000, 20.0, 5));
  ASSERT_EQ(summary(path("good.h5").string()).status, 0);
  const auto size = fs::file_size(path("good.h5"));

  fs::copy_file(path("good.h5"), path("truncated.h5"));
  fs::resize_file(path("truncated.h5"), size / 2);
  EXPECT_THAT(failure(path("truncated.h5")), HasSubstr("truncated"));

  // Garbage over the middle of the file, where the compressed spikes are.
  fs::copy_file(path("good.h5"), path("damaged.h5"));
  {
    std::fstream file(path("damaged.h5"), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size / 2));
    const std::string garbage(4096, '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  EXPECT_THAT(failure(path("damaged.h5")), HasSubstr("damaged"));

  EXPECT_THAT(failure(path("good.h5"), " -P X"), HasSubstr("no population 'X'; it has P, Q"));
}

TEST_F(TraceSummaryCommand, BadCommandLinesExitTwo) {
  for (const char* arguments : {"", "a.h5 b.h5", "a.h5 --bin 0ms", "a.h5 --bin fast", "--nope"}) {
    const CommandResult r = summary(arguments);
    EXPECT_EQ(r.status, 2) << arguments;
    EXPECT_THAT(r.err, ::testing::StartsWith("snnsim trace summary: ")) << arguments;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  const CommandResult help = summary("--help");
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("usage: snnsim trace summary TRACE.h5"));
  EXPECT_THAT(help.out, HasSubstr("--bin"));
}

}  // namespace
}  // namespace snnsim::analysis
