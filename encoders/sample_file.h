#pragma once
// The input files of `snnsim infer`: samples for a layer graph, from
// - NumPy arrays (.npy) and HDF5 datasets ("FILE.h5:DATASET"): one sample of the input shape, or
//   [N, ...shape] for N samples; for sequence encoders (delta, event frames) a sample is
//   [T, ...shape];
// - images (.pgm, .ppm, .png): one sample, [channels, height, width], values in [0, 1];
// - event-camera recordings (encoder event_frames): .npy [N, 4] (x, y, t, p) or HDF5 x/y/t/p,
//   one sample binned into T frames.
#include <string>
#include <vector>

#include "encoders/input_encoder.h"

namespace snnsim {

struct SampleFile {
  std::size_t count = 0;
  std::vector<float> values;  ///< count samples back to back
};

/// Throws std::runtime_error with one line naming the file and what was expected.
SampleFile read_samples(const std::string& path, const Shape& shape, std::size_t timesteps,
                        const EncoderSpec& encoder);

}  // namespace snnsim
