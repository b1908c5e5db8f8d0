#pragma once
// Reset after a spike, shared by the integrate-and-fire models.
//   hard: v <- V_reset                       (NEST, Brian2 default)
//   soft: v <- v - (V_th - V_reset)          (reset by subtraction; keeps the overshoot, as
//                                             spikingjelly's v_reset=None and rate-coded ANN-SNN
//                                             conversions expect)
#include <string_view>

#include "sim/hd.h"

namespace snnsim {

enum class ResetMode { hard = 0, soft = 1 };
inline constexpr std::string_view kResetModeNames[] = {"hard", "soft"};

SNN_HD float reset_potential(ResetMode mode, float v, float v_th, float v_reset) {
  return mode == ResetMode::hard ? v_reset : v - (v_th - v_reset);
}

}  // namespace snnsim
