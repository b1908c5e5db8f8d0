#include "networks/network_file.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "networks/json_node.h"
#include "networks/quantity.h"
#include "sim/limits.h"
#include "sim/random.h"

namespace snnsim {
namespace {

using nlohmann::json;

std::vector<std::string> names_of(const auto& specs) {
  std::vector<std::string> names;
  for (const auto& spec : specs)
    names.emplace_back(spec.name);
  return names;
}

ValueSpec parse_value(const Node& node, Dimension dimension, bool allow_lists) {
  ValueSpec spec;
  spec.where = node.where();
  if (!node.value().is_object()) {
    spec.value = node.quantity(dimension);
    return spec;
  }
  std::string kind;
  for (const char* candidate : {"uniform", "normal", "values", "file"}) {
    if (node.has(candidate)) kind = candidate;
  }
  if (kind.empty()) {
    node.fail(
        "expected a value or one of {\"uniform\": ...}, {\"normal\": ...}, "
        "{\"values\": ..., \"unit\": ...}, {\"file\": ..., \"dataset\": ..., \"unit\": ...}; "
        "found keys " +
        node.value().begin().key() + (node.size() > 1 ? ", ..." : ""));
  }
  if (kind == "uniform") {
    node.allow_keys({"uniform"});
    const Node body = node.at("uniform");
    body.allow_keys({"low", "high"});
    spec.kind = ValueSpec::Kind::uniform;
    spec.low = body.at("low").quantity(dimension);
    spec.high = body.at("high").quantity(dimension);
    if (!(spec.low <= spec.high)) body.at("high").fail("expected high >= low");
  } else if (kind == "normal") {
    node.allow_keys({"normal"});
    const Node body = node.at("normal");
    body.allow_keys({"mean", "std"});
    spec.kind = ValueSpec::Kind::normal;
    spec.mean = body.at("mean").quantity(dimension);
    spec.std = body.at("std").quantity(dimension);
    if (spec.std < 0) body.at("std").fail("expected a standard deviation >= 0");
  } else if (kind == "values" || kind == "file") {
    if (!allow_lists)
      node.fail(
          "a list or file of values needs one value per element; use a "
          "constant or a distribution here");
    node.allow_keys({kind == "values" ? "values" : "file", "dataset", "unit"});
    double factor = 1.0;
    if (dimension != Dimension::dimensionless || node.has("unit")) {
      const Node unit = node.at("unit");
      try {
        factor = unit_factor(unit.string(), dimension);
      } catch (const QuantityError& error) {
        unit.fail(error.what());
      }
    }
    if (kind == "values") {
      const Node values = node.at("values");
      values.require_array();
      spec.kind = ValueSpec::Kind::list;
      for (std::size_t i = 0; i < values.size(); ++i) {
        spec.values.push_back(values[i].quantity(Dimension::dimensionless) * factor);
      }
    } else {
      spec.kind = ValueSpec::Kind::file;
      spec.file = node.at("file").string();
      spec.dataset = node.at("dataset").string();
      spec.file_factor = factor;
    }
  }
  return spec;
}

/// Times in ms, written ["1 ms", "2.5 ms"] or {"unit": "ms", "values": [1, 2.5]}.
std::vector<double> parse_times(const Node& node) {
  std::vector<double> times;
  if (node.value().is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      times.push_back(node[i].quantity(Dimension::time));
  } else {
    const ValueSpec spec = parse_value(node, Dimension::time, true);
    if (spec.kind != ValueSpec::Kind::list) {
      node.fail("expected a list of times or {\"unit\": \"ms\", \"values\": [...]}");
    }
    times = spec.values;
  }
  for (double t : times) {
    if (t < 0) node.fail("expected times >= 0");
  }
  return times;
}

Step time_to_step(double t_ms, double dt_ms) {
  return static_cast<Step>(std::llround(t_ms / dt_ms));
}

class NetworkReader {
 public:
  NetworkReader(const json& root, std::string source, const LoadOptions& options)
      : root_(root), source_(std::move(source)), options_(options) {}

  NetworkSpec read() {
    const Node top(root_, "", source_, spec_.parameters);
    check_format(top, "population");
    top.allow_keys({"format", "version", "kind", "description", "parameters", "simulation",
                    "populations", "projections", "inputs", "recording"});
    if (top.has("description")) top.at("description").string();
    read_parameters(top);
    read_simulation(top);
    const Node populations = top.at("populations");
    populations.require_array();
    if (populations.size() == 0) populations.fail("expected at least one population");
    std::uint64_t neurons = 0;
    for (std::size_t i = 0; i < populations.size(); ++i) {
      read_population(populations[i]);
      neurons += spec_.populations.back().size;
      if (neurons > limits::kNeurons) {
        populations[i].at("size").fail("the populations so far have " + std::to_string(neurons) +
                                       " neurons, more than the limit of " +
                                       std::to_string(limits::kNeurons) +
                                       " (neuron indices are 32-bit)");
      }
    }
    if (top.has("projections")) {
      const Node projections = top.at("projections");
      projections.require_array();
      for (std::size_t i = 0; i < projections.size(); ++i)
        read_projection(projections[i]);
    }
    if (top.has("inputs")) {
      const Node inputs = top.at("inputs");
      inputs.require_array();
      for (std::size_t i = 0; i < inputs.size(); ++i)
        read_input(inputs[i]);
    }
    read_recording(top);
    return std::move(spec_);
  }

 private:
  void read_parameters(const Node& top) {
    json block = top.has("parameters") ? top.at("parameters").value() : json::object();
    if (!block.is_object()) top.at("parameters").require_object();
    try {
      spec_.parameters = evaluate_parameters(block, options_.parameter_overrides);
    } catch (const QuantityError& error) {
      throw NetworkFileError(source_ + ": /parameters: " + error.what());
    }
  }

  void read_simulation(const Node& top) {
    if (top.has("simulation")) {
      const Node simulation = top.at("simulation");
      simulation.allow_keys({"dt", "duration", "seed"});
      if (simulation.has("dt")) spec_.dt_ms = simulation.at("dt").quantity(Dimension::time);
      if (simulation.has("duration")) {
        spec_.duration_ms = simulation.at("duration").quantity(Dimension::time);
      }
      if (simulation.has("seed")) {
        spec_.seed = simulation.at("seed").whole_number(0, (1ull << 53), "a seed");
      }
      if (!(spec_.dt_ms > 0)) simulation.at("dt").fail("expected a time step > 0");
      if (spec_.duration_ms < 0) simulation.at("duration").fail("expected a duration >= 0");
    }
    spec_.dt_ms = options_.dt_ms.value_or(spec_.dt_ms);
    spec_.duration_ms = options_.duration_ms.value_or(spec_.duration_ms);
    spec_.seed = options_.seed.value_or(spec_.seed);
    check_step_count(top);
  }

  /// dt and duration, from the file or the command line, within the limits of sim/limits.h:
  /// a dt of "1e-30 ms" would otherwise pass and run for ever.
  void check_step_count(const Node& top) const {
    const auto place = [&](const char* key, const std::optional<double>& option) {
      if (option) return std::string(source_) + ": --" + key;
      const bool in_file = top.has("simulation") && top.at("simulation").has(key);
      return in_file ? top.at("simulation").at(key).where() : source_ + ": /simulation";
    };
    std::ostringstream message;
    if (spec_.dt_ms < limits::kSmallestDtMs) {
      message << place("dt", options_.dt_ms) << ": a time step of " << spec_.dt_ms
              << " ms is below the smallest, " << limits::kSmallestDtMs
              << " ms (float32 decay factors lose their leak below it)";
      throw NetworkFileError(message.str());
    }
    const double steps = spec_.duration_ms / spec_.dt_ms;
    if (steps > static_cast<double>(limits::kSteps)) {
      message << place("duration", options_.duration_ms) << ": a duration of " << spec_.duration_ms
              << " ms at dt = " << spec_.dt_ms << " ms is " << steps
              << " steps, more than the limit of " << limits::power_of_two(limits::kSteps);
      throw NetworkFileError(message.str());
    }
  }

  std::size_t population_by_name(const Node& node) const {
    const std::string name = node.string();
    for (std::size_t i = 0; i < spec_.populations.size(); ++i) {
      if (spec_.populations[i].name == name) return i;
    }
    node.fail("unknown population '" + name +
              "'; the network has: " + join(names_of(spec_.populations)));
  }

  int receptor_of(const Node& owner, std::size_t population) const {
    const NeuronModelInfo& model = *spec_.populations[population].model;
    const std::vector<std::string> receptors = names_of(model.receptors);
    if (receptors.empty()) {
      owner.fail("population '" + spec_.populations[population].name + "' (" +
                 std::string(model.name) + ") takes no input");
    }
    if (!owner.has("receptor")) {
      if (receptors.size() == 1) return 0;
      owner.fail("missing required key 'receptor': model " + std::string(model.name) +
                 " has receptors " + join(receptors));
    }
    return static_cast<int>(owner.at("receptor").choice(receptors));
  }

  void read_population(const Node& node) {
    node.allow_keys({"name", "model", "size", "parameters", "initial", "spike_times"});
    PopulationSpec population;
    population.where = node.where();
    population.name = node.at("name").string();
    check_name(node.at("name"), population.name);
    for (const auto& other : spec_.populations) {
      if (other.name == population.name)
        node.at("name").fail("duplicate population name '" + population.name + "'");
    }
    const Node model_node = node.at("model");
    population.model = find_neuron_model(model_node.string());
    if (population.model == nullptr) {
      model_node.fail("unknown neuron model '" + model_node.string() +
                      "'; available: " + join(names_of(neuron_models())));
    }
    const NeuronModelInfo& model = *population.model;
    population.size = static_cast<NeuronIndex>(
        node.at("size").whole_number(1, 0xFFFFFFFFull, "a population size"));

    for (const ParameterSpec& p : model.parameters)
      population.parameters.push_back(p.default_value);
    if (node.has("parameters")) {
      const Node parameters = node.at("parameters");
      parameters.require_object();
      for (const auto& [key, unused] : parameters.value().items()) {
        const int index = model.parameter_index(key);
        if (index < 0) {
          parameters.at(key).fail("unknown parameter '" + key + "' of model " +
                                  std::string(model.name) +
                                  "; it has: " + join(names_of(model.parameters)));
        }
        const ParameterSpec& p = model.parameters[index];
        population.parameters[index] = p.choices.empty()
                                           ? parameters.at(key).quantity(p.dimension)
                                           : static_cast<double>(parameters.at(key).choice(
                                                 {p.choices.begin(), p.choices.end()}));
      }
    }
    if (node.has("initial")) {
      const Node initial = node.at("initial");
      initial.require_object();
      for (const auto& [key, unused] : initial.value().items()) {
        const int index = model.state_index(key);
        if (index < 0) {
          initial.at(key).fail("unknown state variable '" + key + "' of model " +
                               std::string(model.name) +
                               "; it has: " + join(names_of(model.state)));
        }
        ValueSpec value = parse_value(initial.at(key), model.state[index].dimension, true);
        if (value.kind == ValueSpec::Kind::list && value.values.size() != population.size) {
          initial.at(key).fail("expected " + std::to_string(population.size) +
                               " values, one per neuron; found " +
                               std::to_string(value.values.size()));
        }
        population.initial.emplace_back(index, std::move(value));
      }
    }
    if (model.name == "spike_generator") {
      read_spike_times(node, population);
    } else if (node.has("spike_times")) {
      node.at("spike_times").fail("only spike_generator populations have spike times");
    }
    // The model's own checks (all problems at once), on a one-neuron instance.
    try {
      PopulationSetup setup{population.name, 1, 0, population.parameters, spec_.dt_ms, {}, {}};
      model.create(setup);
    } catch (const ParameterError& error) {
      (node.has("parameters") ? node.at("parameters") : node).fail(error.what());
    }
    spec_.populations.push_back(std::move(population));
  }

  void read_spike_times(const Node& node, PopulationSpec& population) {
    const Node times = node.at("spike_times");
    times.allow_keys({"unit", "values"});
    const Node lists = times.at("values");
    lists.require_array();
    if (lists.size() != population.size) {
      lists.fail("expected one list of times per neuron (" + std::to_string(population.size) +
                 "); found " + std::to_string(lists.size()));
    }
    double factor = 1.0;
    try {
      factor = unit_factor(times.at("unit").string(), Dimension::time);
    } catch (const QuantityError& error) {
      times.at("unit").fail(error.what());
    }
    for (std::size_t i = 0; i < lists.size(); ++i) {
      const Node list = lists[i];
      list.require_array();
      std::vector<Step> steps;
      for (std::size_t k = 0; k < list.size(); ++k) {
        const double t = list[k].quantity(Dimension::dimensionless) * factor;
        if (t < 0) list[k].fail("expected a time >= 0");
        steps.push_back(time_to_step(t, spec_.dt_ms));
      }
      population.data.spike_steps.push_back(std::move(steps));
    }
  }

  void read_projection(const Node& node) {
    node.allow_keys({"name", "source", "target", "receptor", "connectivity", "weight", "delay"});
    ProjectionSpec projection;
    projection.where = node.where();
    projection.source = population_by_name(node.at("source"));
    projection.target = population_by_name(node.at("target"));
    projection.receptor = receptor_of(node, projection.target);
    const NeuronModelInfo& target_model = *spec_.populations[projection.target].model;
    projection.name = node.has("name")
                          ? node.at("name").string()
                          : spec_.populations[projection.source].name + "->" +
                                spec_.populations[projection.target].name + ":" +
                                std::string(target_model.receptors[projection.receptor].name);
    if (node.has("name")) check_name(node.at("name"), projection.name);
    for (const auto& other : spec_.projections) {
      if (other.name == projection.name) {
        node.fail("two projections are called '" + projection.name +
                  "'; give one a \"name\" (names key their random streams)");
      }
    }
    projection.connectivity = read_connectivity(node.at("connectivity"), projection);
    const bool listed = projection.connectivity.rule == ConnectionRule::explicit_list ||
                        projection.connectivity.rule == ConnectionRule::file;
    projection.weight = parse_value(
        node.at("weight"), target_model.receptors[projection.receptor].weight_dimension, listed);
    if (node.has("delay")) {
      projection.delay = parse_value(node.at("delay"), Dimension::time, listed);
      check_delay(node.at("delay"), projection.delay);
    } else {
      projection.delay.value = spec_.dt_ms;
    }
    spec_.projections.push_back(std::move(projection));
  }

  void check_delay(const Node& node, const ValueSpec& delay) const {
    const double max_ms = 65535 * spec_.dt_ms;
    if (delay.kind == ValueSpec::Kind::constant && delay.value < 0.5 * spec_.dt_ms) {
      std::ostringstream message;
      message << "a delay of " << delay.value
              << " ms is shorter than one time step (dt = " << spec_.dt_ms
              << " ms); the minimum delay is one step";
      node.fail(message.str());
    }
    const double largest = delay.kind == ValueSpec::Kind::uniform ? delay.high
                           : delay.kind == ValueSpec::Kind::list && !delay.values.empty()
                               ? *std::max_element(delay.values.begin(), delay.values.end())
                               : delay.value;
    if (largest > max_ms) {
      node.fail("delays are limited to 65535 steps (" + std::to_string(max_ms) + " ms at this dt)");
    }
  }

  ConnectivitySpec read_connectivity(const Node& node, const ProjectionSpec& projection) {
    ConnectivitySpec c;
    node.require_object();
    const NeuronIndex n_source = spec_.populations[projection.source].size;
    const NeuronIndex n_target = spec_.populations[projection.target].size;
    c.rule = static_cast<ConnectionRule>(
        node.at("rule").choice({"all_to_all", "one_to_one", "fixed_probability", "fixed_indegree",
                                "fixed_outdegree", "explicit", "file"}));
    switch (c.rule) {
      case ConnectionRule::all_to_all:
        node.allow_keys({"rule", "allow_autapses"});
        break;
      case ConnectionRule::one_to_one:
        node.allow_keys({"rule"});
        if (n_source != n_target) {
          node.fail("one_to_one needs populations of equal size; found " +
                    std::to_string(n_source) + " and " + std::to_string(n_target));
        }
        break;
      case ConnectionRule::fixed_probability:
        node.allow_keys({"rule", "p", "allow_autapses"});
        c.probability = node.at("p").quantity(Dimension::dimensionless);
        if (!(c.probability >= 0 && c.probability <= 1))
          node.at("p").fail("expected a probability in [0, 1]");
        break;
      case ConnectionRule::fixed_indegree:
      case ConnectionRule::fixed_outdegree: {
        const bool in = c.rule == ConnectionRule::fixed_indegree;
        const char* key = in ? "indegree" : "outdegree";
        node.allow_keys({"rule", key, "allow_autapses", "allow_multapses"});
        if (node.has("allow_multapses")) c.allow_multapses = node.at("allow_multapses").boolean();
        const NeuronIndex pool = in ? n_source : n_target;
        c.degree = node.at(key).whole_number(
            0, c.allow_multapses ? 0xFFFFFFFFull : pool,
            c.allow_multapses ? "a degree" : "a degree without multapses");
        break;
      }
      case ConnectionRule::explicit_list: {
        node.allow_keys({"rule", "sources", "targets"});
        for (auto [key, size, list] : {std::tuple{"sources", n_source, &c.sources},
                                       std::tuple{"targets", n_target, &c.targets}}) {
          const Node indices = node.at(key);
          indices.require_array();
          for (std::size_t i = 0; i < indices.size(); ++i) {
            list->push_back(static_cast<NeuronIndex>(
                indices[i].whole_number(0, size - 1ull, "a neuron index")));
          }
        }
        if (c.sources.size() != c.targets.size()) {
          node.at("targets").fail("expected as many targets as sources (" +
                                  std::to_string(c.sources.size()) + "); found " +
                                  std::to_string(c.targets.size()));
        }
        break;
      }
      case ConnectionRule::file:
        node.allow_keys({"rule", "file", "sources", "targets"});
        c.file = node.at("file").string();
        c.sources_dataset = node.at("sources").string();
        c.targets_dataset = node.at("targets").string();
        break;
    }
    if (node.has("allow_autapses")) c.allow_autapses = node.at("allow_autapses").boolean();
    return c;
  }

  void read_input(const Node& node) {
    DriveSpec drive;
    node.require_object();
    drive.kind =
        static_cast<DriveSpec::Kind>(node.at("type").choice({"poisson", "spike_times", "current"}));
    drive.population = population_by_name(node.at("target"));
    drive.name = "input:" + std::to_string(spec_.drives.size()) + ":" +
                 spec_.populations[drive.population].name;
    const NeuronModelInfo& model = *spec_.populations[drive.population].model;
    switch (drive.kind) {
      case DriveSpec::Kind::poisson:
      case DriveSpec::Kind::spike_times: {
        const bool poisson = drive.kind == DriveSpec::Kind::poisson;
        node.allow_keys(
            {"type", "name", "target", "receptor", poisson ? "rate" : "times", "weight"});
        drive.receptor = receptor_of(node, drive.population);
        drive.weight = node.at("weight").quantity(model.receptors[drive.receptor].weight_dimension);
        if (poisson) {
          drive.rate_hz = node.at("rate").quantity(Dimension::frequency);
          if (drive.rate_hz < 0) node.at("rate").fail("expected a rate >= 0");
        } else {
          drive.times_ms = parse_times(node.at("times"));
        }
        break;
      }
      case DriveSpec::Kind::current:
        node.allow_keys({"type", "name", "target", "amplitude", "times", "amplitudes"});
        if (model.parameter_index("I_e") < 0) {
          node.at("target").fail("model " + std::string(model.name) + " takes no current input");
        }
        if (node.has("amplitude")) {
          if (node.has("times") || node.has("amplitudes")) {
            node.fail(
                "give either \"amplitude\" (a constant current) or \"times\" and \"amplitudes\"");
          }
          drive.times_ms = {0.0};
          drive.amplitudes_pa = {node.at("amplitude").quantity(Dimension::current)};
        } else {
          drive.times_ms = parse_times(node.at("times"));
          const Node amplitudes = node.at("amplitudes");
          amplitudes.require_array();
          for (std::size_t i = 0; i < amplitudes.size(); ++i) {
            drive.amplitudes_pa.push_back(amplitudes[i].quantity(Dimension::current));
          }
          if (drive.amplitudes_pa.size() != drive.times_ms.size()) {
            amplitudes.fail("expected one amplitude per time (" +
                            std::to_string(drive.times_ms.size()) + ")");
          }
          if (!std::is_sorted(drive.times_ms.begin(), drive.times_ms.end())) {
            node.at("times").fail("expected times in ascending order");
          }
        }
        break;
    }
    if (node.has("name")) {
      drive.name = node.at("name").string();
      check_name(node.at("name"), drive.name);
    }
    spec_.drives.push_back(std::move(drive));
  }

  void read_recording(const Node& top) {
    spec_.record_spikes.assign(spec_.populations.size(), true);
    if (!top.has("recording")) return;
    const Node recording = top.at("recording");
    recording.allow_keys({"spikes", "state"});
    if (recording.has("spikes")) {
      const Node spikes = recording.at("spikes");
      if (!(spikes.value().is_string() && spikes.value() == "all")) {
        spikes.require_array();
        spec_.record_spikes.assign(spec_.populations.size(), false);
        for (std::size_t i = 0; i < spikes.size(); ++i) {
          spec_.record_spikes[population_by_name(spikes[i])] = true;
        }
      }
    }
    if (!recording.has("state")) return;
    const Node state = recording.at("state");
    state.require_array();
    for (std::size_t i = 0; i < state.size(); ++i) {
      const Node entry = state[i];
      entry.allow_keys({"population", "variables", "neurons", "interval"});
      const std::size_t population = population_by_name(entry.at("population"));
      const PopulationSpec& pop = spec_.populations[population];
      std::vector<NeuronIndex> neurons;
      const Node neuron_list = entry.at("neurons");
      if (neuron_list.value().is_string() && neuron_list.value() == "all") {
        for (NeuronIndex n = 0; n < pop.size; ++n)
          neurons.push_back(n);
      } else {
        neuron_list.require_array();
        for (std::size_t k = 0; k < neuron_list.size(); ++k) {
          neurons.push_back(static_cast<NeuronIndex>(
              neuron_list[k].whole_number(0, pop.size - 1ull, "a neuron index of " + pop.name)));
        }
      }
      std::uint64_t interval = 1;
      if (entry.has("interval")) {
        const double ms = entry.at("interval").quantity(Dimension::time);
        interval = static_cast<std::uint64_t>(std::llround(ms / spec_.dt_ms));
        if (interval < 1) entry.at("interval").fail("expected an interval of at least one step");
      }
      const Node variables = entry.at("variables");
      variables.require_array();
      for (std::size_t k = 0; k < variables.size(); ++k) {
        const int variable = static_cast<int>(variables[k].choice(names_of(pop.model->state)));
        spec_.probes.push_back({population, variable, neurons, interval});
      }
    }
  }

  const json& root_;
  std::string source_;
  const LoadOptions& options_;
  NetworkSpec spec_;
};

}  // namespace

NetworkSpec parse_network(const std::string& text, const std::string& source_name,
                          const LoadOptions& options) {
  const json root = parse_json(text, source_name);
  NetworkSpec spec = NetworkReader(root, source_name, options).read();
  spec.path = source_name;
  spec.text = text;
  return spec;
}

NetworkSpec load_network_file(const std::filesystem::path& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NetworkFileError(path.string() + ": cannot open the network file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_network(text.str(), path.string(), options);
}

}  // namespace snnsim
