#pragma once
// loihi2_lif: Lava's bit-accurate leaky integrate-and-fire neuron of Loihi (the CUBA LIF of
// lava-nc/lava src/lava/proc/lif/models.py, AbstractPyLifModelFixed and PyLifModelBitAcc). All
// parameters and state are integers; the state is kept in the float arrays, exact because every
// value stays within 24 bits.
//
//   u[t] = wrap24( trunc(u[t-1] (4096 - (du + 1)) / 4096) + a[t] )
//   v[t] = clip24( trunc(v[t-1] (4096 - dv) / 4096) + u[t] + bias )
//   v[t] > vth * 2^6: spike, v[t] <- 0 (u keeps its value)
//
//   trunc: rounding toward zero, which is Lava's sign(x) * (|x| >> 12) on an int64 product.
//   wrap24: u > 2^23 becomes u - 2^24, u <= -2^23 becomes u + 2^24 (Lava's wrap-around).
//   clip24: v is clipped to [-(2^23 - 1), 2^23 - 1].
//   bias = bias_mant << bias_exp.
//   a[t]: the receptor sum. Weights are integers already scaled as Lava's Dense and LIF would
//         scale them: mantissa << weight_exp << 6 (the activation shift), so a[t] is added as is.
//
// The current decay constant is du + 1 (Lava's ds_offset = 1), so du = 4095 clears u every step:
// delta synapses. The voltage decay constant is dv (dm_offset = 0), so dv = 0 is a perfect
// integrator. Lava's LIF has no refractory period and only this hard reset to 0.
//
// arithmetic = float runs the same equations with the same parameters in float32, without
// rounding, wrap-around or clipping: the mapped network before quantisation, so that an export
// report can tell the error of the mapping from that of the fixed point (export/loihi2.h). The
// parameters may then be fractional; their ranges stay.
//
// | parameter  | default | unit | meaning                                         |
// |------------|---------|------|-------------------------------------------------|
// | du         | 0       |      | current decay, 12 bits (0 to 4095)              |
// | dv         | 0       |      | voltage decay, 12 bits (0 to 4095)              |
// | vth        | 10      |      | threshold mantissa, 17 bits; threshold vth << 6 |
// | bias_mant  | 0       |      | bias mantissa, 13 bits signed (-4096 to 4095)   |
// | bias_exp   | 0       |      | bias exponent, 3 bits (0 to 7)                  |
// | arithmetic | fixed   |      | fixed (bit-accurate) or float (unrounded)       |
//
// State: u, v (integers, start at 0; non-integer initial values are truncated toward zero at the
// first step, as loading them into 24-bit registers would). Receptors: a_in (integer weights), and
// ex, in, v: the same input under other names.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "kernels/neuron_step.h"

namespace snnsim {

inline constexpr std::string_view kLoihi2ArithmeticNames[] = {"fixed", "float"};

struct Loihi2Lif {
  static constexpr std::string_view kName = "loihi2_lif";
  static constexpr std::string_view kSummary =
      "Loihi 2 fixed-point LIF, bit-accurate with Lava's PyLifModelBitAcc (integer state)";

  enum Parameter { DU, DV, VTH, BIAS_MANT, BIAS_EXP, ARITHMETIC };
  static constexpr std::array kParameters{
      ParameterSpec{"du", Dimension::dimensionless, 0.0, "current decay (0 to 4095)"},
      ParameterSpec{"dv", Dimension::dimensionless, 0.0, "voltage decay (0 to 4095)"},
      ParameterSpec{"vth", Dimension::dimensionless, 10.0, "threshold mantissa (0 to 131071)"},
      ParameterSpec{"bias_mant", Dimension::dimensionless, 0.0, "bias mantissa (-4096 to 4095)"},
      ParameterSpec{"bias_exp", Dimension::dimensionless, 0.0, "bias exponent (0 to 7)"},
      ParameterSpec{"arithmetic", Dimension::dimensionless, 0.0,
                    "fixed (bit-accurate) or float (the same equations unrounded)",
                    kLoihi2ArithmeticNames},
  };

  enum StateVariable { U, V };
  static constexpr std::array kState{
      StateSpec{"u", Dimension::dimensionless, 0.0, "current (24-bit integer)"},
      StateSpec{"v", Dimension::dimensionless, 0.0, "voltage (24-bit integer)"},
  };

  // Lava sums every connection into one a_in port; ex, in and v are the same input under the
  // receptor names of the float models, so that an exported network keeps its projections'
  // default names, which key their random streams (the same synapses are drawn).
  static constexpr std::array kReceptors{
      ReceptorSpec{"a_in", Dimension::dimensionless, "integer activation, already shifted"},
      ReceptorSpec{"ex", Dimension::dimensionless, "the same input as a_in"},
      ReceptorSpec{"in", Dimension::dimensionless, "the same input as a_in"},
      ReceptorSpec{"v", Dimension::dimensionless, "the same input as a_in"},
  };

  static constexpr std::int64_t kDecayUnity = 4096;  // decays are 12-bit fractions
  static constexpr std::int64_t kMaxState = std::int64_t{1} << 23;
  static constexpr int kThresholdShift = 6;

  struct Constants {
    std::int64_t u_factor, v_factor;  ///< 4096 - (du + 1), 4096 - dv
    std::int64_t bias;                ///< bias_mant << bias_exp
    std::int64_t threshold;           ///< vth << 6
    bool fixed;                       ///< arithmetic = fixed
    float u_keep, v_keep;             ///< float: 1 - (du + 1) / 4096, 1 - dv / 4096
    float bias_float, threshold_float;
  };

  static Constants derive(ParameterChecker& p, double /*dt_ms*/) {
    const bool fixed = p[ARITHMETIC] == 0;
    auto value_in = [&p, fixed](int index, double low, double high) {
      const double x = p[index];
      const bool whole = !fixed || x == std::floor(x);
      p.require(whole && x >= low && x <= high, index,
                std::string(fixed ? "must be a whole number" : "must be a number") + " from " +
                    std::to_string(static_cast<long>(low)) + " to " +
                    std::to_string(static_cast<long>(high)));
      return x >= low && x <= high ? x : 0.0;
    };
    const double du = value_in(DU, 0, 4095), dv = value_in(DV, 0, 4095);
    const double vth = value_in(VTH, 0, 131071);
    const double mant = value_in(BIAS_MANT, -4096, 4095);
    const double exp = value_in(BIAS_EXP, 0, 7);  // whole in fixed arithmetic
    const double unity = static_cast<double>(kDecayUnity);
    const double bias = mant * std::exp2(exp);
    const double threshold = std::ldexp(vth, kThresholdShift);
    // The integer constants are exact only in fixed arithmetic, where every value is whole.
    return {kDecayUnity - (static_cast<std::int64_t>(du) + 1),
            kDecayUnity - static_cast<std::int64_t>(dv),
            static_cast<std::int64_t>(bias),
            static_cast<std::int64_t>(threshold),
            fixed,
            static_cast<float>(1.0 - (du + 1.0) / unity),
            static_cast<float>(1.0 - dv / unity),
            static_cast<float>(bias),
            static_cast<float>(threshold)};
  }

  /// A float state or input as an integer: exact for the integers the model stores; others are
  /// truncated toward zero, and clamped first so that the conversion is defined.
  SNN_HD static std::int64_t to_integer(float x) {
    constexpr float kLimit = 1073741824.0f;  // 2^30, far beyond any 24-bit value or input sum
    return static_cast<std::int64_t>(fminf(fmaxf(x, -kLimit), kLimit));
  }

  /// x * factor / 4096 rounded toward zero: C++'s integer division truncates, which is exactly
  /// Lava's sign(x) * (|x| >> 12).
  SNN_HD static std::int64_t decay(std::int64_t x, std::int64_t factor) {
    return x * factor / kDecayUnity;
  }

  SNN_HD static bool update(const Constants& c, NeuronState s, SynapticInput in, NeuronClock) {
    // Integer weights sum exactly in float while |sum| < 2^24.
    const float a = in.receptor[0] + in.receptor[1] + in.receptor[2] + in.receptor[3];
    if (!c.fixed) {
      // Lava's order: u decays, then takes the input; v decays, then takes the new u.
      const float u = s[U] * c.u_keep + a;
      const float v = s[V] * c.v_keep + u + c.bias_float;
      const bool spiked = v > c.threshold_float;
      s[U] = u;
      s[V] = spiked ? 0.0f : v;
      return spiked;
    }
    std::int64_t u = decay(to_integer(s[U]), c.u_factor) + to_integer(a);
    u = u > kMaxState ? u - 2 * kMaxState : (u <= -kMaxState ? u + 2 * kMaxState : u);
    std::int64_t v = decay(to_integer(s[V]), c.v_factor) + u + c.bias;
    v = v > kMaxState - 1 ? kMaxState - 1 : (v < 1 - kMaxState ? 1 - kMaxState : v);
    const bool spiked = v > c.threshold;
    s[U] = static_cast<float>(u);
    s[V] = static_cast<float>(spiked ? 0 : v);
    return spiked;
  }
};

}  // namespace snnsim
