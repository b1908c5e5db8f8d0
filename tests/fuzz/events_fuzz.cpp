// Event files (encoders/event_frames.h): .npy or HDF5 (told apart by HDF5's signature, so that
// one corpus holds both), read and binned into frames both ways, as the event encoder does.
#include <cstring>

#include "encoders/event_frames.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

/// A sensor of N-MNIST's size: the seeds' events lie on it, mutated ones may not.
constexpr std::size_t kSensorSide = 34;
constexpr std::size_t kFrames = 3;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snnsim::fuzz::silence_hdf5();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr char kHdf5Signature[] = "\x89HDF\r\n\x1a\n";
  const bool hdf5 = size >= 8 && std::memcmp(data, kHdf5Signature, 8) == 0;
  const std::filesystem::path path =
      snnsim::fuzz::write_input(data, size, hdf5 ? "events.h5" : "events.npy");
  snnsim::fuzz::expect_clean_refusal([&] {
    const std::vector<snnsim::Event> events = snnsim::read_events(path);
    for (const snnsim::FrameSplit split :
         {snnsim::FrameSplit::by_time, snnsim::FrameSplit::by_count})
      snnsim::events_to_frames(events, kSensorSide, kSensorSide, kFrames, split);
  });
  return 0;
}
