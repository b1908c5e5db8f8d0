// Binning of hand-placed events into count frames (both splits) and reading event files written
// here with write_npy and the HDF5 C API.
#include "encoders/event_frames.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "networks/npy.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::uint32_t kHeight = 2, kWidth = 3;

/// The count at frame `f`, polarity channel `c`, pixel (x, y) of [frames][2][kHeight][kWidth].
float count(const std::vector<float>& frames, std::size_t f, std::size_t c, std::size_t x,
            std::size_t y) {
  return frames.at(f * 2 * kHeight * kWidth + (c * kHeight + y) * kWidth + x);
}

/// The number of events in each frame.
std::vector<float> per_frame(const std::vector<float>& frames, std::size_t n) {
  std::vector<float> totals(n);
  const std::size_t size = 2 * kHeight * kWidth;
  for (std::size_t f = 0; f < n; ++f)
    totals[f] = std::accumulate(frames.begin() + f * size, frames.begin() + (f + 1) * size, 0.0f);
  return totals;
}

TEST(EventFramesTest, ByTimeUsesEqualWindowsFromFirstToLastEvent) {
  // Windows of 2 time units over [0, 10]: t = 4 lies on the boundary of frame 2, t = 10 closes
  // the last frame, frames 1 and 3 stay empty.
  const std::vector<Event> events = {
      {0, 0, 0.0, 1}, {1, 0, 4.0, 0}, {1, 0, 4.0, 0}, {2, 1, 10.0, -1}};
  const std::vector<float> frames =
      events_to_frames(events, kHeight, kWidth, 5, FrameSplit::by_time);
  ASSERT_EQ(frames.size(), 5 * 2 * kHeight * kWidth);
  EXPECT_THAT(per_frame(frames, 5), ElementsAre(1, 0, 2, 0, 1));
  EXPECT_EQ(count(frames, 0, 1, 0, 0), 1);
  EXPECT_EQ(count(frames, 2, 0, 1, 0), 2);
  EXPECT_EQ(count(frames, 4, 0, 2, 1), 1);  // polarity -1 counts as OFF

  // Two windows of 5: the boundary event at t = 5 opens the second.
  const std::vector<Event> halves = {
      {0, 0, 0.0, 1}, {0, 0, 4.9, 1}, {0, 0, 5.0, 1}, {0, 0, 10.0, 1}};
  EXPECT_THAT(per_frame(events_to_frames(halves, kHeight, kWidth, 2, FrameSplit::by_time), 2),
              ElementsAre(2, 2));
}

TEST(EventFramesTest, ByCountSplitsLikeSpikingjelly) {
  std::vector<Event> events;
  for (std::uint32_t i = 0; i < 5; ++i)
    events.push_back({i % kWidth, 0, static_cast<double>(i), static_cast<int>(i % 2)});
  // Frame j gets events [j*5/3, (j+1)*5/3): [0, 1), [1, 3), [3, 5).
  const std::vector<float> frames =
      events_to_frames(events, kHeight, kWidth, 3, FrameSplit::by_count);
  EXPECT_THAT(per_frame(frames, 3), ElementsAre(1, 2, 2));
  EXPECT_EQ(count(frames, 1, 1, 1, 0), 1);  // event 1
  EXPECT_EQ(count(frames, 1, 0, 2, 0), 1);  // event 2
  EXPECT_EQ(count(frames, 2, 1, 0, 0), 1);  // event 3
  EXPECT_EQ(count(frames, 2, 0, 1, 0), 1);  // event 4

  // More frames than events: [0, 0), [0, 1), [1, 2); the first frame stays empty.
  const std::vector<Event> two(events.begin(), events.begin() + 2);
  EXPECT_THAT(per_frame(events_to_frames(two, kHeight, kWidth, 3, FrameSplit::by_count), 3),
              ElementsAre(0, 1, 1));
}

TEST(EventFramesTest, SingleEventFallsInTheLastFrame) {
  const std::vector<Event> one = {{2, 1, 7.0, 1}};
  for (FrameSplit split : {FrameSplit::by_time, FrameSplit::by_count}) {
    const std::vector<float> frames = events_to_frames(one, kHeight, kWidth, 3, split);
    EXPECT_THAT(per_frame(frames, 3), ElementsAre(0, 0, 1));
    EXPECT_EQ(count(frames, 2, 1, 2, 1), 1);
  }
  EXPECT_THAT(events_to_frames({}, kHeight, kWidth, 2, FrameSplit::by_time), ::testing::Each(0.0f));
}

TEST(EventFramesTest, PreservesTheTotalCount) {
  std::vector<Event> events;
  std::uint32_t state = 12345;
  for (int i = 0; i < 1000; ++i) {
    state = state * 1664525u + 1013904223u;
    events.push_back({state % kWidth, (state >> 8) % kHeight, (state >> 12) % 977 * 0.37,
                      static_cast<int>((state >> 20) % 3) - 1});
  }
  for (FrameSplit split : {FrameSplit::by_time, FrameSplit::by_count}) {
    const std::vector<float> frames = events_to_frames(events, kHeight, kWidth, 7, split);
    EXPECT_EQ(std::accumulate(frames.begin(), frames.end(), 0.0f), 1000.0f);
  }
}

TEST(EventFramesTest, RefusesEventsOutsideTheSensor) {
  const std::vector<Event> events = {{0, 0, 0.0, 1}, {2, 1, 1.0, 1}, {3, 0, 2.0, 1}};
  try {
    events_to_frames(events, kHeight, kWidth, 2, FrameSplit::by_time);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "event 2 at (x 3, y 0) lies outside the 3x2 sensor");
  }
  EXPECT_THROW(events_to_frames(events, kHeight, kWidth, 0, FrameSplit::by_count),
               std::invalid_argument);
}

class EventFilesTest : public testing::TemporaryFolderTest {
 protected:
  /// Writes `values` as the 1-D dataset `name` of element type `type`.
  template <typename T>
  static void write_dataset(hid_t file, const char* name, hid_t type,
                            const std::vector<T>& values) {
    const hsize_t size = values.size();
    const hid_t space = H5Screate_simple(1, &size, nullptr);
    const hid_t dataset =
        H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
    H5Dclose(dataset);
    H5Sclose(space);
  }

  static std::string error(const fs::path& file) {
    try {
      read_events(file);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(EventFilesTest, ReadsNpyRows) {
  const fs::path file = path("events.npy");
  write_npy(file, {3, 4}, std::vector<float>{0, 1, 0.5f, 1, /**/ 2, 0, 1.5f, 0, /**/ 1, 1, 3, -1});
  const std::vector<Event> events = read_events(file);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].x, 0u);
  EXPECT_EQ(events[0].y, 1u);
  EXPECT_EQ(events[0].t, 0.5);
  EXPECT_EQ(events[0].polarity, 1);
  EXPECT_EQ(events[1].x, 2u);
  EXPECT_EQ(events[1].polarity, 0);
  EXPECT_EQ(events[2].t, 3.0);
  EXPECT_EQ(events[2].polarity, 0);

  const fs::path wrong = path("wrong.npy");
  write_npy(wrong, {2, 3}, std::vector<float>(6));
  EXPECT_EQ(error(wrong),
            wrong.string() + ": events have shape [2, 3], expected [N, 4] (columns x, y, t, p)");
  const fs::path negative = path("negative.NPY");
  write_npy(negative, {1, 4}, std::vector<float>{-1, 0, 0, 1});
  EXPECT_THAT(error(negative), HasSubstr("event 0 has x = -1"));
}

TEST_F(EventFilesTest, ReadsHdf5Columns) {
  const fs::path file = path("events.h5");
  const hid_t h5 = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(h5, 0);
  write_dataset(h5, "x", H5T_NATIVE_UINT16, std::vector<std::uint16_t>{5, 0});
  write_dataset(h5, "y", H5T_NATIVE_UINT16, std::vector<std::uint16_t>{7, 2});
  // Microsecond timestamps beyond float32's exact range stay exact.
  write_dataset(h5, "t", H5T_NATIVE_INT64, std::vector<std::int64_t>{123456789, 123456790});
  write_dataset(h5, "p", H5T_NATIVE_INT8, std::vector<std::int8_t>{-1, 1});
  H5Fclose(h5);
  const std::vector<Event> events = read_events(file);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].x, 5u);
  EXPECT_EQ(events[0].y, 7u);
  EXPECT_EQ(events[0].t, 123456789.0);
  EXPECT_EQ(events[0].polarity, 0);
  EXPECT_EQ(events[1].y, 2u);
  EXPECT_EQ(events[1].t, 123456790.0);
  EXPECT_EQ(events[1].polarity, 1);

  const fs::path uneven = path("uneven.hdf5");
  const hid_t h5b = H5Fcreate(uneven.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  write_dataset(h5b, "x", H5T_NATIVE_DOUBLE, std::vector<double>{1.5, 0});
  write_dataset(h5b, "y", H5T_NATIVE_DOUBLE, std::vector<double>{0, 0});
  write_dataset(h5b, "t", H5T_NATIVE_DOUBLE, std::vector<double>{0, 1});
  write_dataset(h5b, "p", H5T_NATIVE_DOUBLE, std::vector<double>{0});
  H5Fclose(h5b);
  EXPECT_THAT(error(uneven), HasSubstr("have 2, 2, 2, 1 values, expected equal lengths"));
}

TEST_F(EventFilesTest, RefusesUnknownExtensionsAndMissingColumns) {
  EXPECT_THAT(error(path("events.txt")), HasSubstr("unknown event file extension '.txt'"));
  const fs::path file = path("partial.h5");
  const hid_t h5 = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  write_dataset(h5, "x", H5T_NATIVE_DOUBLE, std::vector<double>{1});
  H5Fclose(h5);
  EXPECT_THAT(error(file), HasSubstr("'y'"));
}

}  // namespace
}  // namespace snnsim
