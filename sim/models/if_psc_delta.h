#pragma once
// if_psc_delta: non-leaky integrate-and-fire neuron with delta synapses (a perfect integrator).
//
//   dv/dt = (I_e + I_ext) / C_m;   v <- v + w for each arriving spike of weight w
//   v >= V_th: spike, reset (hard: v <- V_reset; soft: v <- v - (V_th - V_reset)),
//              then t_ref of refractoriness (v held, arriving spikes discarded).
//
// | parameter | default | unit | meaning                   |
// |-----------|---------|------|---------------------------|
// | C_m       | 250     | pF   | membrane capacitance      |
// | t_ref     | 0       | ms   | refractory period         |
// | V_th      | -55     | mV   | spike threshold           |
// | V_reset   | -70     | mV   | reset potential           |
// | I_e       | 0       | pA   | constant external current |
// | reset     | hard    |      | hard or soft reset        |
//
// State: v (mV, starts at V_reset), refractory (steps left). Receptor: v (weights in mV).
#include <array>
#include <cmath>

#include "kernels/neuron_step.h"
#include "sim/models/threshold.h"

namespace snnsim {

struct IfPscDelta {
  static constexpr std::string_view kName = "if_psc_delta";
  static constexpr std::string_view kSummary =
      "non-leaky integrate-and-fire (perfect integrator), delta synapses";

  enum Parameter { C_M, T_REF, V_TH, V_RESET, I_E, RESET };
  static constexpr std::array kParameters{
      ParameterSpec{"C_m", Dimension::capacitance, 250.0, "membrane capacitance"},
      ParameterSpec{"t_ref", Dimension::time, 0.0, "refractory period"},
      ParameterSpec{"V_th", Dimension::voltage, -55.0, "spike threshold"},
      ParameterSpec{"V_reset", Dimension::voltage, -70.0, "reset potential"},
      ParameterSpec{"I_e", Dimension::current, 0.0, "constant external current"},
      ParameterSpec{"reset", Dimension::dimensionless, 0.0, "hard or soft reset", kResetModeNames},
  };

  enum StateVariable { V, REFRACTORY };
  static constexpr std::array kState{
      StateSpec{"v", Dimension::voltage, 0.0, "membrane potential", "V_reset"},
      StateSpec{"refractory", Dimension::dimensionless, 0.0, "refractory steps left"},
  };

  static constexpr std::array kReceptors{
      ReceptorSpec{"v", Dimension::voltage, "jump of the membrane potential"},
  };

  struct Constants {
    float dt_over_c, i_e;
    ThresholdRule threshold;
  };

  static Constants derive(ParameterChecker& p, double dt_ms) {
    p.require_positive(C_M);
    p.require_non_negative(T_REF);
    p.require(p[V_RESET] < p[V_TH], V_RESET, "must be below V_th");
    return {static_cast<float>(dt_ms / p[C_M]), static_cast<float>(p[I_E]),
            threshold_rule(p, V_TH, V_RESET, T_REF, RESET, dt_ms)};
  }

  SNN_HD static bool update(const Constants& c, NeuronState s, SynapticInput in, NeuronClock) {
    const float v = s[V] + (c.i_e + in.current) * c.dt_over_c + in.receptor[0];
    return fire_and_reset(c.threshold, v, s[V], s[REFRACTORY]);
  }
};

}  // namespace snnsim
