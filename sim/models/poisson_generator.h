#pragma once
// poisson_generator: each neuron emits an independent Poisson spike train of the given rate, at
// most one spike per step: a spike in a step with probability rate * dt (as Brian2's
// PoissonGroup), so the mean rate is exactly `rate` for rate * dt <= 1. The draws come from the
// population's counter-based stream at (neuron, step): reproducible and thread-independent.
//
// | parameter | default | unit | meaning |
// |-----------|---------|------|---------|
// | rate      | 10      | Hz   | rate    |
//
// No state, no receptors.
#include <array>

#include "kernels/neuron_step.h"

namespace snnsim {

struct PoissonGenerator {
  static constexpr std::string_view kName = "poisson_generator";
  static constexpr std::string_view kSummary = "independent Poisson spike trains of a fixed rate";

  enum Parameter { RATE };
  static constexpr std::array kParameters{
      ParameterSpec{"rate", Dimension::frequency, 10.0, "firing rate"},
  };
  static constexpr std::array<StateSpec, 0> kState{};
  static constexpr std::array<ReceptorSpec, 0> kReceptors{};

  struct Constants {
    float spike_probability;
  };

  static Constants derive(ParameterChecker& p, double dt_ms) {
    p.require_non_negative(RATE);
    p.require(p[RATE] * dt_ms * 1e-3 <= 1.0, RATE, "exceeds one spike per step (1/dt)");
    return {static_cast<float>(p[RATE] * dt_ms * 1e-3)};
  }

  SNN_HD static bool update(const Constants& c, NeuronState, SynapticInput, NeuronClock clock) {
    return uniform_float(clock.random_block().v[0]) < c.spike_probability;
  }
};

}  // namespace snnsim
