#include "export/loihi2.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>

#include "export/hardware_targets.h"
#include "networks/connectivity_rules.h"
#include "networks/network_file.h"
#include "sim/models/lif_psc_exp.h"
#include "sim/models/loihi2_lif.h"
#include "sim/units.h"

namespace snnsim::hardware {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

const NeuronModelInfo& loihi2_model() {
  for (const NeuronModelInfo& model : neuron_models())
    if (model.name == Loihi2Lif::kName) return model;
  throw std::logic_error("loihi2_lif is not registered");
}

/// A parameter of a population by name (the models' parameter sets differ).
double parameter(const PopulationSpec& population, std::string_view name, double fallback) {
  const int index = population.model->parameter_index(name);
  return index < 0 ? fallback : population.parameters[index];
}

/// y = a x + b applied to a per-neuron or per-synapse value; `where` names it in errors.
ValueSpec affine(const ValueSpec& x, double a, double b, const std::string& where) {
  ValueSpec y = x;
  switch (x.kind) {
    case ValueSpec::Kind::constant:
      y.value = a * x.value + b;
      break;
    case ValueSpec::Kind::uniform:
      y.low = std::min(a * x.low, a * x.high) + b;
      y.high = std::max(a * x.low, a * x.high) + b;
      break;
    case ValueSpec::Kind::normal:
      y.mean = a * x.mean + b;
      y.std = std::abs(a) * x.std;
      break;
    case ValueSpec::Kind::list:
      for (double& v : y.values)
        v = a * v + b;
      break;
    case ValueSpec::Kind::file:
      if (b != 0.0)
        throw NetworkFileError(where + ": values read from a file cannot be shifted; list them");
      y.file_factor *= a;
      break;
  }
  return y;
}

/// The sum of two independent per-neuron values, where it has a closed form.
ValueSpec sum(const ValueSpec& x, const ValueSpec& y, const std::string& where) {
  using Kind = ValueSpec::Kind;
  if (x.kind == Kind::constant) return affine(y, 1.0, x.value, where);
  if (y.kind == Kind::constant) return affine(x, 1.0, y.value, where);
  if (x.kind == Kind::normal && y.kind == Kind::normal) {
    ValueSpec z = x;
    z.mean = x.mean + y.mean;
    z.std = std::hypot(x.std, y.std);
    return z;
  }
  if (x.kind == Kind::list && y.kind == Kind::list && x.values.size() == y.values.size()) {
    ValueSpec z = x;
    for (std::size_t i = 0; i < z.values.size(); ++i)
      z.values[i] += y.values[i];
    return z;
  }
  throw NetworkFileError(where +
                         ": the two synaptic state variables' initial values cannot be merged "
                         "into one current (give constants, normals or lists)");
}

/// The time constant a 12-bit decay constant gives: the per-step factor is 1 - d / 4096.
double effective_tau(double d, double dt_ms) {
  if (d <= 0) return kInfinity;
  if (d >= 4096) return 0.0;
  return -dt_ms / std::log(1.0 - d / 4096.0);
}

/// How the float neuron of one population maps onto loihi2_lif.
struct NeuronMap {
  double v_reset = 0.0;
  double v_ref = 0.0;  ///< conductance synapses: the voltage their driving force is taken at
  double du = 4095, dv = 0, vth = 0;  ///< whole numbers when quantised
  double u_decay = 0.0;               ///< the quantised per-step factor of u, 1 - (du + 1) / 4096
  /// Integer activation per unit of weight, per receptor of the float model.
  double receptor_scale[kMaxReceptors] = {};
  double current_to_bias = 0.0;  ///< bias (v LSB per step) per pA of constant current
  double bias = 0.0;             ///< v LSB per step: the rest point, I_e and constant currents
  int delay_shift_steps = 0;     ///< added to incoming delays to keep the float model's timing
};

class Quantiser {
 public:
  Quantiser(const NetworkSpec& spec, const Loihi2Options& options) : in_(spec), options_(options) {}

  Loihi2Export run() {
    out_.network = in_;
    out_.network.populations.clear();
    choose_scale();
    maps_.resize(in_.populations.size());
    for (std::size_t p = 0; p < in_.populations.size(); ++p)
      out_.network.populations.push_back(population(p));
    out_.network.projections.clear();
    for (const ProjectionSpec& projection : in_.projections)
      out_.network.projections.push_back(this->projection(projection));
    out_.network.drives.clear();
    for (const DriveSpec& drive : in_.drives)
      this->drive(drive);
    for (std::size_t p = 0; p < in_.populations.size(); ++p)
      finish_bias(p);
    probes();
    return std::move(out_);
  }

 private:
  /// Whether a population is mapped: neurons of a float model. Generators, and loihi2_lif
  /// populations (already in Lava's fixed point), are copied as they are, with their inputs.
  static bool is_mapped(const PopulationSpec& p) {
    return !p.model->receptors.empty() && p.model->name != Loihi2Lif::kName;
  }

  /// One voltage scale for the network: the largest threshold distance V_th - V_reset maps to
  /// the target threshold mantissa (2^14, threshold 2^20 LSB).
  void choose_scale() {
    double theta = 0.0;
    for (const PopulationSpec& p : in_.populations) {
      if (!is_mapped(p)) continue;
      theta = std::max(theta, parameter(p, "V_th", 0) - parameter(p, "V_reset", 0));
    }
    if (theta <= 0.0) return;  // nothing to map
    s_ = theta / static_cast<double>(kTargetThresholdMantissa << kThresholdShift);
    out_.mv_per_lsb = s_;
  }

  PopulationSpec population(std::size_t index) {
    const PopulationSpec& in = in_.populations[index];
    if (!is_mapped(in)) return in;
    const std::string model(in.model->name);
    const double dt = in_.dt_ms;
    NeuronMap& m = maps_[index];
    const double v_th = parameter(in, "V_th", 0), v_reset = parameter(in, "V_reset", 0);
    const double c_m = parameter(in, "C_m", 250), t_ref = parameter(in, "t_ref", 0);
    m.v_reset = v_reset;
    m.vth = rounded((v_th - v_reset) / s_ / (1 << kThresholdShift));
    const double theta_q = std::ldexp(m.vth, kThresholdShift) * s_;
    if (std::abs(theta_q - (v_th - v_reset)) > 1e-9 * (v_th - v_reset))
      note(in.name, "threshold distance " + message_number(v_th - v_reset) + " mV becomes " +
                        message_number(theta_q) + " mV (vth = " + message_number(m.vth) + ")");
    // Leak: v decays toward 0 (= V_reset); a bias moves the rest point to E_L.
    double tau_m = kInfinity, e_l = v_reset;
    if (model == "lif_psc_delta" || model == "lif_psc_exp") {
      tau_m = parameter(in, "tau_m", 10);
      e_l = parameter(in, "E_L", v_reset);
    } else if (model == "lif_cond_exp") {
      // Linearised at the float run's mean conductances and mean potential V_ref: g (E - v) =
      // g (E - V_ref) - g (v - V_ref). The first term is the current synapse, with the float
      // run's mean driving force; the mean of the second is a leak, which shortens tau_m.
      const double g_l = parameter(in, "g_L", 10), e_l_float = parameter(in, "E_L", v_reset);
      const double e_ex = parameter(in, "E_ex", 0), e_in = parameter(in, "E_in", -80);
      const auto [g_ex, g_in] = mean_conductances(index);
      const double g_total = g_l + g_ex + g_in;
      // Where the mean currents cancel; the float run sits above it (by 1.5 mV in COBA), as
      // its fluctuating conductances and resets move v, which the linearisation does not see.
      const double v_mean_field = (g_l * e_l_float + g_ex * e_ex + g_in * e_in) / g_total;
      const std::vector<double>& measured = options_.operating_point.mean_v_mv;
      m.v_ref = measured.empty() || std::isnan(measured[index]) ? v_mean_field : measured[index];
      tau_m = c_m / g_total;
      // The rest point that puts the mean of v at V_ref given the mean synaptic current there.
      e_l = m.v_ref - (g_ex * (e_ex - m.v_ref) + g_in * (e_in - m.v_ref)) / g_total;
      if (options_.operating_point.rates_hz.empty()) {
        note(in.name, "no operating point given: the leak is g_L alone");
      } else {
        note(in.name, "linearised at the float run's mean conductances g_ex " +
                          message_number(g_ex) + " nS, g_in " + message_number(g_in) +
                          " nS and mean v " + message_number(m.v_ref) + " mV (mean field " +
                          message_number(v_mean_field) + " mV): tau_m " + message_number(tau_m) +
                          " ms, rest " + message_number(e_l) + " mV");
      }
    } else if (model != "if_psc_delta") {
      throw NetworkFileError(in.where + ": model " + model +
                             " has no fixed-point counterpart (lif_psc_delta, lif_psc_exp, "
                             "lif_cond_exp and if_psc_delta have)");
    }
    // dv is 12 bits: a tau_m below dt / ln(8192) would round to 4096, a decay Lava cannot hold
    // (dm_offset is 0), so it stops at 4095.
    m.dv = std::min(rounded(decay_constant(tau_m, dt)), 4095.0);
    const double p22 = 1.0 - m.dv / 4096.0;
    if (tau_m < kInfinity)
      note(in.name, "tau_m " + message_number(tau_m) + " ms becomes " +
                        message_number(effective_tau(m.dv, dt)) +
                        " ms (dv = " + message_number(m.dv) + ")");
    // Constant current: the voltage it adds per step, as the float model integrates it.
    m.current_to_bias = (tau_m < kInfinity ? tau_m / c_m * (1.0 - p22) : dt / c_m) / s_;
    m.bias = (e_l - v_reset) * (1.0 - p22) / s_ + parameter(in, "I_e", 0) * m.current_to_bias;
    if (t_ref > 0)
      note(in.name,
           "t_ref " + message_number(t_ref) + " ms dropped (Lava's LIF has no refractory period)");
    if (parameter(in, "reset", 0) != 0)
      note(in.name, "soft reset becomes Lava's hard reset to V_reset (v <- 0)");

    receptors(in, m, tau_m, c_m);

    PopulationSpec out;
    out.name = in.name;
    out.model = &loihi2_model();
    out.size = in.size;
    out.where = in.where;
    out.parameters = {m.du, m.dv, m.vth, 0.0, 0.0, options_.quantise ? 0.0 : 1.0};
    initial_state(in, m, e_l, out);
    return out;
  }

  /// Mean excitatory and inhibitory conductance (nS) of a population at the operating point:
  /// per receptor, the sum over its inputs of mean weight x expected in-degree x source rate x
  /// tau_syn. Zero without an operating point.
  std::pair<double, double> mean_conductances(std::size_t target) const {
    double g[2] = {0, 0};
    if (options_.operating_point.rates_hz.empty()) return {0, 0};
    const PopulationSpec& p = in_.populations[target];
    const double tau[2] = {parameter(p, "tau_syn_ex", 5), parameter(p, "tau_syn_in", 10)};
    for (const ProjectionSpec& projection : in_.projections) {
      if (projection.target != target) continue;
      g[projection.receptor] += mean(projection.weight) * expected_indegree(in_, projection) *
                                options_.operating_point.rates_hz[projection.source] * 1e-3 *
                                tau[projection.receptor];
    }
    for (const DriveSpec& drive : in_.drives)
      if (drive.population == target && drive.kind == DriveSpec::Kind::poisson)
        g[drive.receptor] += drive.weight * drive.rate_hz * 1e-3 * tau[drive.receptor];
    return {g[0], g[1]};
  }

  static double mean(const ValueSpec& v) {
    switch (v.kind) {
      case ValueSpec::Kind::uniform:
        return 0.5 * (v.low + v.high);
      case ValueSpec::Kind::normal:
        return v.mean;
      case ValueSpec::Kind::list: {
        double total = 0;
        for (double x : v.values)
          total += x;
        return v.values.empty() ? 0.0 : total / v.values.size();
      }
      default:
        return v.value;
    }
  }

  /// Synaptic time constants and the integer activation per unit of weight of each receptor.
  /// The scale keeps each receptor's total charge: an impulse w adds w k to u, which then
  /// contributes w k / (1 - u_decay) to v over time, as the float model's synaptic trace adds
  /// w p / (1 - P11) (p: its voltage per step per unit of weight, P11: its decay per step).
  void receptors(const PopulationSpec& in, NeuronMap& m, double tau_m, double c_m) {
    const std::string model(in.model->name);
    const double dt = in_.dt_ms;
    if (model == "lif_psc_delta" || model == "if_psc_delta") {
      m.du = 4095;  // u holds one step's input only
      m.u_decay = 0.0;
      m.receptor_scale[0] = 1.0 / s_;
      return;
    }
    const double tau_ex = parameter(in, "tau_syn_ex", 2), tau_in = parameter(in, "tau_syn_in", 2);
    const double tau_u = 0.5 * (tau_ex + tau_in);
    m.du = std::clamp(rounded(decay_constant(tau_u, dt)) - 1.0, 0.0, 4095.0);
    m.u_decay = 1.0 - (m.du + 1.0) / 4096.0;
    if (tau_ex != tau_in)
      note(in.name, "tau_syn_ex " + message_number(tau_ex) + " ms and tau_syn_in " +
                        message_number(tau_in) + " ms merged into one current decay of " +
                        message_number(effective_tau(m.du + 1, dt)) + " ms (du = " +
                        message_number(m.du) + "); weights keep each synapse's total charge");
    else
      note(in.name, "tau_syn " + message_number(tau_ex) + " ms becomes " +
                        message_number(effective_tau(m.du + 1, dt)) +
                        " ms (du = " + message_number(m.du) + ")");
    const double taus[2] = {tau_ex, tau_in};
    for (int r = 0; r < 2; ++r) {
      const double p11 = std::exp(-dt / taus[r]);
      double per_step = 0.0;  // mV per step per unit of weight, right after the jump
      if (model == "lif_psc_exp") {
        per_step = LifPscExp::current_to_voltage(taus[r], tau_m, c_m, dt);
      } else {  // lif_cond_exp: the conductance as a current at a reference voltage
        const double e_rev = parameter(in, r == 0 ? "E_ex" : "E_in", 0);
        per_step = (e_rev - m.v_ref) * dt / c_m;
      }
      m.receptor_scale[r] = per_step * (1.0 - m.u_decay) / (1.0 - p11) / s_;
    }
    if (model == "lif_psc_exp") {
      // NEST's order: a current that arrives at step t moves v from t + 1 on; Lava's LIF adds it
      // to v at once. One more step of delay restores the float model's timing.
      m.delay_shift_steps = 1;
      note(in.name, "incoming delays one step longer: Lava adds u to v in the step it arrives");
    } else {
      note(in.name, "conductance synapses become current synapses at the reference voltage " +
                        message_number(m.v_ref) + " mV: driving forces " +
                        message_number(parameter(in, "E_ex", 0) - m.v_ref) + " mV (ex) and " +
                        message_number(parameter(in, "E_in", 0) - m.v_ref) +
                        " mV (in) held constant");
    }
  }

  /// The initial values of `variable` of `population` as whole numbers, each truncated toward
  /// zero in double precision, as Lava loads float64 values into its integer registers. Written
  /// as fractions, they would be stored in float32 first, which rounds a value just below a
  /// whole number up (99.999999 becomes 100, one LSB more than Lava's 99). Drawn values and
  /// values read from a file become a list: each neuron's draw from the stream the builder
  /// would draw it from ("initial:POPULATION:VARIABLE", docs/network-format.md), so the draws
  /// stay the same.
  ValueSpec whole_numbers(const ValueSpec& x, const PopulationSpec& population,
                          int variable) const {
    ValueSpec whole = x;
    if (x.kind == ValueSpec::Kind::constant) {
      whole.value = std::trunc(x.value);
      return whole;
    }
    whole.kind = ValueSpec::Kind::list;
    if (x.kind == ValueSpec::Kind::list || x.kind == ValueSpec::Kind::file) {
      whole.values =
          read_listed_values(x, population.size, std::filesystem::path(in_.path).parent_path());
    } else {
      const RandomStream stream =
          RandomStream::make(in_.seed, "initial:" + population.name + ":" +
                                           std::string(population.model->state[variable].name));
      whole.values.resize(population.size);
      for (NeuronIndex i = 0; i < population.size; ++i) {
        RandomSequence draws(stream, i);
        whole.values[i] = draw_value(x, draws);
      }
    }
    for (double& v : whole.values)
      v = std::trunc(v);
    return whole;
  }

  void initial_state(const PopulationSpec& in, const NeuronMap& m, double e_l,
                     PopulationSpec& out) {
    const std::string where = in.where + "/initial";
    bool has_v = false;
    std::optional<ValueSpec> u;
    for (const auto& [variable, value] : in.initial) {
      const std::string name(in.model->state[variable].name);
      if (name == "v") {
        out.initial.emplace_back(Loihi2Lif::V, affine(value, 1.0 / s_, -m.v_reset / s_, where));
        has_v = true;
      } else if (name == "i_ex" || name == "g_ex" || name == "i_in" || name == "g_in") {
        const int r = name.ends_with("ex") ? 0 : 1;
        const ValueSpec part = affine(value, m.receptor_scale[r], 0.0, where);
        u = u ? sum(*u, part, where) : part;
      } else if (name != "refractory") {
        note(in.name, "initial " + name + " dropped");
      }
    }
    if (!has_v && e_l != m.v_reset) {
      ValueSpec rest;
      rest.value = (e_l - m.v_reset) / s_;
      out.initial.emplace_back(Loihi2Lif::V, rest);
    }
    if (u) {
      out.initial.emplace_back(Loihi2Lif::U, *u);
      note(in.name, "initial synaptic state merged into u (drawn from u's own stream)");
    }
    if (options_.quantise) {
      for (auto& [variable, value] : out.initial)
        value = whole_numbers(value, out, variable);
    }
  }

  ProjectionSpec projection(const ProjectionSpec& in) {
    ProjectionSpec out = in;
    const PopulationSpec& target = in_.populations[in.target];
    if (!is_mapped(target)) return out;
    const NeuronMap& m = maps_[in.target];
    out.receptor = loihi2_receptor(target, in.receptor);
    std::vector<double> x = weight_values(in.weight, in.where + "/weight");
    for (double& w : x)
      w *= m.receptor_scale[in.receptor];
    quantise(x, "projection " + in.name);
    out.weight = in.weight;
    if (in.weight.kind == ValueSpec::Kind::constant) {
      out.weight.value = x[0];
    } else {
      out.weight.values = x;
    }
    if (m.delay_shift_steps != 0)
      out.delay = affine(in.delay, 1.0, m.delay_shift_steps * in_.dt_ms, in.where + "/delay");
    return out;
  }

  std::vector<double> weight_values(const ValueSpec& w, const std::string& where) {
    if (w.kind == ValueSpec::Kind::constant) return {w.value};
    if (w.kind == ValueSpec::Kind::list) return w.values;
    throw NetworkFileError(where +
                           ": drawn or file weights are not quantised (give a constant or a "
                           "list of values)");
  }

  void drive(const DriveSpec& in) {
    if (!is_mapped(in_.populations[in.population])) {
      out_.network.drives.push_back(in);
      return;
    }
    NeuronMap& m = maps_[in.population];
    if (in.kind == DriveSpec::Kind::current) {
      if (in.amplitudes_pa.size() != 1 || (!in.times_ms.empty() && in.times_ms[0] > 0))
        throw NetworkFileError(in_.path + ": input " + in.name +
                               ": a step current has no fixed-point counterpart (Lava's bias "
                               "is constant)");
      m.bias += in.amplitudes_pa[0] * m.current_to_bias;
      note(in.name,
           "constant current folded into the bias of " + in_.populations[in.population].name);
      return;
    }
    DriveSpec out = in;
    out.receptor = loihi2_receptor(in_.populations[in.population], in.receptor);
    std::vector<double> x{in.weight * m.receptor_scale[in.receptor]};
    quantise(x, "input " + in.name);
    out.weight = x[0];
    out_.network.drives.push_back(out);
  }

  /// Weights rounded to Lava's 8-bit mantissas and exponent (recorded), or left as they are.
  void quantise(std::vector<double>& x, const std::string& element) {
    if (options_.quantise) {
      WeightQuantisation q = quantise_weights(x);
      q.element = element;
      out_.weights.push_back(q);
    }
    double largest = 0.0;
    for (double w : x)
      largest = std::max(largest, std::abs(w));
    if (largest > static_cast<double>(Loihi2Lif::kMaxState))
      note(element, "a weight of " + message_number(largest) +
                        " exceeds u's 24-bit range (2^23): one spike wraps u to the other sign");
  }

  double rounded(double x) const { return options_.quantise ? std::round(x) : x; }

  /// Bias = mantissa << exponent with a 13-bit signed mantissa and the smallest exponent that
  /// holds it.
  void finish_bias(std::size_t index) {
    if (!is_mapped(in_.populations[index])) return;
    const double b = maps_[index].bias;
    auto mantissa_fits = [b](int exp) {
      const double mant = std::round(b / std::ldexp(1.0, exp));
      return mant >= -4096.0 && mant <= 4095.0;
    };
    int exp = 0;
    while (exp < kBiasExponentMax && !mantissa_fits(exp))
      ++exp;
    const double mant = std::clamp(rounded(b / std::ldexp(1.0, exp)), -4096.0, 4095.0);
    std::vector<double>& p = out_.network.populations[index].parameters;
    p[Loihi2Lif::BIAS_MANT] = mant;
    p[Loihi2Lif::BIAS_EXP] = exp;
    const double q = std::ldexp(mant, exp);
    if (b != 0.0)
      note(in_.populations[index].name,
           "bias " + message_number(b * s_) + " mV/step becomes " + message_number(q * s_) +
               " mV/step (" + message_number(mant) + " << " + std::to_string(exp) + ")");
  }

  /// Spike recording is unchanged; sampled state keeps v (u stands for the synaptic variables).
  void probes() {
    out_.network.probes.clear();
    for (const StateProbe& probe : in_.probes) {
      const PopulationSpec& p = in_.populations[probe.population];
      if (!is_mapped(p)) {
        out_.network.probes.push_back(probe);
        continue;
      }
      const std::string name(p.model->state[probe.variable].name);
      StateProbe out = probe;
      if (name == "v") {
        out.variable = Loihi2Lif::V;
      } else if (name == "i_ex" || name == "g_ex") {
        out.variable = Loihi2Lif::U;
      } else {
        continue;  // i_in, g_in share u with the excitatory receptor; refractory is gone
      }
      out_.network.probes.push_back(out);
    }
  }

  /// The loihi2_lif receptor of the float model's receptor: the one of the same name, so that
  /// default projection names (which key the random streams) stay the same.
  static int loihi2_receptor(const PopulationSpec& target, int receptor) {
    const int index = loihi2_model().receptor_index(target.model->receptors[receptor].name);
    return index < 0 ? 0 : index;
  }

  void note(const std::string& element, const std::string& what) {
    out_.notes.push_back(element + ": " + what);
  }

  const NetworkSpec& in_;
  const Loihi2Options& options_;
  Loihi2Export out_;
  double s_ = 0.0;
  std::vector<NeuronMap> maps_;
};

}  // namespace

/// 12-bit decay constant of a time constant before rounding: 4096 (1 - exp(-dt / tau)).
double decay_constant(double tau_ms, double dt_ms) {
  if (!(tau_ms < std::numeric_limits<double>::infinity())) return 0;
  return 4096.0 * (1.0 - std::exp(-dt_ms / tau_ms));
}

WeightQuantisation quantise_weights(std::vector<double>& x) {
  WeightQuantisation q;
  q.weights = x.size();
  double max = 0.0, min = 0.0;
  for (double w : x) {
    max = std::max(max, w);
    min = std::min(min, w);
  }
  const bool mixed = max > 0.0 && min < 0.0;
  // weightutils.py: one sign uses 8 bits of magnitude, mixed signs 7 bits and the sign.
  const double high = mixed ? 127.0 : 255.0, low = mixed ? -128.0 : -255.0;
  q.mantissa_limit = mixed ? 127 : 255;
  auto fits = [&](int e) {
    const double lsb = std::ldexp(1.0, e + kActivationShift);
    return std::round(max / lsb) <= high && std::round(min / lsb) >= low;
  };
  while (!fits(q.exponent) && q.exponent < 62)
    ++q.exponent;
  q.lsb = std::ldexp(1.0, q.exponent + kActivationShift);
  for (double& w : x) {
    const double mantissa = std::round(w / q.lsb);
    const double clipped = std::clamp(mantissa, low, high);
    if (clipped != mantissa) ++q.clipped;
    if (clipped == 0.0 && w != 0.0) ++q.zeroed;
    const double quantised = clipped * q.lsb;
    const double error = std::abs(quantised - w);
    q.max_abs_error = std::max(q.max_abs_error, error);
    if (w != 0.0) q.max_relative_error = std::max(q.max_relative_error, error / std::abs(w));
    w = quantised;
  }
  return q;
}

Loihi2Export quantise_for_loihi2(const NetworkSpec& spec, const Loihi2Options& options) {
  return Quantiser(spec, options).run();
}

bool needs_operating_point(const NetworkSpec& spec) {
  for (const PopulationSpec& p : spec.populations)
    if (p.model->name == "lif_cond_exp") return true;
  return false;
}

}  // namespace snnsim::hardware
