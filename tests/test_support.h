#pragma once
// Helpers for tests that assemble small networks by hand and capture what a run produces.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sim/backend.h"
#include "sim/cpu_backend.h"
#include "sim/network.h"
#include "sim/trace_writer.h"

namespace snnsim::testing {

/// The bytes of the file at `path` (empty if it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

#ifdef SNNSIM_BINARY
struct CommandResult {
  int status;
  std::string output;  ///< stdout and stderr
};

/// Runs the shell command line `command`; returns its exit status and its output, stderr
/// included.
inline CommandResult run_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

/// Runs the snnsim binary with `arguments` (a shell command line), as run_command does.
inline CommandResult run_snnsim(const std::string& arguments) {
  return run_command(std::string(SNNSIM_BINARY) + " " + arguments);
}
#endif

/// A population of a trace (what aggregate initialisation would give, without GCC's warning about
/// the layer-graph members left out).
inline TracePopulationSpec trace_population(std::string name, NeuronIndex size, bool record_spikes,
                                            std::vector<StateProbeSpec> probes = {}) {
  TracePopulationSpec spec;
  spec.name = std::move(name);
  spec.size = size;
  spec.record_spikes = record_spikes;
  spec.probes = std::move(probes);
  return spec;
}

/// A fixture with a fresh temporary folder per test, removed afterwards.
class TemporaryFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("snnsim-test-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  /// `name` inside the folder.
  std::filesystem::path path(const std::string& name) const { return folder_ / name; }

 private:
  std::filesystem::path folder_;
};

/// A temporary folder for tests that run the snnsim binary: paths as strings, files written whole.
class CommandLineTest : public TemporaryFolderTest {
 protected:
  std::string path(const std::string& name) const {
    return TemporaryFolderTest::path(name).string();
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
  }
};

/// Adds a population of `model` with its default parameters changed by `parameters`.
inline std::size_t add_population(Network& network, const std::string& name,
                                  const std::string& model_name, NeuronIndex size,
                                  const std::map<std::string, double>& parameters = {},
                                  PopulationData data = {}) {
  const NeuronModelInfo* model = find_neuron_model(model_name);
  PopulationSetup setup{
      name, size, 0, {}, network.dt_ms, RandomStream::make(network.seed, name), std::move(data)};
  for (const ParameterSpec& p : model->parameters)
    setup.parameters.push_back(p.default_value);
  for (const auto& [key, value] : parameters)
    setup.parameters.at(model->parameter_index(key)) = value;
  network.populations.push_back({name, model, model->create(setup), 0, size});
  network.record_spikes.push_back(true);
  return network.populations.size() - 1;
}

/// A projection with explicit synapses, all of weight `weight` and delay `delay_steps`.
inline void add_projection(Network& network, std::size_t source, std::size_t target,
                           const std::string& receptor, std::vector<NeuronIndex> sources,
                           std::vector<NeuronIndex> targets, float weight,
                           std::uint16_t delay_steps) {
  SynapseList list{std::move(sources), std::move(targets), {}, {}};
  Connectivity c = connectivity_from_list(std::move(list), network.populations[source].size(),
                                          network.populations[target].size());
  c.weight = weight;
  c.delay = delay_steps;
  const int r = network.populations[target].model->receptor_index(receptor);
  network.projections.push_back(
      {"p" + std::to_string(network.projections.size()), source, target, r, std::move(c)});
}

/// `text` with `edits` random one-character edits (replace, erase or insert a character of
/// `alphabet`), for robustness tests of file readers.
inline std::string mutated(std::string text, int edits, const std::string& alphabet,
                           std::mt19937& random) {
  for (int edit = 0; edit < edits; ++edit) {
    const std::size_t at = random() % text.size();
    switch (random() % 3) {
      case 0:
        text[at] = alphabet[random() % alphabet.size()];
        break;
      case 1:
        text.erase(at, 1);
        break;
      default:
        text.insert(at, 1, alphabet[random() % alphabet.size()]);
    }
  }
  return text;
}

/// Everything a run reports, kept in memory.
struct Recording : RunObserver {
  /// spikes[population] = (step, neuron) in report order.
  std::vector<std::vector<std::pair<Step, NeuronIndex>>> spikes;
  /// samples[probe] = rows in step order.
  std::vector<std::vector<std::vector<float>>> samples;

  void on_step(Step step, std::span<const std::span<const NeuronIndex>> per_population) override {
    spikes.resize(per_population.size());
    for (std::size_t p = 0; p < per_population.size(); ++p) {
      for (NeuronIndex i : per_population[p])
        spikes[p].emplace_back(step, i);
    }
  }
  void on_state(Step, std::size_t probe, std::span<const float> values) override {
    if (samples.size() <= probe) samples.resize(probe + 1);
    samples[probe].emplace_back(values.begin(), values.end());
  }
};

/// Runs `network` for `steps` steps on the CPU backend with `threads` threads.
inline Recording run_steps(Network& network, Step steps, int threads = 1) {
  Recording recording;
  CpuBackend backend(network, threads);
  backend.run(0, steps, recording);
  recording.spikes.resize(network.populations.size());
  return recording;
}

}  // namespace snnsim::testing
