// Event streams: reading them from .npy or HDF5 files and binning them into count frames.
#include "encoders/event_frames.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "networks/file_extension.h"
#include "networks/hdf5_dataset.h"
#include "networks/npy.h"

namespace snnsim {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw std::runtime_error(path.string() + ": " + what);
}

/// The event from one row of columns; `row` names it in errors.
Event make_event(const std::filesystem::path& path, std::size_t row, double x, double y, double t,
                 double p) {
  const auto coordinate = [&](double value, const char* name) {
    if (!(value >= 0 && value <= std::numeric_limits<std::uint32_t>::max()) ||
        value != std::floor(value)) {
      fail(path, "event " + std::to_string(row) + " has " + name + " = " + std::to_string(value) +
                     ", expected a non-negative integer");
    }
    return static_cast<std::uint32_t>(value);
  };
  if (!std::isfinite(t) || !std::isfinite(p)) {
    fail(path, "event " + std::to_string(row) + " has a non-finite t or p, expected numbers");
  }
  return {coordinate(x, "x"), coordinate(y, "y"), t, p > 0 ? 1 : 0};
}

std::vector<Event> read_npy_events(const std::filesystem::path& path) {
  const NpyArray array = read_npy(path);
  if (array.shape.size() != 2 || array.shape[1] != 4) {
    std::string shape;
    for (std::size_t d : array.shape)
      shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    fail(path, "events have shape [" + shape + "], expected [N, 4] (columns x, y, t, p)");
  }
  std::vector<Event> events(array.shape[0]);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const float* row = array.values.data() + 4 * i;
    events[i] = make_event(path, i, row[0], row[1], row[2], row[3]);
  }
  return events;
}

std::vector<Event> read_hdf5_events(const std::filesystem::path& path) {
  const std::vector<double> x = read_hdf5_vector(path, "x");
  const std::vector<double> y = read_hdf5_vector(path, "y");
  const std::vector<double> t = read_hdf5_vector(path, "t");
  const std::vector<double> p = read_hdf5_vector(path, "p");
  if (y.size() != x.size() || t.size() != x.size() || p.size() != x.size()) {
    fail(path, "datasets x, y, t, p have " + std::to_string(x.size()) + ", " +
                   std::to_string(y.size()) + ", " + std::to_string(t.size()) + ", " +
                   std::to_string(p.size()) + " values, expected equal lengths");
  }
  std::vector<Event> events(x.size());
  for (std::size_t i = 0; i < events.size(); ++i)
    events[i] = make_event(path, i, x[i], y[i], t[i], p[i]);
  return events;
}

}  // namespace

std::vector<float> events_to_frames(std::span<const Event> events, std::size_t height,
                                    std::size_t width, std::size_t frames, FrameSplit split) {
  if (frames == 0) throw std::invalid_argument("events_to_frames: frames must be positive");
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].x >= width || events[i].y >= height) {
      throw std::runtime_error("event " + std::to_string(i) + " at (x " +
                               std::to_string(events[i].x) + ", y " + std::to_string(events[i].y) +
                               ") lies outside the " + std::to_string(width) + "x" +
                               std::to_string(height) + " sensor");
    }
  }
  const std::size_t frame_size = 2 * height * width;
  std::vector<float> counts(frames * frame_size, 0.0f);
  const auto add = [&](const Event& e, std::size_t frame) {
    const std::size_t channel = e.polarity > 0 ? 1 : 0;
    counts[frame * frame_size + (channel * height + e.y) * width + e.x] += 1.0f;
  };
  if (events.empty()) return counts;

  if (split == FrameSplit::by_count) {
    const std::size_t n = events.size();
    for (std::size_t j = 0; j < frames; ++j) {
      for (std::size_t i = j * n / frames; i < (j + 1) * n / frames; ++i)
        add(events[i], j);
    }
    return counts;
  }

  const auto [earliest, latest] = std::minmax_element(
      events.begin(), events.end(), [](const Event& a, const Event& b) { return a.t < b.t; });
  const double start = earliest->t, span = latest->t - start;
  for (const Event& e : events) {
    // Multiplying before dividing keeps window boundaries exact for integer timestamps.
    const double position =
        span > 0 ? (e.t - start) * static_cast<double>(frames) / span : static_cast<double>(frames);
    add(e, std::min(static_cast<std::size_t>(position), frames - 1));
  }
  return counts;
}

std::vector<Event> read_events(const std::filesystem::path& path) {
  const std::string extension = lowercase_extension(path);
  if (extension == ".npy") return read_npy_events(path);
  if (extension == ".h5" || extension == ".hdf5") return read_hdf5_events(path);
  fail(path, "unknown event file extension '" + extension + "', expected .npy, .h5 or .hdf5");
}

}  // namespace snnsim
