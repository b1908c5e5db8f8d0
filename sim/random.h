#pragma once
// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC 2011), the generator cuRAND and Random123 ship.
//
// Why counter-based: a draw is a pure function of (seed, stream, index, counter), so the numbers a
// neuron sees depend neither on the thread that computes them nor on the order of computation,
// and CPU and GPU draw the same numbers. Streams are named (a population's name and the purpose of
// the draw, hashed), so adding a population leaves every other population's numbers unchanged.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "sim/hd.h"

namespace snnsim {

struct PhiloxBlock {
  std::uint32_t v[4];
};

SNN_HD void philox_mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

/// Philox4x32 with 10 rounds: four 32-bit random words from a 128-bit counter and a 64-bit key.
SNN_HD PhiloxBlock philox4x32_10(PhiloxBlock counter, std::uint32_t key0, std::uint32_t key1) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t* c = counter.v;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kMul0, c[0], hi0, lo0);
    philox_mulhilo(kMul1, c[2], hi1, lo1);
    const PhiloxBlock next{{hi1 ^ c[1] ^ key0, lo1, hi0 ^ c[3] ^ key1, lo0}};
    counter = next;
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return counter;
}

/// 32-bit FNV-1a: turns a stream name ("poisson:E", "connect:E->I") into a stream id.
constexpr std::uint32_t stream_id(std::string_view name) {
  std::uint32_t hash = 2166136261u;
  for (char ch : name) {
    hash ^= static_cast<unsigned char>(ch);
    hash *= 16777619u;
  }
  return hash;
}

/// Uniform float in [0, 1) with 24 random bits.
SNN_HD float uniform_float(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * 0x1p-24f;
}

/// Uniform double in (0, 1]: never zero, safe for log().
SNN_HD double uniform_open_double(std::uint32_t bits) {
  return (static_cast<double>(bits) + 1.0) * 0x1p-32;
}

/// The key of one named stream under one seed. Draws are addressed by (index, counter): the index
/// is a neuron or row, the counter a time step or a running draw number.
struct RandomStream {
  std::uint32_t key0 = 0, key1 = 0, id = 0;

  static RandomStream make(std::uint64_t seed, std::string_view name) {
    return {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
            stream_id(name)};
  }

  SNN_HD PhiloxBlock block(std::uint32_t index, std::uint64_t counter) const {
    const PhiloxBlock c{{index, static_cast<std::uint32_t>(counter),
                         static_cast<std::uint32_t>(counter >> 32), id}};
    return philox4x32_10(c, key0, key1);
  }
};

/// A sequence of random numbers for one (stream, index), for draws whose count is not known in
/// advance (connectivity rows, Poisson counts). Deterministic for a given (stream, index, start).
class RandomSequence {
 public:
  SNN_HD RandomSequence(const RandomStream& stream, std::uint32_t index, std::uint64_t start = 0)
      : stream_(stream), index_(index), counter_(start) {}

  SNN_HD std::uint32_t next_bits() {
    if (used_ == 4) {
      block_ = stream_.block(index_, counter_++);
      used_ = 0;
    }
    return block_.v[used_++];
  }
  SNN_HD float uniform() { return uniform_float(next_bits()); }
  SNN_HD double uniform_open() { return uniform_open_double(next_bits()); }

  /// Standard normal deviate (Box-Muller; one of the pair is discarded to keep draws stateless).
  SNN_HD double normal() {
    const double u1 = uniform_open(), u2 = uniform_open();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  /// Uniform integer in [0, n) (Lemire's multiply-shift; bias below 2^-32 * n, negligible here).
  SNN_HD std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(next_bits()) * n) >> 32);
  }

  /// Poisson-distributed count with mean `mean`: inversion for small means, a normal
  /// approximation with continuity correction above 100 (relative error of the variance < 1%).
  SNN_HD std::uint32_t poisson(double mean) {
    if (mean <= 0.0) return 0;
    if (mean > 100.0) {
      const double x = mean + std::sqrt(mean) * normal() + 0.5;
      return x < 0.0 ? 0u : static_cast<std::uint32_t>(x);
    }
    // Inversion by sequential search from 0; the expected number of iterations is mean + 1.
    double u = uniform_open();
    double p = std::exp(-mean), cumulative = p;
    std::uint32_t k = 0;
    while (u > cumulative && k < 1000) {
      ++k;
      p *= mean / k;
      cumulative += p;
    }
    return k;
  }

 private:
  RandomStream stream_;
  std::uint32_t index_;
  std::uint64_t counter_;
  PhiloxBlock block_{};
  int used_ = 4;
};

}  // namespace snnsim
