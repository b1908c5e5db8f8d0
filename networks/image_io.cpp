// Image reader: the PNM formats parsed here, PNG through libpng's classic API (which, unlike the
// simplified one, hands back the stored samples without gamma or alpha conversions).
#include "networks/image_io.h"

#include <png.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>

namespace snnsim {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw std::runtime_error(path.string() + ": " + what);
}

constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// ------------------------------------------------------------------------------------------------
// PNM (netpbm): "P2"/"P5" gray, "P3"/"P6" RGB; a header of whitespace-separated decimal numbers
// (width, height, maxval) with '#' comments, then ASCII samples or, after exactly one whitespace
// byte, binary ones (1 byte each when maxval < 256, else 2 bytes big-endian).

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

class PnmParser {
 public:
  PnmParser(const std::filesystem::path& path, std::string_view bytes)
      : path_(path), bytes_(bytes) {}

  /// Skips whitespace and comments; false at the end of the file.
  bool skip_blank() {
    while (pos_ < bytes_.size()) {
      if (is_space(bytes_[pos_])) {
        ++pos_;
      } else if (bytes_[pos_] == '#') {
        while (pos_ < bytes_.size() && bytes_[pos_] != '\n' && bytes_[pos_] != '\r')
          ++pos_;
      } else {
        return true;
      }
    }
    return false;
  }

  /// The next decimal number after whitespace and comments; `what` names it in errors.
  std::size_t number(const char* what) {
    if (!skip_blank()) fail(path_, std::string("file ends before the ") + what);
    if (bytes_[pos_] < '0' || bytes_[pos_] > '9') {
      fail(path_, std::string("expected a decimal number for the ") + what + " at byte " +
                      std::to_string(pos_));
    }
    // Capped far below overflow so that products of dimensions stay representable.
    constexpr std::size_t kLimit = 1u << 30;
    std::size_t value = 0;
    while (pos_ < bytes_.size() && bytes_[pos_] >= '0' && bytes_[pos_] <= '9') {
      value = value * 10 + static_cast<std::size_t>(bytes_[pos_] - '0');
      if (value > kLimit) fail(path_, std::string("the ") + what + " is too large");
      ++pos_;
    }
    return value;
  }

  std::size_t position() const { return pos_; }
  void skip_one_space(const char* magic) {
    if (pos_ == bytes_.size() || !is_space(bytes_[pos_])) {
      fail(path_, std::string("expected one whitespace byte between the maxval and the ") + magic +
                      " data");
    }
    ++pos_;
  }

 private:
  const std::filesystem::path& path_;
  std::string_view bytes_;
  std::size_t pos_ = 2;  // after the magic
};

/// `bytes`: the whole file, which starts with a PNM magic.
Image read_pnm(const std::filesystem::path& path, std::string_view bytes) {
  const char kind = bytes[1];
  const std::string magic(bytes.substr(0, 2));
  if (bytes.size() < 3 || !is_space(bytes[2])) {
    fail(path, "expected whitespace after the magic '" + magic + "'");
  }
  PnmParser parser(path, bytes);
  Image image;
  image.channels = (kind == '3' || kind == '6') ? 3 : 1;
  image.width = parser.number("width");
  image.height = parser.number("height");
  const std::size_t maxval = parser.number("maxval");
  if (image.width == 0 || image.height == 0) {
    fail(path, "image is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                   ", expected a positive width and height");
  }
  if (maxval == 0 || maxval > 65535) {
    fail(path, "maxval is " + std::to_string(maxval) + ", expected 1 to 65535");
  }
  const std::size_t count = image.channels * image.height * image.width;
  // Dividing (not multiplying by 1/maxval) gives the float nearest to each quotient.
  const auto maximum = static_cast<float>(maxval);
  const auto sample_error = [&](std::size_t i, std::size_t value) {
    fail(path, "sample " + std::to_string(i) + " is " + std::to_string(value) +
                   ", more than the maxval " + std::to_string(maxval));
  };

  if (kind == '2' || kind == '3') {
    // Every ASCII sample takes at least one byte: a bound on the size before allocating.
    if (count > bytes.size() - parser.position()) {
      fail(path, "truncated: " + magic + " data is " +
                     std::to_string(bytes.size() - parser.position()) + " bytes, too short for " +
                     std::to_string(count) + " samples");
    }
    image.values.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
      if (!parser.skip_blank()) {
        fail(path, "truncated: " + magic + " data ends after " + std::to_string(i) + " of " +
                       std::to_string(count) + " samples");
      }
      const std::size_t value = parser.number("sample");
      if (value > maxval) sample_error(i, value);
      // Interleaved (pixel by pixel) in the file, planar in the Image.
      const std::size_t pixel = i / image.channels, c = i % image.channels;
      image.values[c * image.height * image.width + pixel] = static_cast<float>(value) / maximum;
    }
    return image;
  }

  parser.skip_one_space(magic.c_str());
  const std::size_t sample_bytes = maxval < 256 ? 1 : 2;
  const std::size_t available = bytes.size() - parser.position();
  if (count * sample_bytes > available) {
    fail(path, "truncated: " + magic + " data is " + std::to_string(available) +
                   " bytes, expected " + std::to_string(count * sample_bytes) + " (" +
                   std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
                   std::to_string(image.channels) + ", " + std::to_string(sample_bytes) +
                   " byte(s) per sample)");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data() + parser.position());
  image.values.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t value = sample_bytes == 1
                                  ? data[i]
                                  : (std::size_t{data[2 * i]} << 8) | std::size_t{data[2 * i + 1]};
    if (value > maxval) sample_error(i, value);
    const std::size_t pixel = i / image.channels, c = i % image.channels;
    image.values[c * image.height * image.width + pixel] = static_cast<float>(value) / maximum;
  }
  return image;
}

// ------------------------------------------------------------------------------------------------
// PNG. libpng reports errors by longjmp: the functions that call it and set the jump point hold
// no objects with destructors, and the C++ objects (buffers, the error) live in the caller.

struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::FILE* file = nullptr;
  char message[200] = {};

  ~PngReader() {
    png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
    if (file != nullptr) std::fclose(file);
  }
};

void on_png_error(png_structp png, png_const_charp message) {
  auto* reader = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(reader->message, sizeof reader->message, "%s", message);
  png_longjmp(png, 1);
}

// Warnings (bad ancillary chunks, for instance) do not stop the reading and go unreported.
void on_png_warning(png_structp, png_const_charp) {}

struct PngLayout {
  png_uint_32 width = 0, height = 0;
  int stored_channels = 0, stored_depth = 0;  // as in the file
  int channels = 0, depth = 0;                // after the transforms: 1 or 3, 8 or 16
  std::size_t row_bytes = 0;
};

/// Reads the header and sets up the transforms to 8- or 16-bit gray or RGB without alpha.
bool read_png_header(PngReader& reader, PngLayout& layout) {
  if (setjmp(png_jmpbuf(reader.png))) return false;
  png_init_io(reader.png, reader.file);
  png_read_info(reader.png, reader.info);
  layout.width = png_get_image_width(reader.png, reader.info);
  layout.height = png_get_image_height(reader.png, reader.info);
  layout.stored_channels = png_get_channels(reader.png, reader.info);
  layout.stored_depth = png_get_bit_depth(reader.png, reader.info);
  const int color_type = png_get_color_type(reader.png, reader.info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(reader.png);
  if (color_type == PNG_COLOR_TYPE_GRAY && layout.stored_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(reader.png);  // scaled so that 255 stays the maximum
  }
  // Expanding a palette turns its tRNS chunk into an alpha channel too.
  if ((color_type & PNG_COLOR_MASK_ALPHA) != 0 ||
      png_get_valid(reader.png, reader.info, PNG_INFO_tRNS) != 0) {
    png_set_strip_alpha(reader.png);
  }
  png_set_interlace_handling(reader.png);
  png_read_update_info(reader.png, reader.info);
  layout.channels = png_get_channels(reader.png, reader.info);
  layout.depth = png_get_bit_depth(reader.png, reader.info);
  layout.row_bytes = png_get_rowbytes(reader.png, reader.info);
  return true;
}

bool read_png_rows(PngReader& reader, png_bytepp rows) {
  if (setjmp(png_jmpbuf(reader.png))) return false;
  png_read_image(reader.png, rows);
  return true;
}

Image read_png(const std::filesystem::path& path, std::uintmax_t file_size) {
  PngReader reader;
  reader.file = std::fopen(path.c_str(), "rb");
  if (reader.file == nullptr) fail(path, "cannot open file");
  reader.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, on_png_error, on_png_warning);
  if (reader.png == nullptr) fail(path, "cannot set up libpng");
  reader.info = png_create_info_struct(reader.png);
  if (reader.info == nullptr) fail(path, "cannot set up libpng");
  const auto damaged = [&] {
    fail(path, std::string("damaged or truncated PNG file (libpng: ") + reader.message + ")");
  };

  PngLayout layout;
  if (!read_png_header(reader, layout)) damaged();
  if (layout.channels != 1 && layout.channels != 3) {
    fail(path, "PNG has " + std::to_string(layout.channels) +
                   " channels after dropping alpha, expected 1 or 3");
  }
  // A damaged header can claim any size up to libpng's limit of a million pixels a side. Deflate
  // compresses at most 1032:1, so the stored samples bound the file size from below: this
  // refuses such headers before allocating for them.
  const double stored_bytes = static_cast<double>(layout.width) * layout.height *
                              layout.stored_channels * layout.stored_depth / 8;
  if (stored_bytes > 1032.0 * static_cast<double>(file_size) + 1024) {
    fail(path, "PNG header claims " + std::to_string(layout.width) + "x" +
                   std::to_string(layout.height) + " pixels, more than a file of " +
                   std::to_string(file_size) + " bytes can hold (truncated?)");
  }

  std::vector<png_byte> data(layout.row_bytes * layout.height);
  std::vector<png_bytep> rows(layout.height);
  for (std::size_t y = 0; y < layout.height; ++y)
    rows[y] = data.data() + y * layout.row_bytes;
  if (!read_png_rows(reader, rows.data())) damaged();

  Image image;
  image.channels = static_cast<std::size_t>(layout.channels);
  image.height = layout.height;
  image.width = layout.width;
  const std::size_t count = image.channels * image.height * image.width;
  image.values.resize(count);
  const float maximum = layout.depth == 16 ? 65535.0f : 255.0f;
  for (std::size_t i = 0; i < count; ++i) {
    // Rows are packed (row_bytes == width * channels * depth / 8): 8- and 16-bit samples only.
    const unsigned value =
        layout.depth == 16 ? (unsigned{data[2 * i]} << 8) | data[2 * i + 1] : unsigned{data[i]};
    const std::size_t pixel = i / image.channels, c = i % image.channels;
    image.values[c * image.height * image.width + pixel] = static_cast<float>(value) / maximum;
  }
  return image;
}

}  // namespace

Image read_image(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file");
  unsigned char head[8] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const std::size_t head_size = static_cast<std::size_t>(in.gcount());
  if (head_size == sizeof head && std::memcmp(head, kPngSignature, sizeof head) == 0) {
    in.seekg(0, std::ios::end);
    const auto file_size = static_cast<std::uintmax_t>(in.tellg());
    in.close();
    return read_png(path, file_size);
  }
  if (head_size >= 2 && head[0] == 'P' &&
      (head[1] == '2' || head[1] == '3' || head[1] == '5' || head[1] == '6')) {
    in.clear();  // the 8-byte read may have hit the end of a short file
    in.seekg(0);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return read_pnm(path, bytes);
  }
  fail(path, "unknown image format, expected a PGM (P2/P5), PPM (P3/P6) or PNG file");
}

}  // namespace snnsim
