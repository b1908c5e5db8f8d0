#include "encoders/sample_file.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "networks/file_extension.h"
#include "networks/finite_values.h"
#include "networks/hdf5_dataset.h"
#include "networks/image_io.h"
#include "networks/npy.h"

namespace snnsim {

SampleFile read_samples(const std::string& path, const Shape& shape, std::size_t timesteps,
                        const EncoderSpec& encoder) {
  if (encoder.kind == EncoderKind::event_frames) {
    const std::vector<Event> events = read_events(path);
    try {
      return {1, events_to_frames(events, shape[1], shape[2], timesteps, encoder.split)};
    } catch (const std::exception& error) {
      throw std::runtime_error(path + ": " + error.what());
    }
  }
  std::vector<std::size_t> array_shape;
  std::vector<float> values;
  const std::string extension = lowercase_extension(path);
  if (extension == ".pgm" || extension == ".ppm" || extension == ".png") {
    Image image = read_image(path);
    array_shape = {image.channels, image.height, image.width};
    values = std::move(image.values);
  } else if (const auto colon = path.rfind(':');
             colon != std::string::npos &&
             (lowercase_extension(path.substr(0, colon)) == ".h5" ||
              lowercase_extension(path.substr(0, colon)) == ".hdf5")) {
    const Hdf5Array array = read_hdf5_array(path.substr(0, colon), path.substr(colon + 1));
    array_shape = array.shape;
    values.assign(array.values.begin(), array.values.end());
  } else {
    NpyArray array = read_npy(path);
    array_shape = std::move(array.shape);
    values = std::move(array.values);
  }
  Shape sample = shape;
  if (encodes_sequences(encoder.kind)) sample.insert(sample.begin(), timesteps);
  const bool one = array_shape == sample;
  if (one || (array_shape.size() == sample.size() + 1 &&
              std::equal(sample.begin(), sample.end(), array_shape.begin() + 1))) {
    // Nothing to run is refused before anything is written (a trace, "-nan" means).
    if (!one && array_shape[0] == 0) {
      throw std::runtime_error(path + ": holds no samples (shape " + shape_string(array_shape) +
                               "); expected at least one");
    }
    if (const std::string problem = non_finite_problem(values); !problem.empty())
      throw std::runtime_error(path + ": " + problem);
    return {one ? 1 : array_shape[0], std::move(values)};
  }
  throw std::runtime_error(path + ": expected an array of shape " + shape_string(sample) +
                           " or [N, " + shape_string(sample).substr(1) + "; found " +
                           shape_string(array_shape));
}

}  // namespace snnsim
