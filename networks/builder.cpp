#include "networks/builder.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "encoders/external_drive.h"
#include "networks/connectivity_rules.h"
#include "networks/network_file.h"

namespace snnsim {
namespace {

Step to_step(double t_ms, double dt_ms) {
  return static_cast<Step>(std::llround(t_ms / dt_ms));
}

void draw_initial_values(const PopulationSpec& spec, std::uint64_t seed,
                         const std::filesystem::path& base_directory, Population& population) {
  for (const auto& [variable, value] : spec.initial) {
    const std::span<float> state = population.dynamics->state(variable);
    if (value.kind == ValueSpec::Kind::list || value.kind == ValueSpec::Kind::file) {
      const std::vector<double> values = read_listed_values(value, spec.size, base_directory);
      std::copy_n(values.begin() + population.first, state.size(), state.begin());
      continue;
    }
    // One stream per (population, variable), indexed by neuron: a neuron's initial value does not
    // depend on the population's size or on other variables.
    const RandomStream stream = RandomStream::make(
        seed, "initial:" + spec.name + ":" + std::string(spec.model->state[variable].name));
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < state.size(); ++i) {
      RandomSequence draws(stream, static_cast<NeuronIndex>(population.first + i));
      state[i] = static_cast<float>(draw_value(value, draws));
    }
  }
}

std::unique_ptr<ExternalDrive> make_drive(const DriveSpec& d, const NetworkSpec& spec) {
  switch (d.kind) {
    case DriveSpec::Kind::poisson:
      return std::make_unique<PoissonDrive>(d.population, d.receptor, d.rate_hz,
                                            static_cast<float>(d.weight), spec.dt_ms,
                                            RandomStream::make(spec.seed, d.name));
    case DriveSpec::Kind::spike_times: {
      std::vector<Step> steps;
      for (double t : d.times_ms)
        steps.push_back(to_step(t, spec.dt_ms));
      return std::make_unique<SpikeTimesDrive>(d.population, d.receptor, std::move(steps),
                                               static_cast<float>(d.weight));
    }
    case DriveSpec::Kind::current: {
      std::vector<Step> steps;
      for (double t : d.times_ms)
        steps.push_back(to_step(t, spec.dt_ms));
      return std::make_unique<CurrentDrive>(
          d.population, std::move(steps),
          std::vector<float>(d.amplitudes_pa.begin(), d.amplitudes_pa.end()));
    }
  }
  return nullptr;
}

bool per_element(const ValueSpec& value) {
  return value.kind != ValueSpec::Kind::constant;
}

double synapse_bytes(const ProjectionSpec& p) {
  // Target index, plus weight and delay when they differ between synapses; rules that generate
  // rows hold a second copy of the targets while assembling them.
  const bool generated = p.connectivity.rule != ConnectionRule::explicit_list &&
                         p.connectivity.rule != ConnectionRule::file;
  return 4.0 * (generated ? 2 : 1) + (per_element(p.weight) ? 4 : 0) +
         (per_element(p.delay) ? 2 : 0);
}

std::string gigabytes(double bytes) {
  std::ostringstream out;
  out.precision(3);
  out << bytes / 1e9 << " GB";
  return out.str();
}

}  // namespace

double expected_synapses(const ProjectionSpec& p, double sources, double targets) {
  const ConnectivitySpec& c = p.connectivity;
  switch (c.rule) {
    case ConnectionRule::all_to_all:
      return sources * targets;
    case ConnectionRule::one_to_one:
      return sources;
    case ConnectionRule::fixed_probability:
      return c.probability * sources * targets;
    case ConnectionRule::fixed_indegree:
      return static_cast<double>(c.degree) * targets;
    case ConnectionRule::fixed_outdegree:
      return static_cast<double>(c.degree) * sources;
    case ConnectionRule::explicit_list:
      return static_cast<double>(c.sources.size());
    case ConnectionRule::file:
      return 0;
  }
  return 0;
}

MemoryEstimate estimate_memory(const NetworkSpec& spec) {
  MemoryEstimate estimate;
  for (const PopulationSpec& p : spec.populations) {
    // State variables, and two ring slots per receptor (more with longer delays).
    estimate.bytes +=
        4.0 * p.size * (p.model->state.size() + 2 * p.model->receptors.size()) + p.size;
  }
  for (const ProjectionSpec& p : spec.projections) {
    const double synapses =
        expected_synapses(p, spec.populations[p.source].size, spec.populations[p.target].size);
    estimate.synapses += synapses;
    estimate.bytes += synapses * synapse_bytes(p) + 8.0 * spec.populations[p.source].size;
    if (estimate.largest == nullptr || synapses > estimate.largest_synapses) {
      estimate.largest = &p;
      estimate.largest_synapses = synapses;
    }
  }
  return estimate;
}

MemoryEstimate check_memory(const NetworkSpec& spec) {
  const double available = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  const MemoryEstimate estimate = estimate_memory(spec);
  if (estimate.bytes <= 0.9 * available) return estimate;
  std::ostringstream message;
  message << (estimate.largest ? estimate.largest->where : spec.path)
          << ": the network needs about " << gigabytes(estimate.bytes) << " (" << estimate.synapses
          << " synapses";
  if (estimate.largest) {
    message << ", " << estimate.largest_synapses << " of them in projection '"
            << estimate.largest->name << "'";
  }
  message << ") but this machine has " << gigabytes(available) << " of memory";
  throw NetworkFileError(message.str());
}

Network build_network(const NetworkSpec& spec, const std::atomic<bool>* stop, Partition partition) {
  check_memory(spec);
  Network network;
  network.dt_ms = spec.dt_ms;
  network.duration_ms = spec.duration_ms;
  network.seed = spec.seed;
  network.source_path = spec.path;
  network.source_text = spec.text;
  const std::filesystem::path base_directory = std::filesystem::path(spec.path).parent_path();

  for (const PopulationSpec& p : spec.populations) {
    const NeuronIndex first = partition.first(p.size), end = partition.end(p.size);
    PopulationData data;
    if (!p.data.spike_steps.empty()) {
      data.spike_steps.assign(p.data.spike_steps.begin() + first, p.data.spike_steps.begin() + end);
    }
    const PopulationSetup setup{
        p.name,         end - first, first,
        p.parameters,   spec.dt_ms,  RandomStream::make(spec.seed, "population:" + p.name),
        std::move(data)};
    Population population{p.name, p.model, p.model->create(setup), first, p.size};
    draw_initial_values(p, spec.seed, base_directory, population);
    network.populations.push_back(std::move(population));
  }
  for (const ProjectionSpec& p : spec.projections) {
    if (stop != nullptr && stop->load()) throw BuildInterrupted();
    const SynapseBuildContext context{spec.populations[p.source].size,
                                      spec.populations[p.target].size,
                                      partition,
                                      p.source == p.target,
                                      spec.seed,
                                      spec.dt_ms,
                                      base_directory,
                                      stop};
    network.projections.push_back(
        {p.name, p.source, p.target, p.receptor, build_synapses(p, context)});
  }
  for (const DriveSpec& d : spec.drives)
    network.drives.push_back(make_drive(d, spec));
  network.record_spikes = spec.record_spikes;
  network.probes = spec.probes;
  return network;
}

}  // namespace snnsim
