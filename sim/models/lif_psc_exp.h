#pragma once
// lif_psc_exp: leaky integrate-and-fire neuron with exponentially decaying current-based
// synapses, as NEST's iaf_psc_exp (exact integration, Rotter & Diesmann 1999).
//
//   dv/dt     = -(v - E_L) / tau_m + (I_ex + I_in + I_e + I_ext) / C_m
//   dI_ex/dt  = -I_ex / tau_syn_ex,   I_ex <- I_ex + w   for a spike on receptor "ex"
//   dI_in/dt  = -I_in / tau_syn_in,   I_in <- I_in + w   for a spike on receptor "in" (w < 0)
//   v >= V_th: spike, reset, t_ref of refractoriness (v held; the currents keep decaying).
//
// Exact step (NEST's order: integrate v with the currents at the start of the step, decay the
// currents, add this step's spikes, test the threshold):
//   v   <- E_L + (v - E_L) P22 + I_ex P21ex + I_in P21in + (I_e + I_ext) P20
//   I_x <- I_x P11x + w_x
//   P22 = exp(-dt/tau_m), P11x = exp(-dt/tau_syn_x), P20 = tau_m/C_m (1 - P22),
//   P21x = tau_syn_x tau_m / (C_m (tau_m - tau_syn_x)) (P22 - P11x)   (dt/C_m P22 if equal).
//
// | parameter  | default | unit | meaning                          |
// |------------|---------|------|----------------------------------|
// | E_L        | -70     | mV   | resting potential                |
// | C_m        | 250     | pF   | membrane capacitance             |
// | tau_m      | 10      | ms   | membrane time constant           |
// | tau_syn_ex | 2       | ms   | excitatory current time constant |
// | tau_syn_in | 2       | ms   | inhibitory current time constant |
// | t_ref      | 2       | ms   | refractory period                |
// | V_th       | -55     | mV   | spike threshold                  |
// | V_reset    | -70     | mV   | reset potential                  |
// | I_e        | 0       | pA   | constant external current        |
// | reset      | hard    |      | hard or soft reset               |
//
// State: v (mV, starts at E_L), i_ex, i_in (pA), refractory (steps left).
// Receptors: ex, in (weights in pA; inhibitory weights are negative, as in NEST).
#include <array>
#include <cmath>

#include "kernels/neuron_step.h"
#include "sim/models/threshold.h"

namespace snnsim {

struct LifPscExp {
  static constexpr std::string_view kName = "lif_psc_exp";
  static constexpr std::string_view kSummary =
      "leaky integrate-and-fire, exponential current synapses (NEST iaf_psc_exp)";

  enum Parameter { E_L, C_M, TAU_M, TAU_SYN_EX, TAU_SYN_IN, T_REF, V_TH, V_RESET, I_E, RESET };
  static constexpr std::array kParameters{
      ParameterSpec{"E_L", Dimension::voltage, -70.0, "resting potential"},
      ParameterSpec{"C_m", Dimension::capacitance, 250.0, "membrane capacitance"},
      ParameterSpec{"tau_m", Dimension::time, 10.0, "membrane time constant"},
      ParameterSpec{"tau_syn_ex", Dimension::time, 2.0, "excitatory current time constant"},
      ParameterSpec{"tau_syn_in", Dimension::time, 2.0, "inhibitory current time constant"},
      ParameterSpec{"t_ref", Dimension::time, 2.0, "refractory period"},
      ParameterSpec{"V_th", Dimension::voltage, -55.0, "spike threshold"},
      ParameterSpec{"V_reset", Dimension::voltage, -70.0, "reset potential"},
      ParameterSpec{"I_e", Dimension::current, 0.0, "constant external current"},
      ParameterSpec{"reset", Dimension::dimensionless, 0.0, "hard or soft reset", kResetModeNames},
  };

  enum StateVariable { V, I_EX, I_IN, REFRACTORY };
  static constexpr std::array kState{
      StateSpec{"v", Dimension::voltage, 0.0, "membrane potential", "E_L"},
      StateSpec{"i_ex", Dimension::current, 0.0, "excitatory synaptic current"},
      StateSpec{"i_in", Dimension::current, 0.0, "inhibitory synaptic current"},
      StateSpec{"refractory", Dimension::dimensionless, 0.0, "refractory steps left"},
  };

  static constexpr std::array kReceptors{
      ReceptorSpec{"ex", Dimension::current, "excitatory current jump"},
      ReceptorSpec{"in", Dimension::current, "inhibitory current jump (negative)"},
  };

  struct Constants {
    float e_l, p22, p20, p11_ex, p11_in, p21_ex, p21_in, i_e;
    ThresholdRule threshold;
  };

  /// Propagator from a synaptic current to the membrane over one step, in mV/pA.
  static double current_to_voltage(double tau_syn, double tau_m, double c_m, double dt) {
    const double p22 = std::exp(-dt / tau_m), p11 = std::exp(-dt / tau_syn);
    if (std::abs(tau_m - tau_syn) < 1e-9 * tau_m) return dt / c_m * p22;
    return tau_syn * tau_m / (c_m * (tau_m - tau_syn)) * (p22 - p11);
  }

  static Constants derive(ParameterChecker& p, double dt_ms) {
    for (int positive : {C_M, TAU_M, TAU_SYN_EX, TAU_SYN_IN})
      p.require_positive(positive);
    p.require_non_negative(T_REF);
    p.require(p[V_RESET] < p[V_TH], V_RESET, "must be below V_th");
    const double p22 = std::exp(-dt_ms / p[TAU_M]);
    auto f = [](double x) { return static_cast<float>(x); };
    return {f(p[E_L]),
            f(p22),
            f(p[TAU_M] / p[C_M] * (1.0 - p22)),
            f(std::exp(-dt_ms / p[TAU_SYN_EX])),
            f(std::exp(-dt_ms / p[TAU_SYN_IN])),
            f(current_to_voltage(p[TAU_SYN_EX], p[TAU_M], p[C_M], dt_ms)),
            f(current_to_voltage(p[TAU_SYN_IN], p[TAU_M], p[C_M], dt_ms)),
            f(p[I_E]),
            threshold_rule(p, V_TH, V_RESET, T_REF, RESET, dt_ms)};
  }

  SNN_HD static bool update(const Constants& c, NeuronState s, SynapticInput in, NeuronClock) {
    const float v = c.e_l + (s[V] - c.e_l) * c.p22 + s[I_EX] * c.p21_ex + s[I_IN] * c.p21_in +
                    (c.i_e + in.current) * c.p20;
    s[I_EX] = s[I_EX] * c.p11_ex + in.receptor[0];
    s[I_IN] = s[I_IN] * c.p11_in + in.receptor[1];
    return fire_and_reset(c.threshold, v, s[V], s[REFRACTORY]);
  }
};

}  // namespace snnsim
