#pragma once
// lif_psc_delta: leaky integrate-and-fire neuron with delta-shaped synaptic input, as NEST's
// iaf_psc_delta (exact integration).
//
//   dv/dt = -(v - E_L) / tau_m + (I_e + I_ext) / C_m        between spikes
//   v <- v + w                                               for each arriving spike of weight w
//   v >= V_th: spike, reset (hard: v <- V_reset; soft: v <- v - (V_th - V_reset)),
//              then t_ref of refractoriness: v held, arriving spikes discarded (as NEST).
//
// Exact step: v(t+dt) = E_L + (v - E_L) P33 + (I_e + I_ext) P30 + sum(w),
//             P33 = exp(-dt/tau_m), P30 = tau_m / C_m (1 - P33).
//
// | parameter | default  | unit | meaning                                  |
// |-----------|----------|------|------------------------------------------|
// | E_L       | -70      | mV   | resting potential                        |
// | C_m       | 250      | pF   | membrane capacitance                     |
// | tau_m     | 10       | ms   | membrane time constant                   |
// | t_ref     | 2        | ms   | refractory period                        |
// | V_th      | -55      | mV   | spike threshold                          |
// | V_reset   | -70      | mV   | reset potential                          |
// | I_e       | 0        | pA   | constant external current                |
// | reset     | hard     |      | hard or soft reset                       |
//
// State: v (mV, starts at E_L), refractory (steps left). Receptor: v (weights in mV).
#include <array>
#include <cmath>

#include "kernels/neuron_step.h"
#include "sim/models/threshold.h"

namespace snnsim {

struct LifPscDelta {
  static constexpr std::string_view kName = "lif_psc_delta";
  static constexpr std::string_view kSummary =
      "leaky integrate-and-fire, delta synapses (NEST iaf_psc_delta)";

  enum Parameter { E_L, C_M, TAU_M, T_REF, V_TH, V_RESET, I_E, RESET };
  static constexpr std::array kParameters{
      ParameterSpec{"E_L", Dimension::voltage, -70.0, "resting potential"},
      ParameterSpec{"C_m", Dimension::capacitance, 250.0, "membrane capacitance"},
      ParameterSpec{"tau_m", Dimension::time, 10.0, "membrane time constant"},
      ParameterSpec{"t_ref", Dimension::time, 2.0, "refractory period"},
      ParameterSpec{"V_th", Dimension::voltage, -55.0, "spike threshold"},
      ParameterSpec{"V_reset", Dimension::voltage, -70.0, "reset potential"},
      ParameterSpec{"I_e", Dimension::current, 0.0, "constant external current"},
      ParameterSpec{"reset", Dimension::dimensionless, 0.0, "hard or soft reset", kResetModeNames},
  };

  enum StateVariable { V, REFRACTORY };
  static constexpr std::array kState{
      StateSpec{"v", Dimension::voltage, 0.0, "membrane potential", "E_L"},
      StateSpec{"refractory", Dimension::dimensionless, 0.0, "refractory steps left"},
  };

  static constexpr std::array kReceptors{
      ReceptorSpec{"v", Dimension::voltage, "jump of the membrane potential"},
  };

  struct Constants {
    float e_l, p33, p30, i_e;
    ThresholdRule threshold;
  };

  static Constants derive(ParameterChecker& p, double dt_ms) {
    p.require_positive(C_M);
    p.require_positive(TAU_M);
    p.require_non_negative(T_REF);
    p.require(p[V_RESET] < p[V_TH], V_RESET, "must be below V_th");
    const double p33 = std::exp(-dt_ms / p[TAU_M]);
    return {static_cast<float>(p[E_L]), static_cast<float>(p33),
            static_cast<float>(p[TAU_M] / p[C_M] * (1.0 - p33)), static_cast<float>(p[I_E]),
            threshold_rule(p, V_TH, V_RESET, T_REF, RESET, dt_ms)};
  }

  SNN_HD static bool update(const Constants& c, NeuronState s, SynapticInput in, NeuronClock) {
    const float v = c.e_l + (s[V] - c.e_l) * c.p33 + (c.i_e + in.current) * c.p30 + in.receptor[0];
    return fire_and_reset(c.threshold, v, s[V], s[REFRACTORY]);
  }
};

}  // namespace snnsim
