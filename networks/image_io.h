#pragma once
// Reading images (PGM, PPM, PNG) as the analog input of deep SNN layer graphs (`snnsim infer`).
#include <cstddef>
#include <filesystem>
#include <vector>

namespace snnsim {

/// An image as the input of a layer graph: `values` holds [channels][height][width] in C order,
/// scaled to [0, 1].
struct Image {
  std::size_t channels = 0, height = 0, width = 0;
  std::vector<float> values;
};

/// Reads a PGM (P2 ASCII or P5 binary, maxval up to 65535, comments allowed), PPM (P3/P6,
/// 3 channels) or PNG (gray, gray+alpha, RGB, RGBA or palette, 1 to 16 bits; alpha is dropped)
/// file, chosen by its magic bytes, not its extension. Samples are divided by the maximum (the
/// maxval of PNM files, 255 or 65535 for PNG). Throws std::runtime_error with one line
/// "<path>: <what is wrong, what was expected>".
Image read_image(const std::filesystem::path& path);

}  // namespace snnsim
