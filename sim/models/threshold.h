#pragma once
// Threshold, reset and refractoriness, shared by the integrate-and-fire models:
//   - refractory neuron (steps left > 0): v held, one step less left, no spike
//   - otherwise v <- the integrated value; if v >= V_th: spike, reset, t_ref of refractoriness
// Resets:
//   hard: v <- V_reset (NEST and Brian2's default)
//   soft: v <- v - (V_th - V_reset), reset by subtraction: keeps the overshoot, as spikingjelly's
//         v_reset=None and rate-coded ANN-to-SNN conversions expect
// Written with bitwise selects rather than branches or ?:, so that GCC vectorises the CPU neuron
// loop (it turns `v = c ? v : x` into a conditional store, which it cannot vectorise).
#include <bit>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "sim/hd.h"
#include "sim/neuron_model.h"

namespace snnsim {

enum class ResetMode { hard = 0, soft = 1 };
inline constexpr std::string_view kResetModeNames[] = {"hard", "soft"};

struct ThresholdRule {
  float v_th, v_reset, refractory_steps;
  ResetMode reset;
};

/// `condition ? if_true : if_false` without a branch.
SNN_HD float select(bool condition, float if_true, float if_false) {
#if defined(__CUDA_ARCH__)
  return condition ? if_true : if_false;  // the GPU predicates this itself
#else
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(condition);
  return std::bit_cast<float>((std::bit_cast<std::uint32_t>(if_true) & mask) |
                              (std::bit_cast<std::uint32_t>(if_false) & ~mask));
#endif
}

/// The rule from a model's parameters (indices of V_th, V_reset, t_ref and reset).
inline ThresholdRule threshold_rule(const ParameterChecker& p, int v_th, int v_reset, int t_ref,
                                    int reset, double dt_ms) {
  return {static_cast<float>(p[v_th]), static_cast<float>(p[v_reset]),
          static_cast<float>(std::round(p[t_ref] / dt_ms)), static_cast<ResetMode>(p[reset])};
}

/// Applies the rule to a neuron whose membrane would be `v_integrated` after this step; updates
/// `v` and `refractory` (steps left) and returns whether it spiked.
SNN_HD bool fire_and_reset(const ThresholdRule& rule, float v_integrated, float& v,
                           float& refractory) {
  const bool was_refractory = refractory > 0.0f;
  const bool spiked = v_integrated >= select(was_refractory, INFINITY, rule.v_th);
  const float reset = select(rule.reset == ResetMode::hard, rule.v_reset,
                             v_integrated - (rule.v_th - rule.v_reset));
  v = select(was_refractory, v, select(spiked, reset, v_integrated));
  refractory =
      select(was_refractory, refractory - 1.0f, select(spiked, rule.refractory_steps, 0.0f));
  return spiked;
}

}  // namespace snnsim
