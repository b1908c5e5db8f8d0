#pragma once
// Event-camera (DVS) input of layer graphs: a stream of events binned into frames of per-pixel
// event counts, as spikingjelly's `split_to_np_frames` and Tonic's ToFrame do.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace snnsim {

/// One event at pixel (x, y) and time t. Polarity 0 or 1; values <= 0 count as 0 (OFF) and
/// positive ones as 1 (ON), so that both the 0/1 and the -1/+1 conventions work.
struct Event {
  std::uint32_t x, y;
  double t;
  int polarity;
};

enum class FrameSplit { by_time, by_count };

/// Bins `events` into `frames` frames of shape [2][height][width] (channel = polarity), each pixel
/// the number of its events.
/// - by_time: `frames` equal windows [start, end) from the earliest to the latest event's t (the
///   first and the last of a time-sorted stream); the latest event falls in the last frame, and so
///   do all events when they share one t.
/// - by_count: consecutive groups of events, frame j getting events [j*N/frames, (j+1)*N/frames)
///   with integer division (spikingjelly's split_by='number').
/// Returns [frames][2][height][width] in C order. Throws std::invalid_argument when `frames` is 0
/// and std::runtime_error naming the event's index when an event lies outside the sensor.
std::vector<float> events_to_frames(std::span<const Event> events, std::size_t height,
                                    std::size_t width, std::size_t frames, FrameSplit split);

/// Reads events, chosen by extension:
/// - .npy: an [N, 4] array of columns x, y, t, p. The reader converts to float32, so times are
///   exact only up to 2^24 (16.7 s in microseconds); longer recordings belong in HDF5.
/// - .h5 / .hdf5: 1-D datasets "x", "y", "t" and "p" of equal length.
/// x and y must be non-negative integers and t and p finite. Throws std::runtime_error with one
/// line "<path>: <what is wrong, what was expected>".
std::vector<Event> read_events(const std::filesystem::path& path);

}  // namespace snnsim
