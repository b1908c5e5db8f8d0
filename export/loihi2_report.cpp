// The quantised network written as a network file, and the float-versus-fixed spike comparison.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "export/loihi2.h"
#include "networks/builder.h"
#include "networks/network_file.h"
#include "sim/backend.h"
#include "sim/units.h"

namespace snnsim::hardware {
namespace {

using nlohmann::ordered_json;

std::string with_unit(double value, Dimension dimension) {
  char text[40];
  // The shortest text that reads back as the same double.
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  const std::string number(text, end);
  const std::string_view unit = canonical_unit(dimension);
  return unit.empty() ? number : number + " " + std::string(unit);
}

ValueSpec constant(double x) {
  ValueSpec v;
  v.value = x;
  return v;
}

/// A per-neuron or per-synapse value in the file's notation. Dimensionless values are bare
/// numbers; the rest carry their canonical unit.
ordered_json value_json(const ValueSpec& v, Dimension dimension) {
  auto scalar = [&](double x) -> ordered_json {
    if (dimension == Dimension::dimensionless) return x;
    return with_unit(x, dimension);
  };
  switch (v.kind) {
    case ValueSpec::Kind::constant:
      return scalar(v.value);
    case ValueSpec::Kind::uniform:
      return {{"uniform", {{"low", scalar(v.low)}, {"high", scalar(v.high)}}}};
    case ValueSpec::Kind::normal:
      return {{"normal", {{"mean", scalar(v.mean)}, {"std", scalar(v.std)}}}};
    case ValueSpec::Kind::list: {
      ordered_json j = {{"values", v.values}};
      if (dimension != Dimension::dimensionless) j["unit"] = std::string(canonical_unit(dimension));
      return j;
    }
    case ValueSpec::Kind::file:
      break;
  }
  throw NetworkFileError(v.where + ": values read from a file cannot be written back; list them");
}

/// Whether a name must be written: not when it is the default the file reader gives (which keeps
/// the random streams it keys), nor when it has characters a file's names may not (a default name
/// of a network whose inputs were renumbered; its stream then differs).
bool writable_name(const std::string& name, const std::string& default_name) {
  if (name == default_name) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

ordered_json connectivity_json(const ConnectivitySpec& c) {
  ordered_json j;
  switch (c.rule) {
    case ConnectionRule::all_to_all:
      j = {{"rule", "all_to_all"}};
      break;
    case ConnectionRule::one_to_one:
      return {{"rule", "one_to_one"}};
    case ConnectionRule::fixed_probability:
      j = {{"rule", "fixed_probability"}, {"p", c.probability}};
      break;
    case ConnectionRule::fixed_indegree:
    case ConnectionRule::fixed_outdegree: {
      const bool in = c.rule == ConnectionRule::fixed_indegree;
      j = {{"rule", in ? "fixed_indegree" : "fixed_outdegree"},
           {in ? "indegree" : "outdegree", c.degree},
           {"allow_multapses", c.allow_multapses}};
      break;
    }
    case ConnectionRule::explicit_list:
      return {{"rule", "explicit"}, {"sources", c.sources}, {"targets", c.targets}};
    case ConnectionRule::file:
      return {{"rule", "file"},
              {"file", c.file},
              {"sources", c.sources_dataset},
              {"targets", c.targets_dataset}};
  }
  j["allow_autapses"] = c.allow_autapses;
  return j;
}

ordered_json population_json(const NetworkSpec& spec, const PopulationSpec& p) {
  ordered_json j = {{"name", p.name}, {"model", std::string(p.model->name)}, {"size", p.size}};
  ordered_json parameters = ordered_json::object();
  for (std::size_t k = 0; k < p.model->parameters.size(); ++k) {
    const ParameterSpec& spec_k = p.model->parameters[k];
    if (!spec_k.choices.empty()) {
      parameters[std::string(spec_k.name)] =
          std::string(spec_k.choices[static_cast<std::size_t>(p.parameters[k])]);
    } else {
      parameters[std::string(spec_k.name)] =
          value_json(constant(p.parameters[k]), spec_k.dimension);
    }
  }
  j["parameters"] = parameters;
  if (!p.initial.empty()) {
    ordered_json initial = ordered_json::object();
    for (const auto& [variable, value] : p.initial)
      initial[std::string(p.model->state[variable].name)] =
          value_json(value, p.model->state[variable].dimension);
    j["initial"] = initial;
  }
  if (!p.data.spike_steps.empty()) {
    ordered_json times = ordered_json::array();
    for (const std::vector<Step>& steps : p.data.spike_steps) {
      ordered_json neuron = ordered_json::array();
      for (Step s : steps)
        neuron.push_back(static_cast<double>(s) * spec.dt_ms);
      times.push_back(neuron);
    }
    j["spike_times"] = {{"unit", "ms"}, {"values", times}};
  }
  return j;
}

}  // namespace

std::string network_file_text(const NetworkSpec& spec, const std::string& description) {
  ordered_json j = {{"format", "snnsim-network"}, {"version", 1}, {"description", description}};
  j["simulation"] = {{"dt", with_unit(spec.dt_ms, Dimension::time)},
                     {"duration", with_unit(spec.duration_ms, Dimension::time)},
                     {"seed", spec.seed}};
  ordered_json populations = ordered_json::array();
  for (const PopulationSpec& p : spec.populations)
    populations.push_back(population_json(spec, p));
  j["populations"] = populations;
  ordered_json projections = ordered_json::array();
  for (const ProjectionSpec& projection : spec.projections) {
    const PopulationSpec& target = spec.populations[projection.target];
    const ReceptorSpec& receptor = target.model->receptors[projection.receptor];
    ordered_json entry = ordered_json::object();
    const std::string source = spec.populations[projection.source].name;
    if (writable_name(projection.name,
                      source + "->" + target.name + ":" + std::string(receptor.name)))
      entry["name"] = projection.name;
    entry.update(ordered_json{{"source", source},
                              {"target", target.name},
                              {"receptor", std::string(receptor.name)},
                              {"connectivity", connectivity_json(projection.connectivity)},
                              {"weight", value_json(projection.weight, receptor.weight_dimension)},
                              {"delay", value_json(projection.delay, Dimension::time)}});
    projections.push_back(entry);
  }
  j["projections"] = projections;
  ordered_json inputs = ordered_json::array();
  for (const DriveSpec& drive : spec.drives) {
    const PopulationSpec& target = spec.populations[drive.population];
    ordered_json input = ordered_json::object();
    if (writable_name(drive.name, "input:" + std::to_string(inputs.size()) + ":" + target.name))
      input["name"] = drive.name;
    input["target"] = target.name;
    if (drive.kind == DriveSpec::Kind::current) {
      input["type"] = "current";
      std::vector<std::string> times, amplitudes;
      for (double t : drive.times_ms)
        times.push_back(with_unit(t, Dimension::time));
      for (double a : drive.amplitudes_pa)
        amplitudes.push_back(with_unit(a, Dimension::current));
      input["times"] = times;
      input["amplitudes"] = amplitudes;
    } else {
      const ReceptorSpec& receptor = target.model->receptors[drive.receptor];
      input["receptor"] = std::string(receptor.name);
      input["weight"] = value_json(constant(drive.weight), receptor.weight_dimension);
      if (drive.kind == DriveSpec::Kind::poisson) {
        input["type"] = "poisson";
        input["rate"] = with_unit(drive.rate_hz, Dimension::frequency);
      } else {
        input["type"] = "spike_times";
        input["times"] = {{"unit", "ms"}, {"values", drive.times_ms}};
      }
    }
    inputs.push_back(input);
  }
  if (!inputs.empty()) j["inputs"] = inputs;
  ordered_json spikes = ordered_json::array();
  for (std::size_t p = 0; p < spec.populations.size(); ++p)
    if (spec.record_spikes[p]) spikes.push_back(spec.populations[p].name);
  ordered_json state = ordered_json::array();
  for (const StateProbe& probe : spec.probes) {
    const PopulationSpec& p = spec.populations[probe.population];
    state.push_back({{"population", p.name},
                     {"variables", {std::string(p.model->state[probe.variable].name)}},
                     {"neurons", probe.neurons},
                     {"interval", with_unit(probe.interval_steps * spec.dt_ms, Dimension::time)}});
  }
  j["recording"] = {{"spikes", spikes}};
  if (!state.empty()) j["recording"]["state"] = state;
  return j.dump(2) + "\n";
}

namespace {

/// Every spike of a run: per population, per step, the neurons (ascending); and the mean of each
/// state probe's samples.
class SpikeLog final : public RunObserver {
 public:
  SpikeLog(std::size_t populations, Step steps, std::size_t probes)
      : by_step(populations, std::vector<std::vector<NeuronIndex>>(steps)),
        state_sum(probes, 0.0),
        state_samples(probes, 0) {}
  void on_step(Step step, std::span<const std::span<const NeuronIndex>> spikes) override {
    for (std::size_t p = 0; p < spikes.size(); ++p)
      by_step[p][step].assign(spikes[p].begin(), spikes[p].end());
  }
  void on_state(Step, std::size_t probe, std::span<const float> values) override {
    for (float x : values)
      state_sum[probe] += x;
    state_samples[probe] += values.size();
  }
  std::uint64_t spikes(std::size_t population) const {
    std::uint64_t n = 0;
    for (const std::vector<NeuronIndex>& step : by_step[population])
      n += step.size();
    return n;
  }
  std::vector<std::vector<std::vector<NeuronIndex>>> by_step;
  std::vector<double> state_sum;
  std::vector<std::uint64_t> state_samples;
};

SpikeLog run_spikes(const NetworkSpec& spec, int threads) {
  Network network = build_network(spec);
  // Every population is observed, recorded or not: the comparison needs all spikes.
  const Step steps = network.steps();
  SpikeLog log(network.populations.size(), steps, network.probes.size());
  std::unique_ptr<Backend> backend = make_backend(BackendKind::cpu, network, threads);
  backend->run(0, steps, log);
  return log;
}

/// The spikes of `run` against those of `reference`, population by population.
std::vector<PopulationDeviation> compare(const NetworkSpec& spec, const SpikeLog& reference,
                                         const SpikeLog& run) {
  const double seconds = spec.duration_ms * 1e-3;
  std::vector<PopulationDeviation> result;
  for (std::size_t p = 0; p < spec.populations.size(); ++p) {
    PopulationDeviation d;
    d.name = spec.populations[p].name;
    d.size = spec.populations[p].size;
    const auto& reference_by_step = reference.by_step[p];
    const auto& run_by_step = run.by_step[p];
    const Step steps = static_cast<Step>(std::min(reference_by_step.size(), run_by_step.size()));
    // Reference spike steps of each neuron, for the +-1 step match.
    std::vector<std::vector<Step>> reference_steps(d.size);
    for (Step s = 0; s < steps; ++s) {
      d.reference_spikes += reference_by_step[s].size();
      d.spikes += run_by_step[s].size();
      for (NeuronIndex i : reference_by_step[s])
        reference_steps[i].push_back(s);
      if (d.first_divergence_step < 0 && reference_by_step[s] != run_by_step[s])
        d.first_divergence_step = s;
    }
    std::uint64_t matched = 0;
    for (Step s = 0; s < steps; ++s) {
      for (NeuronIndex i : run_by_step[s]) {
        const std::vector<Step>& t = reference_steps[i];
        auto it = std::lower_bound(t.begin(), t.end(), s == 0 ? 0 : s - 1);
        if (it != t.end() && *it <= s + 1) ++matched;
      }
    }
    d.matched_within_one_step = d.spikes == 0 ? 0.0 : static_cast<double>(matched) / d.spikes;
    d.reference_rate_hz = d.reference_spikes / (seconds * d.size);
    d.rate_hz = d.spikes / (seconds * d.size);
    d.relative_difference = d.reference_spikes == 0
                                ? (d.spikes == 0 ? 0.0 : 1.0)
                                : (static_cast<double>(d.spikes) - d.reference_spikes) /
                                      static_cast<double>(d.reference_spikes);
    result.push_back(d);
  }
  return result;
}

}  // namespace

OperatingPoint measure_operating_point(const NetworkSpec& spec, int threads) {
  // v of every neuron every millisecond: the mean converges long before the sampling matters.
  NetworkSpec probed = spec;
  probed.probes.clear();
  const std::uint64_t interval = std::max<std::uint64_t>(1, std::llround(1.0 / spec.dt_ms));
  std::vector<std::size_t> probe_of(spec.populations.size(), spec.populations.size());
  for (std::size_t p = 0; p < spec.populations.size(); ++p) {
    const int v = spec.populations[p].model->state_index("v");
    if (v < 0) continue;
    StateProbe probe{p, v, {}, interval};
    for (NeuronIndex i = 0; i < spec.populations[p].size; ++i)
      probe.neurons.push_back(i);
    probe_of[p] = probed.probes.size();
    probed.probes.push_back(probe);
  }
  const SpikeLog log = run_spikes(probed, threads);
  OperatingPoint point;
  for (std::size_t p = 0; p < spec.populations.size(); ++p) {
    point.rates_hz.push_back(log.spikes(p) / (spec.duration_ms * 1e-3 * spec.populations[p].size));
    const std::size_t k = probe_of[p];
    point.mean_v_mv.push_back(k < probed.probes.size() && log.state_samples[k] > 0
                                  ? log.state_sum[k] / log.state_samples[k]
                                  : std::numeric_limits<double>::quiet_NaN());
  }
  return point;
}

Loihi2Deviation compare_runs(const NetworkSpec& float_network, const NetworkSpec& mapped_network,
                             const NetworkSpec& fixed_network, int threads) {
  const SpikeLog original = run_spikes(float_network, threads);
  const SpikeLog mapped = run_spikes(mapped_network, threads);
  const SpikeLog fixed = run_spikes(fixed_network, threads);
  return {compare(float_network, original, mapped), compare(float_network, mapped, fixed)};
}

}  // namespace snnsim::hardware
