#pragma once
// Delta (threshold-crossing) coding of sequences such as audio features or sensor streams: a
// spike whenever the signal has moved by a threshold since the last one, so that only changes
// cost spikes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace snnsim {

/// Delta modulation of `sequence`, [steps][features] in C order. Per feature, a reference r starts
/// at the first sample x[0] (no spikes at step 0); at each step t >= 1,
/// k = trunc((x[t] - r) / threshold) clamped to [-max_level, max_level] is emitted (0: no spike)
/// and r += k * threshold. A change larger than max_level thresholds is thus spread over several
/// steps. Returns [steps][features] levels; with max_level 1 these are ternary spikes -1/0/+1.
/// Throws std::invalid_argument when the size is not steps * features, a sample is not finite,
/// threshold is not positive and finite or max_level is outside 1..127.
std::vector<std::int8_t> delta_encode(std::span<const float> sequence, std::size_t steps,
                                      std::size_t features, float threshold, int max_level = 1);

}  // namespace snnsim
