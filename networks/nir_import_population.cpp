// NIR graphs of the shape `snnsim export nir` writes for population networks, imported as
// population networks (docs/export.md, "Importing NIR"): the export's mapping inverted, so that
// export then import gives back the network's parameters (to rounding) and its spikes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "networks/nir_import.h"

namespace snnsim {

namespace {

/// The limits of network files (networks/network_file.cpp): a population's size, and a
/// projection's delay in steps.
constexpr double kMaxInputSize = 0xFFFFFFFF;
constexpr double kMaxDelaySteps = 65535;

bool is_neuron(const std::string& type) {
  return type == "LIF" || type == "IF" || type == "CubaLIF";
}
/// Nodes that become projections: dense weights (Linear, zero-bias Affine), or one weight per
/// element (Scale: a one_to_one projection).
bool is_projection(const std::string& type) {
  return type == "Linear" || type == "Affine" || type == "Scale";
}

/// An Input that `snnsim export nir` adds to a network without sources only so that NIR's type
/// inference has an entry point (export/nir_export.h, kEntryPointOnly): not part of the network.
bool is_entry_point_only(const nir::Node& node) {
  return node.type == "Input" && node.metadata.count("entry_point_only") > 0;
}

std::optional<double> metadata_number(const std::map<std::string, nir::Field>& metadata,
                                      const std::string& key) {
  const auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  const auto* array = std::get_if<nir::Array>(&it->second);
  if (array == nullptr || array->size() != 1) return std::nullopt;
  return array->values[0];
}

std::string quantity(double value, const char* unit) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g %s", value, unit);
  return text;
}

/// The graph's edges by node: the nodes with an edge into it, and those it has an edge to.
struct Edges {
  using Lists = std::map<std::string, std::vector<std::string>>;
  Lists into, out_of;
  explicit Edges(const nir::Graph& graph) {
    for (const auto& [from, to] : graph.edges) {
      out_of[from].push_back(to);
      into[to].push_back(from);
    }
  }
  const std::vector<std::string>& sources(const std::string& node) const { return of(into, node); }
  const std::vector<std::string>& targets(const std::string& node) const {
    return of(out_of, node);
  }

 private:
  static const std::vector<std::string>& of(const Lists& lists, const std::string& node) {
    static const std::vector<std::string> none;
    const auto it = lists.find(node);
    return it == lists.end() ? none : it->second;
  }
};

class PopulationImporter {
 public:
  PopulationImporter(const nir::Graph& graph, const std::string& source,
                     const std::string& tensors_file, const NirImportOptions& options)
      : graph_(graph), edges_(graph), source_(source), tensors_file_(tensors_file) {
    const std::optional<double> dt =
        options.dt_s ? options.dt_s : metadata_number(graph.metadata, "dt");
    if (!dt) {
      throw nir::NirError(source +
                          ": /node/metadata/dt: the graph gives no time step; pass --dt, the "
                          "writer's own (" +
                          nir_writer_time_steps() + ")");
    }
    if (!(*dt > 0)) {
      throw nir::NirError(source + (options.dt_s ? ": --dt: " : ": /node/metadata/dt: ") +
                          quantity(*dt, "s") + " is no time step");
    }
    dt_s_ = *dt;
    // Milliseconds as a person would write them ("0.1", not 0.10000000000000002), used for the
    // file and for every inversion, so that the imported network runs at the exported dt.
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", dt_s_ * 1e3);
    dt_ms_ = std::strtod(text, nullptr);
  }

  ImportedNetwork run() {
    nlohmann::json populations = nlohmann::json::array();
    std::vector<std::string> recorded;
    for (const auto& [name, node] : graph_.nodes) {
      if (is_entry_point_only(node)) {
        continue;
      } else if (poisson_drive(name, node)) {
        continue;  // a "poisson" input of the network, below
      } else if (node.type == "Input") {
        populations.push_back(input_population(name, node));
      } else if (is_neuron(node.type)) {
        populations.push_back(neuron_population(name, node));
        const std::vector<std::string>& targets = edges_.targets(name);
        if (std::any_of(targets.begin(), targets.end(),
                        [&](const std::string& to) { return type_of(to) == "Output"; })) {
          recorded.push_back(name);
        }
      }
    }
    nlohmann::json projections = nlohmann::json::array(), inputs = nlohmann::json::array();
    for (const auto& [name, node] : graph_.nodes) {
      if (!is_projection(node.type)) continue;
      const std::vector<std::string>& from = edges_.sources(name);
      if (from.size() == 1 && poisson_drive(from[0], graph_.nodes.at(from[0]))) {
        add_poisson_input(from[0], name, node, inputs);
      } else {
        add_projections(name, node, projections);
      }
    }
    result_.document = {
        {"format", "snnsim-network"},
        {"version", 1},
        {"description", "imported from " + std::filesystem::path(source_).filename().string() +
                            " (snnsim import nir)"},
        {"simulation", {{"dt", quantity(dt_ms_, "ms")}, {"duration", "1 s"}}},
        {"populations", populations},
        {"projections", projections},
        {"recording", {{"spikes", recorded}}},
    };
    if (!inputs.empty()) result_.document["inputs"] = inputs;
    return std::move(result_);
  }

 private:
  std::string where(const std::string& node) const { return source_ + ": /node/nodes/" + node; }

  /// A parameter that population models hold once per population; `absent` when the node leaves
  /// the field out (only v_reset may be, which NIR then takes as 0).
  double uniform(const std::string& node_name, const nir::Node& node, const std::string& field,
                 double absent = 0.0) const {
    if (!node.has(field)) return absent;
    const nir::Array& a = node.array(field, where(node_name));
    if (a.size() == 0) throw nir::NirError(where(node_name) + "/" + field + ": empty");
    if (!a.uniform()) {
      throw nir::NirError(where(node_name) + "/" + field +
                          ": differs between neurons, and population models take one value per "
                          "population; import the graph as a layer graph (--kind layer_graph)");
    }
    return a.values[0];
  }

  /// The number of neurons of a neuron node (its v_threshold's) or an Input (its shape's).
  std::size_t size_of(const std::string& node_name, const nir::Node& node) const {
    if (node.type != "Input") return node.array("v_threshold", where(node_name)).size();
    std::size_t n = 1;
    for (double d : node.array("shape", where(node_name)).values) {
      // A bound on the product keeps a damaged shape from asking for all memory.
      if (!(d >= 1 && d == std::floor(d) && n * d <= kMaxInputSize)) {
        throw nir::NirError(where(node_name) + "/shape: expected positive integers whose " +
                            "product is at most " + std::to_string(std::uint64_t(kMaxInputSize)));
      }
      n *= static_cast<std::size_t>(d);
    }
    return n;
  }

  /// The model's time constant in ms (tau_m, tau_syn) from NIR's Euler-equivalent one in
  /// seconds: the export's inverse.
  double exact_tau_ms(const std::string& node_name, const std::string& field,
                      double euler_tau_s) const {
    if (!(euler_tau_s >= dt_s_)) {
      throw nir::NirError(where(node_name) + "/" + field + ": " + quantity(euler_tau_s, "s") +
                          ", below the time step " + quantity(dt_s_, "s") +
                          ": its Euler step overshoots");
    }
    if (euler_tau_s == dt_s_) return 1e-300;  // decays to v_leak in one step
    return -dt_ms_ / std::log1p(-dt_s_ / euler_tau_s);
  }

  /// An Input that `snnsim export nir --approximate` wrote for a network's "poisson" input: its
  /// metadata holds the rate, and it feeds its target through one uniform Scale.
  bool poisson_drive(const std::string& name, const nir::Node& node) const {
    if (node.type != "Input" || !metadata_number(node.metadata, "poisson_rate_hz")) return false;
    const std::vector<std::string>& to = edges_.targets(name);
    if (to.size() != 1) return false;
    const nir::Node& scale = graph_.nodes.at(to[0]);
    const nir::Array& factors = scale.array("scale", where(to[0]));
    return scale.type == "Scale" && factors.size() > 0 && factors.uniform() &&
           edges_.targets(to[0]).size() == 1 && is_neuron(type_of(edges_.targets(to[0])[0]));
  }

  /// The "poisson" input behind `input` -> `scale` -> neuron node.
  void add_poisson_input(const std::string& input, const std::string& scale, const nir::Node& node,
                         nlohmann::json& out) {
    const std::string target = edges_.targets(scale)[0];
    const double rate = *metadata_number(graph_.nodes.at(input).metadata, "poisson_rate_hz");
    const double weight = node.array("scale", where(scale)).values.at(0) * input_factor_.at(target);
    const bool currents = type_of(target) == "CubaLIF";
    nlohmann::json p = {{"type", "poisson"},
                        {"name", input},
                        {"target", target},
                        {"rate", quantity(rate, "Hz")},
                        {"weight", quantity(weight, currents ? "pA" : "mV")}};
    if (currents) p["receptor"] = weight < 0 ? "in" : "ex";
    out.push_back(p);
    result_.notes.push_back("Input '" + input + "': a Poisson input of " + quantity(rate, "Hz") +
                            " into " + target +
                            " (its metadata poisson_rate_hz, which snnsim "
                            "export nir writes)");
  }

  std::string type_of(const std::string& node) const { return graph_.nodes.at(node).type; }

  nlohmann::json input_population(const std::string& name, const nir::Node& node) {
    const std::size_t n = size_of(name, node);
    sizes_[name] = n;
    if (const auto rate = metadata_number(node.metadata, "poisson_rate_hz")) {
      result_.notes.push_back("Input '" + name + "': a poisson_generator of " +
                              quantity(*rate, "Hz") + " (its metadata poisson_rate_hz)");
      return {{"name", name},
              {"model", "poisson_generator"},
              {"size", n},
              {"parameters", {{"rate", quantity(*rate, "Hz")}}}};
    }
    result_.notes.push_back("Input '" + name +
                            "': NIR carries no input data: a spike_generator population without "
                            "spikes. Give it \"spike_times\" in the written file, or for Poisson "
                            "spikes replace it and its projections by an input {\"type\": "
                            "\"poisson\", \"target\": ..., \"rate\": \"... Hz\", "
                            "\"weight\": ...}");
    return {{"name", name},
            {"model", "spike_generator"},
            {"size", n},
            {"spike_times", {{"unit", "ms"}, {"values", std::vector<std::vector<double>>(n)}}}};
  }

  nlohmann::json neuron_population(const std::string& name, const nir::Node& node) {
    const std::size_t n = size_of(name, node);
    sizes_[name] = n;
    nlohmann::json p = {{"name", name}, {"size", n}};
    nlohmann::json parameters;
    const double offset = metadata_number(node.metadata, "v_offset").value_or(0.0);
    const double v_th = uniform(name, node, "v_threshold") + offset;
    const double v_reset = uniform(name, node, "v_reset") + offset;
    parameters["V_th"] = quantity(v_th, "mV");
    parameters["V_reset"] = quantity(v_reset, "mV");
    parameters["t_ref"] = "0 ms";
    const double r = uniform(name, node, "r");
    if (node.type == "LIF") {
      const double tau = uniform(name, node, "tau");
      p["model"] = "lif_psc_delta";
      parameters["tau_m"] = quantity(exact_tau_ms(name, "tau", tau), "ms");
      parameters["E_L"] = quantity(uniform(name, node, "v_leak"), "mV");
      input_factor_[name] = r * dt_s_ / tau;
    } else if (node.type == "IF") {
      p["model"] = "if_psc_delta";
      input_factor_[name] = r * dt_s_;
      // NIR's IF starts at 0 (+ offset); if_psc_delta at V_reset.
      if (v_reset != offset) p["initial"] = {{"v", quantity(offset, "mV")}};
    } else {
      const double tau_mem = uniform(name, node, "tau_mem"),
                   tau_syn = uniform(name, node, "tau_syn");
      const double tau_m_ms = exact_tau_ms(name, "tau_mem", tau_mem);
      p["model"] = "lif_psc_exp";
      parameters["tau_m"] = quantity(tau_m_ms, "ms");
      parameters["tau_syn_ex"] = parameters["tau_syn_in"] =
          quantity(exact_tau_ms(name, "tau_syn", tau_syn), "ms");
      parameters["E_L"] = quantity(uniform(name, node, "v_leak"), "mV");
      if (!(r > 0)) throw nir::NirError(where(name) + "/r: must be positive for a lif_psc_exp");
      parameters["C_m"] = quantity(tau_m_ms / r, "pF");
      input_factor_[name] = uniform(name, node, "w_in") * dt_s_ / tau_syn;
    }
    const auto reset = node.metadata.find("reset");
    if (reset != node.metadata.end()) {
      const auto* mode = std::get_if<std::string>(&reset->second);
      if (mode != nullptr && *mode == "subtract") parameters["reset"] = "soft";
    }
    p["parameters"] = parameters;
    return p;
  }

  /// The population feeding projection node `name` and the delay in steps: through a Delay of
  /// at least one step, or straight from an Input. NIR crosses a path without a Delay in the
  /// same step, but a population projection takes one step at least: such a path gets one step.
  std::pair<std::string, double> source_and_delay(const std::string& name) {
    const auto& sources = edges_.sources(name);
    const std::string from = sources.size() == 1 ? sources[0] : std::string();
    const std::string type = from.empty() ? std::string() : graph_.nodes.at(from).type;
    if (type == "Input") {
      result_.notes.push_back("'" + name + "': no Delay after Input '" + from +
                              "': NIR crosses it in the same step, a population projection in "
                              "one step at least; imported with a delay of one step (give the "
                              "spike times one step earlier to keep NIR's timing)");
      return {from, 1.0};
    }
    if (type != "Delay") {
      throw nir::NirError(where(name) + ": expected one edge into it, from a Delay or an Input");
    }
    const auto& delay_sources = edges_.sources(from);
    if (delay_sources.size() != 1 || (graph_.nodes.at(delay_sources[0]).type != "Input" &&
                                      !is_neuron(graph_.nodes.at(delay_sources[0]).type))) {
      throw nir::NirError(where(from) + ": expected one edge into it, from an Input or a neuron");
    }
    const nir::Array& delays = graph_.nodes.at(from).array("delay", where(from));
    if (delays.size() == 0) throw nir::NirError(where(from) + "/delay: empty");
    if (!delays.uniform()) {
      throw nir::NirError(where(from) +
                          "/delay: differs between neurons, and a projection has one delay");
    }
    const double steps = std::round(delays.values[0] / dt_s_);
    if (!(steps >= 1 && steps <= kMaxDelaySteps)) {
      throw nir::NirError(where(from) + "/delay: " + quantity(delays.values[0], "s") +
                          " is not between one time step and " +
                          std::to_string(int(kMaxDelaySteps)) + " of them");
    }
    return {delay_sources[0], steps};
  }

  struct Synapse {
    std::size_t source, target;
    double weight;
  };

  /// The nonzero weights of projection node `name` from `columns` neurons to `rows`.
  std::vector<Synapse> synapses(const std::string& name, const nir::Node& node, std::size_t rows,
                                std::size_t columns) const {
    std::vector<Synapse> out;
    if (node.type == "Scale") {
      const nir::Array& scale = node.array("scale", where(name));
      if (scale.size() != rows || rows != columns) {
        throw nir::NirError(where(name) + "/scale: expected " + std::to_string(rows) +
                            " values, one per neuron of its source and of its target (" +
                            std::to_string(columns) + " and " + std::to_string(rows) + ")");
      }
      for (std::size_t i = 0; i < rows; ++i) {
        if (scale.values[i] != 0) out.push_back({i, i, scale.values[i]});
      }
      return out;
    }
    if (node.type == "Affine") {
      for (double b : node.array("bias", where(name)).values) {
        if (b != 0) throw nir::NirError(where(name) + "/bias: a projection has no bias");
      }
    }
    const nir::Array& weight = node.array("weight", where(name));
    if (weight.shape != std::vector<std::size_t>{rows, columns}) {
      throw nir::NirError(where(name) + "/weight: expected " + std::to_string(rows) + " x " +
                          std::to_string(columns) + " (target x source)");
    }
    for (std::size_t row = 0; row < rows; ++row) {
      for (std::size_t col = 0; col < columns; ++col) {
        const double w = weight.values[row * columns + col];
        if (w != 0) out.push_back({col, row, w});
      }
    }
    return out;
  }

  void add_projections(const std::string& name, const nir::Node& node, nlohmann::json& out) {
    const auto [source, steps] = source_and_delay(name);
    if (sizes_.count(source) == 0) {
      throw nir::NirError(where(name) + ": fed by " + source +
                          ", an Input marked entry_point_only, which is no population");
    }
    const std::size_t columns = sizes_.at(source);
    for (const std::string& target : edges_.targets(name)) {
      if (sizes_.count(target) == 0 || graph_.nodes.at(target).type == "Input") {
        throw nir::NirError(where(name) + ": feeds " + target + ", not a neuron node");
      }
      const std::vector<Synapse> all = synapses(name, node, sizes_.at(target), columns);
      // A uniform Scale is every neuron driven by its own source at one weight: one_to_one, which
      // a person can read and turn into a Poisson input.
      const bool one_to_one = node.type == "Scale" && all.size() == columns &&
                              node.array("scale", where(name)).uniform();
      const bool currents = graph_.nodes.at(target).type == "CubaLIF";
      const double factor =
          std::abs(input_factor_.at(target) - 1) < 1e-12 ? 1.0 : input_factor_.at(target);
      // CubaLIF becomes lif_psc_exp: excitatory weights on "ex", inhibitory (negative) on "in".
      for (int sign : currents ? std::vector<int>{1, -1} : std::vector<int>{0}) {
        Hdf5Array sources{{0}, {}, true}, targets{{0}, {}, true}, weights{{0}, {}, false};
        for (const Synapse& s : all) {
          if ((sign > 0 && s.weight < 0) || (sign < 0 && s.weight > 0)) continue;
          sources.values.push_back(static_cast<double>(s.source));
          targets.values.push_back(static_cast<double>(s.target));
          weights.values.push_back(s.weight * factor);
        }
        if (weights.values.empty()) continue;
        sources.shape = targets.shape = weights.shape = {weights.values.size()};
        std::string projection = name;
        if (edges_.targets(name).size() > 1) projection += "_to_" + target;
        if (sign < 0) projection += "_in";
        const std::string prefix = "/" + projection;
        const char* unit = currents ? "pA" : "mV";
        nlohmann::json p = {{"name", projection},
                            {"source", source},
                            {"target", target},
                            {"delay", quantity(steps * dt_ms_, "ms")}};
        if (one_to_one) {
          p["connectivity"] = {{"rule", "one_to_one"}};
          p["weight"] = quantity(weights.values[0], unit);
        } else {
          p["connectivity"] = {{"rule", "file"},
                               {"file", tensors_file_},
                               {"sources", prefix + "/sources"},
                               {"targets", prefix + "/targets"}};
          p["weight"] = {{"file", tensors_file_}, {"dataset", prefix + "/weights"}, {"unit", unit}};
          result_.tensors.emplace_back(projection + "/sources", std::move(sources));
          result_.tensors.emplace_back(projection + "/targets", std::move(targets));
          result_.tensors.emplace_back(projection + "/weights", std::move(weights));
        }
        if (currents) p["receptor"] = sign > 0 ? "ex" : "in";
        out.push_back(p);
      }
    }
  }

  const nir::Graph& graph_;
  Edges edges_;
  std::string source_, tensors_file_;
  double dt_s_ = 0, dt_ms_ = 0;
  std::map<std::string, std::size_t> sizes_;
  /// Per neuron node, what one unit of its input adds to the model's receptor (1 for graphs
  /// snnsim exported): r dt/tau (LIF), r dt (IF), w_in dt/tau_syn (CubaLIF).
  std::map<std::string, double> input_factor_;
  ImportedNetwork result_;
};

}  // namespace

bool is_population_graph(const nir::Graph& graph) {
  const Edges edges(graph);
  bool has_neuron = false;
  const auto type_of = [&](const std::string& node) {
    const auto it = graph.nodes.find(node);
    return it == graph.nodes.end() ? std::string() : it->second.type;
  };
  const auto entry_point_only = [&](const std::string& node) {
    const auto it = graph.nodes.find(node);
    return it != graph.nodes.end() && is_entry_point_only(it->second);
  };
  for (const auto& [name, node] : graph.nodes) {
    const std::string& type = node.type;
    if (is_neuron(type)) {
      has_neuron = true;
      // Neurons meet only through Delay and projection nodes: an edge between neurons without
      // them (instantaneous recurrence or feed-forward) is no population projection.
      for (const std::string& source : edges.sources(name)) {
        if (!is_projection(type_of(source)) && !entry_point_only(source)) return false;
      }
      for (const std::string& target : edges.targets(name)) {
        if (type_of(target) != "Delay" && type_of(target) != "Output") return false;
      }
    } else if (is_projection(type)) {
      // From a Delay, or straight from an Input (imported with a delay of one step).
      const auto& sources = edges.sources(name);
      if (sources.size() != 1 ||
          (type_of(sources[0]) != "Delay" && type_of(sources[0]) != "Input") ||
          entry_point_only(sources[0]) || edges.targets(name).empty())
        return false;
      for (const std::string& target : edges.targets(name)) {
        if (!is_neuron(type_of(target))) return false;
      }
      if (type == "Affine") {
        const auto* bias = std::get_if<nir::Array>(&node.fields.at("bias"));
        if (bias == nullptr) return false;
        for (double b : bias->values) {
          if (b != 0) return false;
        }
      }
    } else if (type == "Delay") {
      const auto& sources = edges.sources(name);
      if (sources.size() != 1) return false;
      const std::string from = type_of(sources[0]);
      if ((from != "Input" && !is_neuron(from)) || entry_point_only(sources[0])) return false;
      for (const std::string& target : edges.targets(name)) {
        if (!is_projection(type_of(target))) return false;
      }
      const auto* delay = std::get_if<nir::Array>(&node.fields.at("delay"));
      const std::optional<double> dt = metadata_number(graph.metadata, "dt");
      if (delay == nullptr || delay->size() == 0 || !delay->uniform() || !(delay->values[0] > 0) ||
          (dt && delay->values[0] < *dt * (1 - 1e-9)))
        return false;
    } else if (is_entry_point_only(node)) {
      continue;
    } else if (type == "Input") {
      for (const std::string& target : edges.targets(name)) {
        if (type_of(target) != "Delay" && !is_projection(type_of(target))) return false;
      }
    } else if (type == "Output") {
      for (const std::string& source : edges.sources(name)) {
        if (!is_neuron(type_of(source))) return false;
      }
    } else {
      return false;  // conv, pooling, flatten, Threshold, LI, nested graphs
    }
  }
  return has_neuron;
}

ImportedNetwork import_population_graph(const nir::Graph& graph, const std::string& source,
                                        const std::string& tensors_file,
                                        const NirImportOptions& options) {
  for (const auto& [name, node] : graph.nodes) {
    if (!is_neuron(node.type) && !is_projection(node.type) && node.type != "Delay" &&
        node.type != "Input" && node.type != "Output") {
      throw nir::NirError(source + ": /node/nodes/" + name + ": a " + node.type +
                          " node has no place in a population network (LIF, IF, CubaLIF, "
                          "Linear/Affine/Scale from a Delay or an Input, Delay, Input, Output); "
                          "import it as a layer graph");
    }
  }
  return PopulationImporter(graph, source, tensors_file, options).run();
}

}  // namespace snnsim
