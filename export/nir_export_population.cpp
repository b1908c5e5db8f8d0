// Population networks as NIR graphs (docs/export.md, "Exporting NIR"). Each step of snnsim's
// delta-synapse models is linear in v: v' = a v + (1 - a) v_inf + input. NIR's forward-Euler LIF
// step is v' = v + dt/tau (v_leak - v + r I), the same map when dt/tau = 1 - a, v_leak = v_inf
// and r = tau/dt: the "Euler-equivalent" time constant tau = dt / (1 - exp(-dt/tau_m)) makes
// Euler reproduce the exact decay, and the import inverts it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "export/nir_export.h"
#include "networks/builder.h"
#include "sim/units.h"
#include "sim/version.h"

namespace snnsim::nir_export_detail {

namespace {

/// The Euler-equivalent time constant of `tau_ms` at `dt_ms`, in seconds: dt / (1 - exp(-dt/tau)).
double euler_tau_s(double tau_ms, double dt_ms) {
  return dt_ms * 1e-3 / -std::expm1(-dt_ms / tau_ms);
}

/// How one population becomes a node.
enum class NodeKind { lif, cuba_lif, integrate, input, none };

struct PopulationPlan {
  NodeKind kind = NodeKind::none;
  std::string node;         ///< the NIR node's name
  double current_pa = 0.0;  ///< I_e plus constant current inputs
  /// lif_cond_exp approximated: the reference voltage at which conductances become currents.
  double reference_mv = 0.0;
};

class PopulationTranslator {
 public:
  PopulationTranslator(const NetworkSpec& spec, const std::filesystem::path& file,
                       const NirExportOptions& options)
      : spec_(spec), file_(file), options_(options), dt_ms_(spec.dt_ms) {}

  Translation run(bool build_graph) {
    plan_populations();
    plan_drives();
    check_initial_states();
    const bool dense_fits = check_dense_size();
    // Per-synapse delays are known only once the network is built: built when they may vary,
    // unless the dense matrices are already refused (the network may then be too large).
    bool needs_network = build_graph;
    for (const ProjectionSpec& p : spec_.projections) {
      needs_network |= p.delay.kind != ValueSpec::Kind::constant;
    }
    if (dense_fits && needs_network) {
      network_ = build_network(spec_);
      check_delays();
      if (build_graph) write_graph();
    }
    return std::move(translation_);
  }

 private:
  double parameter(std::size_t population, const char* name) const {
    const PopulationSpec& p = spec_.populations[population];
    return p.parameters.at(p.model->parameter_index(name));
  }
  bool has_parameter(std::size_t population, const char* name) const {
    return spec_.populations[population].model->parameter_index(name) >= 0;
  }
  std::string element(std::size_t population) const {
    const PopulationSpec& p = spec_.populations[population];
    return "populations/" + std::to_string(population) + " '" + p.name + "' (" +
           std::string(p.model->name) + ")";
  }
  void problem(std::string element, std::string what, std::string approximation) {
    translation_.problems.push_back(
        {std::move(element), std::move(what), std::move(approximation)});
  }

  void plan_populations() {
    plans_.resize(spec_.populations.size());
    for (std::size_t i = 0; i < spec_.populations.size(); ++i) {
      const std::string model(spec_.populations[i].model->name);
      PopulationPlan& plan = plans_[i];
      plan.node = node_name(spec_.populations[i].name, taken_);
      if (has_parameter(i, "I_e")) plan.current_pa = parameter(i, "I_e");
      if (model == "lif_psc_delta") {
        plan.kind = NodeKind::lif;
      } else if (model == "if_psc_delta") {
        plan.kind = NodeKind::integrate;
      } else if (model == "lif_psc_exp") {
        plan.kind = NodeKind::cuba_lif;
        const double ex = parameter(i, "tau_syn_ex"), in = parameter(i, "tau_syn_in");
        if (ex != in) {
          problem(element(i),
                  "tau_syn_ex " + message_number(ex) + " ms and tau_syn_in " + message_number(in) +
                      " ms differ: NIR's CubaLIF has one synaptic current",
                  "both currents decay with tau_syn_ex");
        }
      } else if (model == "lif_cond_exp") {
        plan.kind = NodeKind::cuba_lif;
        plan.reference_mv = (parameter(i, "V_th") + parameter(i, "V_reset")) / 2;
        problem(element(i), "conductance-based synapses: NIR has none",
                "current synapses, each conductance w becoming the current w (E_rev - V) at V = " +
                    message_number(plan.reference_mv) +
                    " mV (midway between V_reset and V_th), decaying "
                    "with tau_syn_ex");
      } else if (model == "spike_generator") {
        plan.kind = NodeKind::input;
        translation_.result.notes.push_back(
            element(i) +
            ": an Input node; its spike times are not in NIR: feed them to "
            "the Input");
      } else if (model == "poisson_generator") {
        plan.kind = NodeKind::input;
        problem(element(i), "a Poisson source: NIR has none",
                "an Input node; feed it Poisson spikes of " + message_number(parameter(i, "rate")) +
                    " Hz yourself");
      } else {
        problem(element(i), "model " + model + " has no NIR counterpart", "");
        continue;
      }
      if (plan.kind == NodeKind::input) continue;
      if (std::round(parameter(i, "t_ref") / dt_ms_) > 0) {
        problem(
            element(i),
            "refractory period of " + message_number(parameter(i, "t_ref")) + " ms: NIR has none",
            "dropped");
      }
      if (parameter(i, "reset") != 0) {
        problem(element(i), "soft reset (v <- v - (V_th - V_reset)): NIR resets to v_reset",
                "a hard reset to V_reset, the node's metadata saying reset = \"subtract\"");
      }
    }
  }

  void plan_drives() {
    for (std::size_t d = 0; d < spec_.drives.size(); ++d) {
      const DriveSpec& drive = spec_.drives[d];
      const std::string where = "inputs/" + std::to_string(d) + " '" + drive.name + "'";
      PopulationPlan& target = plans_[drive.population];
      switch (drive.kind) {
        case DriveSpec::Kind::current:
          if (drive.amplitudes_pa.size() == 1 && drive.times_ms[0] < dt_ms_ / 2) {
            target.current_pa += drive.amplitudes_pa[0];
          } else {
            problem(where + " (current)",
                    "a current that changes in time: NIR has no time-varying sources", "");
          }
          break;
        case DriveSpec::Kind::spike_times:
          translation_.result.notes.push_back(
              where +
              " (spike_times): an Input node of shape [1] feeding the "
              "target through a Linear; its spike times are not in NIR");
          break;
        case DriveSpec::Kind::poisson:
          problem(where + " (poisson)", "a Poisson source: NIR has none",
                  "an Input node, one element per target neuron, through a Scale of the weight; "
                  "feed it Poisson spikes of " +
                      message_number(drive.rate_hz) + " Hz yourself");
          break;
      }
    }
    for (std::size_t i = 0; i < plans_.size(); ++i) {
      if (plans_[i].kind == NodeKind::integrate && plans_[i].current_pa != 0) {
        problem(element(i),
                "a constant current of " + message_number(plans_[i].current_pa) +
                    " pA: NIR's IF has no leak to carry it",
                "");
      }
    }
  }

  /// Where NIR's node starts the membrane, in snnsim's mV: v_leak with the constant currents
  /// folded in (LIF, CubaLIF), or V_reset, which the shifted IF's 0 stands for.
  double v_leak(std::size_t i) const {
    const PopulationPlan& plan = plans_[i];
    if (plan.kind == NodeKind::integrate) return parameter(i, "V_reset");
    if (has_parameter(i, "g_L")) return parameter(i, "E_L") + plan.current_pa / parameter(i, "g_L");
    return parameter(i, "E_L") + parameter(i, "tau_m") / parameter(i, "C_m") * plan.current_pa;
  }

  void check_initial_states() {
    for (std::size_t i = 0; i < plans_.size(); ++i) {
      const PopulationPlan& plan = plans_[i];
      if (plan.kind == NodeKind::none || plan.kind == NodeKind::input) continue;
      const PopulationSpec& population = spec_.populations[i];
      for (std::size_t var = 0; var < population.model->state.size(); ++var) {
        const StateSpec& state = population.model->state[var];
        const double nir_start = state.name == "v" ? v_leak(i) : 0.0;
        double start = state.default_value;
        if (!state.default_parameter.empty()) {
          start =
              population.parameters.at(population.model->parameter_index(state.default_parameter));
        }
        const ValueSpec* given = nullptr;
        for (const auto& [index, value] : population.initial) {
          if (index == static_cast<int>(var)) given = &value;
        }
        const std::string what = "initial " + std::string(state.name);
        // Built by appending: " " + std::string(...) trips GCC 12's false -Wrestrict.
        std::string unit(1, ' ');
        unit += canonical_unit(state.dimension);
        if (given != nullptr && given->kind != ValueSpec::Kind::constant) {
          problem(element(i), what + " differs between neurons: NIR has no initial state",
                  "every neuron starts at " + message_number(nir_start) + unit);
        } else {
          if (given != nullptr) start = given->value;
          if (static_cast<float>(start) != static_cast<float>(nir_start)) {
            problem(
                element(i),
                what + " = " + message_number(start) + unit + ", where NIR's node starts at " +
                    message_number(nir_start) + unit +
                    (state.name == "v" ? " (its v_leak, which includes constant currents)" : ""),
                "starts at " + message_number(nir_start) + unit);
          }
        }
      }
    }
  }

  bool check_dense_size() {
    std::uint64_t total = 0, largest = 0;
    std::size_t largest_index = 0;
    for (std::size_t p = 0; p < spec_.projections.size(); ++p) {
      const ProjectionSpec& projection = spec_.projections[p];
      const std::uint64_t elements = std::uint64_t{spec_.populations[projection.source].size} *
                                     spec_.populations[projection.target].size;
      total += elements;
      if (elements > largest) largest = elements, largest_index = p;
    }
    for (const DriveSpec& drive : spec_.drives) {
      if (drive.kind == DriveSpec::Kind::spike_times)
        total += spec_.populations[drive.population].size;
    }
    translation_.result.dense_weights = total;
    if (total <= options_.dense_limit) return true;
    std::string largest_projection;
    if (largest > 0) {  // else only spike_times inputs' weights, one column each
      const ProjectionSpec& p = spec_.projections[largest_index];
      largest_projection = "; the largest: projections/" + std::to_string(largest_index) + " '" +
                           p.name + "', " + std::to_string(spec_.populations[p.target].size) +
                           " x " + std::to_string(spec_.populations[p.source].size);
    }
    problem("projections",
            "dense weight matrices of " + std::to_string(total) +
                " elements in all, above the limit of " + std::to_string(options_.dense_limit) +
                " (NIR's Linear is dense)" + largest_projection,
            "");
    return false;
  }

  void check_delays() {
    delays_.resize(network_.projections.size());
    for (std::size_t p = 0; p < network_.projections.size(); ++p) {
      const Connectivity& c = network_.projections[p].synapses;
      if (c.delays.empty()) {
        delays_[p] = c.delay;
        continue;
      }
      const auto [low, high] = std::minmax_element(c.delays.begin(), c.delays.end());
      if (*low == *high) {
        delays_[p] = *low;
        continue;
      }
      double sum = 0;
      for (std::uint16_t d : c.delays)
        sum += d;
      delays_[p] = static_cast<std::uint16_t>(std::max(1.0, std::round(sum / c.delays.size())));
      problem("projections/" + std::to_string(p) + " '" + spec_.projections[p].name + "'",
              "per-synapse delays (" + std::to_string(*low) + " to " + std::to_string(*high) +
                  " steps): NIR's Delay delays a whole signal",
              "every synapse delayed by the mean, " + std::to_string(delays_[p]) + " steps");
    }
  }

  /// The factor turning a weight on `receptor` of population `i` into its NIR input.
  double weight_factor(std::size_t i, int receptor) const {
    if (spec_.populations[i].model->name != "lif_cond_exp") return 1.0;
    const double reversal = parameter(i, receptor == 0 ? "E_ex" : "E_in");
    return reversal - plans_[i].reference_mv;
  }

  void add_neuron_node(std::size_t i) {
    const PopulationPlan& plan = plans_[i];
    const std::size_t n = spec_.populations[i].size;
    nir::Node node;
    const double dt_s = dt_ms_ * 1e-3;
    switch (plan.kind) {
      case NodeKind::lif: {
        const double tau = euler_tau_s(parameter(i, "tau_m"), dt_ms_);
        node.type = "LIF";
        node.fields["tau"] = filled64(n, tau);
        node.fields["r"] = filled64(n, tau / dt_s);
        node.fields["v_leak"] = filled64(n, v_leak(i));
        break;
      }
      case NodeKind::cuba_lif: {
        const bool conductance = has_parameter(i, "g_L");
        const double tau_m =
            conductance ? parameter(i, "C_m") / parameter(i, "g_L") : parameter(i, "tau_m");
        const double tau_syn = euler_tau_s(parameter(i, "tau_syn_ex"), dt_ms_);
        node.type = "CubaLIF";
        node.fields["tau_mem"] = filled64(n, euler_tau_s(tau_m, dt_ms_));
        node.fields["tau_syn"] = filled64(n, tau_syn);
        node.fields["w_in"] = filled64(n, tau_syn / dt_s);
        node.fields["r"] = filled64(n, tau_m / parameter(i, "C_m"));
        node.fields["v_leak"] = filled64(n, v_leak(i));
        break;
      }
      case NodeKind::integrate:
        node.type = "IF";
        node.fields["r"] = filled64(n, 1 / dt_s);
        // Shifted so that v_reset is 0, where NIR's IF starts; the import shifts back.
        node.metadata["v_offset"] = scalar64(parameter(i, "V_reset"));
        break;
      default:
        return;
    }
    const double offset = plan.kind == NodeKind::integrate ? parameter(i, "V_reset") : 0.0;
    node.fields["v_threshold"] = filled64(n, parameter(i, "V_th") - offset);
    node.fields["v_reset"] = filled64(n, parameter(i, "V_reset") - offset);
    if (parameter(i, "reset") != 0) node.metadata["reset"] = std::string("subtract");
    translation_.result.graph.nodes[plan.node] = std::move(node);
    if (spec_.record_spikes[i]) {
      const std::string output = node_name("output_" + spec_.populations[i].name, taken_);
      translation_.result.graph.nodes[output] = nir::Node{
          "Output", {{"shape", nir::Array::integers({static_cast<std::int64_t>(n)})}}, {}, {}};
      edge(plan.node, output);
    }
  }

  void edge(const std::string& from, const std::string& to) {
    translation_.result.graph.edges.emplace_back(from, to);
  }

  nir::Node input_node(std::size_t size) const {
    return nir::Node{
        "Input", {{"shape", nir::Array::integers({static_cast<std::int64_t>(size)})}}, {}, {}};
  }

  void write_graph() {
    nir::Graph& graph = translation_.result.graph;
    const double dt_s = dt_ms_ * 1e-3;
    for (std::size_t i = 0; i < plans_.size(); ++i) {
      if (plans_[i].kind == NodeKind::input) {
        graph.nodes[plans_[i].node] = input_node(spec_.populations[i].size);
        // The rate lets snnsim's import restore the source; other tools ignore metadata.
        if (spec_.populations[i].model->name == "poisson_generator") {
          graph.nodes[plans_[i].node].metadata["poisson_rate_hz"] = scalar64(parameter(i, "rate"));
        }
      } else {
        add_neuron_node(i);
      }
    }
    std::map<std::pair<std::size_t, std::uint16_t>, std::string> delay_nodes;
    for (std::size_t p = 0; p < network_.projections.size(); ++p) {
      const Projection& projection = network_.projections[p];
      const std::size_t source = projection.source, target = projection.target;
      const std::size_t rows = spec_.populations[target].size,
                        columns = spec_.populations[source].size;
      auto [it, added] = delay_nodes.try_emplace({source, delays_[p]});
      if (added) {
        it->second = node_name(plans_[source].node + "_delay" + std::to_string(delays_[p]), taken_);
        graph.nodes[it->second] =
            nir::Node{"Delay", {{"delay", filled64(columns, delays_[p] * dt_s)}}, {}, {}};
        edge(plans_[source].node, it->second);
      }
      std::vector<double> weights(rows * columns, 0.0);
      const Connectivity& c = projection.synapses;
      const double factor = weight_factor(target, projection.receptor);
      for (std::size_t s = 0; s < columns; ++s) {
        for (std::uint64_t k = c.row_offsets[s]; k < c.row_offsets[s + 1]; ++k) {
          const double w = c.weights.empty() ? c.weight : c.weights[k];
          weights[c.targets[k] * columns + s] += w * factor;
        }
      }
      const std::string linear = node_name(spec_.projections[p].name, taken_);
      graph.nodes[linear] = nir::Node{
          "Linear", {{"weight", nir::Array::floats(std::move(weights), {rows, columns})}}, {}, {}};
      edge(it->second, linear);
      edge(linear, plans_[target].node);
    }
    for (const DriveSpec& drive : spec_.drives) {
      if (drive.kind == DriveSpec::Kind::current) continue;
      const std::size_t n = spec_.populations[drive.population].size;
      const double w = drive.weight * weight_factor(drive.population, drive.receptor);
      const std::string input = node_name(drive.name, taken_);
      const std::string through = node_name(drive.name + "_weight", taken_);
      if (drive.kind == DriveSpec::Kind::spike_times) {
        graph.nodes[input] = input_node(1);
        graph.nodes[through] = nir::Node{
            "Linear", {{"weight", nir::Array::floats(std::vector<double>(n, w), {n, 1})}}, {}, {}};
      } else {
        graph.nodes[input] = input_node(n);
        graph.nodes[input].metadata["poisson_rate_hz"] = scalar64(drive.rate_hz);
        graph.nodes[through] = nir::Node{"Scale", {{"scale", nir::Array::filled(n, w)}}, {}, {}};
      }
      edge(input, through);
      edge(through, plans_[drive.population].node);
    }
    add_entry_point_if_none();
    graph.metadata["dt"] = scalar64(dt_s);
    graph.metadata["time_unit"] = std::string("s");
    graph.metadata["voltage_unit"] = std::string("mV");
    graph.metadata["current_unit"] = std::string("pA");
    graph.metadata["source"] = std::string("snnsim ") + kVersion;
    graph.metadata["kind"] = std::string("population");
    graph.metadata["network"] = file_.filename().string();
  }

  /// NIR's type inference starts from Input nodes and refuses a graph without one: a network
  /// without sources (driven by constant currents) gets an Input that feeds its first population
  /// directly, marked in its metadata as an entry point only (feed it zeros).
  void add_entry_point_if_none() {
    nir::Graph& graph = translation_.result.graph;
    for (const auto& [name, node] : graph.nodes) {
      if (node.type == "Input") return;
    }
    for (std::size_t i = 0; i < plans_.size(); ++i) {
      if (graph.nodes.count(plans_[i].node) == 0) continue;
      const std::string input = node_name("input", taken_);
      graph.nodes[input] = input_node(spec_.populations[i].size);
      graph.nodes[input].metadata[kEntryPointOnly] = nir::Array::scalar(1);
      edge(input, plans_[i].node);
      translation_.result.notes.push_back(
          "the network has no source: an Input node '" + input + "' feeding " + plans_[i].node +
          " directly gives NIR's type inference its entry point; feed it "
          "zeros");
      return;
    }
  }

  const NetworkSpec& spec_;
  std::filesystem::path file_;
  const NirExportOptions& options_;
  double dt_ms_;
  Translation translation_;
  std::vector<PopulationPlan> plans_;
  std::vector<std::string> taken_;
  Network network_;
  std::vector<std::uint16_t> delays_;  ///< per projection, in steps
};

}  // namespace

Translation translate_population_network(const std::filesystem::path& network_file,
                                         const LoadOptions& load, const NirExportOptions& options,
                                         bool build_graph) {
  LoadOptions with_dt = load;
  // load.dt_ms wins: seconds turned back into milliseconds may differ in the last bit.
  if (options.dt_s && !load.dt_ms) with_dt.dt_ms = *options.dt_s * 1e3;
  const NetworkSpec spec = load_network_file(network_file, with_dt);
  return PopulationTranslator(spec, network_file, options).run(build_graph);
}

}  // namespace snnsim::nir_export_detail
