// Delta modulation: per feature, a reference that follows the signal in steps of the threshold.
#include "encoders/delta_encoder.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace snnsim {

std::vector<std::int8_t> delta_encode(std::span<const float> sequence, std::size_t steps,
                                      std::size_t features, float threshold, int max_level) {
  if (!(threshold > 0) || !std::isfinite(threshold)) {
    throw std::invalid_argument("delta_encode: threshold is " + std::to_string(threshold) +
                                ", expected a positive finite number");
  }
  if (max_level < 1 || max_level > 127) {
    throw std::invalid_argument("delta_encode: max_level is " + std::to_string(max_level) +
                                ", expected 1 to 127");
  }
  if (sequence.size() != steps * features) {
    throw std::invalid_argument(
        "delta_encode: sequence has " + std::to_string(sequence.size()) +
        " values, expected steps * features = " + std::to_string(steps * features));
  }
  for (std::size_t i = 0; i < sequence.size(); ++i) {
    if (!std::isfinite(sequence[i])) {
      throw std::invalid_argument("delta_encode: value at step " + std::to_string(i / features) +
                                  ", feature " + std::to_string(i % features) + " is not finite");
    }
  }
  std::vector<std::int8_t> levels(steps * features, 0);
  const double limit = max_level;
  for (std::size_t f = 0; f < features; ++f) {
    // The reference in double: it accumulates many threshold steps over long sequences.
    double reference = sequence[f];
    for (std::size_t t = 1; t < steps; ++t) {
      const double k = std::trunc(
          std::clamp((sequence[t * features + f] - reference) / threshold, -limit, limit));
      levels[t * features + f] = static_cast<std::int8_t>(k);
      reference += k * threshold;
    }
  }
  return levels;
}

}  // namespace snnsim
