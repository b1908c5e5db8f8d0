#pragma once
// lif_cond_exp: leaky integrate-and-fire neuron with exponentially decaying conductance-based
// synapses, the COBA network of Brette et al. 2007 (Benchmark 1; Vogels & Abbott 2005).
//
//   C_m dv/dt = g_L (E_L - v) + g_ex (E_ex - v) + g_in (E_in - v) + I_e + I_ext
//   dg_ex/dt  = -g_ex / tau_syn_ex,   g_ex <- g_ex + w   for a spike on receptor "ex"
//   dg_in/dt  = -g_in / tau_syn_in,   g_in <- g_in + w   for a spike on receptor "in"
//   v >= V_th: spike, reset, t_ref of refractoriness (v held; the conductances keep decaying).
//
// Step, in the order Brian2 uses for this benchmark (spikes of the previous step are already in
// the conductances when the step integrates): add this step's arrivals to g_ex and g_in; advance
// v by forward Euler (as Brian2 and the benchmark's reference implementations; stable while
// dt (g_L + g_ex + g_in) / C_m < 2); decay g_ex and g_in exactly; test the threshold.
//
// | parameter  | default | unit | meaning                              |
// |------------|---------|------|--------------------------------------|
// | E_L        | -60     | mV   | leak reversal potential              |
// | C_m        | 200     | pF   | membrane capacitance                 |
// | g_L        | 10      | nS   | leak conductance (tau_m = C_m / g_L) |
// | E_ex       | 0       | mV   | excitatory reversal potential        |
// | E_in       | -80     | mV   | inhibitory reversal potential        |
// | tau_syn_ex | 5       | ms   | excitatory conductance time constant |
// | tau_syn_in | 10      | ms   | inhibitory conductance time constant |
// | t_ref      | 5       | ms   | refractory period                    |
// | V_th       | -50     | mV   | spike threshold                      |
// | V_reset    | -60     | mV   | reset potential                      |
// | I_e        | 0       | pA   | constant external current            |
// | reset      | hard    |      | hard or soft reset                   |
//
// State: v (mV, starts at E_L), g_ex, g_in (nS), refractory (steps left).
// Receptors: ex, in (weights in nS, positive).
#include <array>
#include <cmath>

#include "kernels/neuron_step.h"
#include "sim/models/threshold.h"

namespace snnsim {

struct LifCondExp {
  static constexpr std::string_view kName = "lif_cond_exp";
  static constexpr std::string_view kSummary =
      "leaky integrate-and-fire, exponential conductance synapses (COBA, Brette et al. 2007)";

  enum Parameter {
    E_L,
    C_M,
    G_L,
    E_EX,
    E_IN,
    TAU_SYN_EX,
    TAU_SYN_IN,
    T_REF,
    V_TH,
    V_RESET,
    I_E,
    RESET
  };
  static constexpr std::array kParameters{
      ParameterSpec{"E_L", Dimension::voltage, -60.0, "leak reversal potential"},
      ParameterSpec{"C_m", Dimension::capacitance, 200.0, "membrane capacitance"},
      ParameterSpec{"g_L", Dimension::conductance, 10.0, "leak conductance"},
      ParameterSpec{"E_ex", Dimension::voltage, 0.0, "excitatory reversal potential"},
      ParameterSpec{"E_in", Dimension::voltage, -80.0, "inhibitory reversal potential"},
      ParameterSpec{"tau_syn_ex", Dimension::time, 5.0, "excitatory conductance time constant"},
      ParameterSpec{"tau_syn_in", Dimension::time, 10.0, "inhibitory conductance time constant"},
      ParameterSpec{"t_ref", Dimension::time, 5.0, "refractory period"},
      ParameterSpec{"V_th", Dimension::voltage, -50.0, "spike threshold"},
      ParameterSpec{"V_reset", Dimension::voltage, -60.0, "reset potential"},
      ParameterSpec{"I_e", Dimension::current, 0.0, "constant external current"},
      ParameterSpec{"reset", Dimension::dimensionless, 0.0, "hard or soft reset", kResetModeNames},
  };

  enum StateVariable { V, G_EX, G_IN, REFRACTORY };
  static constexpr std::array kState{
      StateSpec{"v", Dimension::voltage, 0.0, "membrane potential", "E_L"},
      StateSpec{"g_ex", Dimension::conductance, 0.0, "excitatory conductance"},
      StateSpec{"g_in", Dimension::conductance, 0.0, "inhibitory conductance"},
      StateSpec{"refractory", Dimension::dimensionless, 0.0, "refractory steps left"},
  };

  static constexpr std::array kReceptors{
      ReceptorSpec{"ex", Dimension::conductance, "excitatory conductance jump"},
      ReceptorSpec{"in", Dimension::conductance, "inhibitory conductance jump"},
  };

  struct Constants {
    float e_l, dt_over_c, g_l, e_ex, e_in, decay_ex, decay_in, i_e;
    ThresholdRule threshold;
  };

  static Constants derive(ParameterChecker& p, double dt_ms) {
    for (int positive : {C_M, G_L, TAU_SYN_EX, TAU_SYN_IN})
      p.require_positive(positive);
    p.require_non_negative(T_REF);
    p.require(p[V_RESET] < p[V_TH], V_RESET, "must be below V_th");
    p.require(dt_ms * p[G_L] / p[C_M] < 1.0, G_L, "makes dt * g_L / C_m >= 1: Euler is unstable");
    auto f = [](double x) { return static_cast<float>(x); };
    return {f(p[E_L]),
            f(dt_ms / p[C_M]),
            f(p[G_L]),
            f(p[E_EX]),
            f(p[E_IN]),
            f(std::exp(-dt_ms / p[TAU_SYN_EX])),
            f(std::exp(-dt_ms / p[TAU_SYN_IN])),
            f(p[I_E]),
            threshold_rule(p, V_TH, V_RESET, T_REF, RESET, dt_ms)};
  }

  SNN_HD static bool update(const Constants& c, NeuronState s, SynapticInput in, NeuronClock) {
    const float g_ex = s[G_EX] + in.receptor[0];
    const float g_in = s[G_IN] + in.receptor[1];
    const float v = s[V];
    const float v_next = v + c.dt_over_c * (c.g_l * (c.e_l - v) + g_ex * (c.e_ex - v) +
                                            g_in * (c.e_in - v) + c.i_e + in.current);
    s[G_EX] = g_ex * c.decay_ex;
    s[G_IN] = g_in * c.decay_in;
    return fire_and_reset(c.threshold, v_next, s[V], s[REFRACTORY]);
  }
};

}  // namespace snnsim
