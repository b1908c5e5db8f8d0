// The image reader against PGM/PPM files written byte by byte here and PNG files written with
// libpng's simplified API, plus the refusals of damaged files.
#include "networks/image_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

class ImageIoTest : public testing::TemporaryFolderTest {
 protected:
  fs::path write(const std::string& name, const std::string& bytes) const {
    const fs::path file = path(name);
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }

  /// A PNG written by libpng from `pixels` (interleaved, 8- or 16-bit per the format).
  fs::path write_png(const std::string& name, png_uint_32 format, png_uint_32 width,
                     png_uint_32 height, const void* pixels, const void* colormap = nullptr,
                     png_uint_32 colormap_entries = 0) const {
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.format = format;
    image.width = width;
    image.height = height;
    image.colormap_entries = colormap_entries;
    const fs::path file = path(name);
    EXPECT_NE(png_image_write_to_file(&image, file.c_str(), 0, pixels, 0, colormap), 0)
        << image.message;
    return file;
  }

  /// The message read_image throws for `file`.
  static std::string error(const fs::path& file) {
    try {
      read_image(file);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(ImageIoTest, ReadsAsciiPgmWithComments) {
  const fs::path file = write("a.pgm", "P2\n# made by hand\n3 2 # width height\n4\n0 1 2\n3 4 2\n");
  const Image image = read_image(file);
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.height, 2u);
  EXPECT_EQ(image.width, 3u);
  EXPECT_THAT(image.values, ElementsAre(0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 0.5f));
}

TEST_F(ImageIoTest, ReadsBinaryPgm8And16Bit) {
  const Image narrow = read_image(write("a.img", std::string("P5 2 2 255\n\x00\x33\xcc\xff", 15)));
  EXPECT_EQ(narrow.channels, 1u);
  EXPECT_EQ(narrow.height, 2u);
  EXPECT_EQ(narrow.width, 2u);
  EXPECT_THAT(narrow.values, ElementsAre(0.0f, 0.2f, 0.8f, 1.0f));

  // Big-endian: 0x0100 = 256, 0x03e8 = 1000.
  const Image wide =
      read_image(write("b.pgm", std::string("P5\n3 1\n1000\n\x01\x00\x03\xe8\x00\x00", 18)));
  EXPECT_EQ(wide.width, 3u);
  EXPECT_THAT(wide.values, ElementsAre(FloatEq(0.256f), FloatEq(1.0f), FloatEq(0.0f)));
}

TEST_F(ImageIoTest, ReadsPpmAsPlanarChannels) {
  // Two pixels: (255, 0, 51) and (0, 102, 255), stored pixel by pixel.
  const Image binary =
      read_image(write("a.ppm", std::string("P6 2 1 255 \xff\x00\x33\x00\x66\xff", 17)));
  EXPECT_EQ(binary.channels, 3u);
  EXPECT_EQ(binary.height, 1u);
  EXPECT_EQ(binary.width, 2u);
  EXPECT_THAT(binary.values, ElementsAre(1.0f, 0.0f, 0.0f, 0.4f, 0.2f, 1.0f));

  const Image ascii = read_image(write("b.ppm", "P3 2 1 255\n255 0 51  0 102 255\n"));
  EXPECT_EQ(ascii.values, binary.values);
}

TEST_F(ImageIoTest, ReadsGrayPngWhateverTheExtension) {
  const std::uint8_t pixels[] = {0, 51, 255, 102, 204, 0};
  const Image image = read_image(write_png("gray.pgm", PNG_FORMAT_GRAY, 3, 2, pixels));
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.height, 2u);
  EXPECT_EQ(image.width, 3u);
  EXPECT_THAT(image.values, ElementsAre(0.0f, 0.2f, 1.0f, 0.4f, 0.8f, 0.0f));
}

TEST_F(ImageIoTest, Reads16BitGrayPng) {
  // Linear 16-bit data is stored as it is (with a gAMA of 1).
  const std::uint16_t pixels[] = {0, 65535, 13107};
  const Image image = read_image(write_png("gray16.png", PNG_FORMAT_LINEAR_Y, 3, 1, pixels));
  EXPECT_EQ(image.channels, 1u);
  EXPECT_THAT(image.values, ElementsAre(0.0f, 1.0f, FloatEq(0.2f)));
}

TEST_F(ImageIoTest, ReadsRgbaPngDroppingAlpha) {
  // The colours stay as stored whatever the alpha (not premultiplied, not composited).
  const std::uint8_t pixels[] = {255, 0, 51, 255, /**/ 0, 102, 255, 0};
  const Image image = read_image(write_png("rgba.png", PNG_FORMAT_RGBA, 2, 1, pixels));
  EXPECT_EQ(image.channels, 3u);
  EXPECT_EQ(image.height, 1u);
  EXPECT_EQ(image.width, 2u);
  EXPECT_THAT(image.values, ElementsAre(1.0f, 0.0f, 0.0f, 0.4f, 0.2f, 1.0f));
}

TEST_F(ImageIoTest, ReadsPalettePngWithTransparency) {
  const std::uint8_t colormap[] = {255, 0, 51, 255, /**/ 0, 102, 255, 128};
  const std::uint8_t indexes[] = {1, 0, 1};
  const Image image =
      read_image(write_png("palette.png", PNG_FORMAT_RGBA_COLORMAP, 3, 1, indexes, colormap, 2));
  EXPECT_EQ(image.channels, 3u);
  EXPECT_EQ(image.width, 3u);
  EXPECT_THAT(image.values, ElementsAre(0.0f, 1.0f, 0.0f, 0.4f, 0.0f, 0.4f, 1.0f, 0.2f, 1.0f));
}

TEST_F(ImageIoTest, RefusesUnknownMagic) {
  EXPECT_THAT(error(write("a.pgm", "P4 1 1\n\x80")), HasSubstr("unknown image format"));
  EXPECT_THAT(error(write("b.pgm", "")), HasSubstr("unknown image format"));
  EXPECT_THAT(error(path("missing.png")), HasSubstr("cannot open"));
}

TEST_F(ImageIoTest, RefusesDamagedPnm) {
  const fs::path truncated = write("t.pgm", std::string("P5 2 2 255\n\x00\x33\xcc", 14));
  EXPECT_EQ(error(truncated), truncated.string() +
                                  ": truncated: P5 data is 3 bytes, expected 4 (2x2x1, 1 byte(s) "
                                  "per sample)");
  EXPECT_THAT(error(write("t16.pgm", std::string("P5 2 1 65535\n\x00\x01\x02", 16))),
              HasSubstr("truncated"));
  EXPECT_THAT(error(write("ta.pgm", "P2 2 2 9\n1 2 3")), HasSubstr("ends after 3 of 4 samples"));
  EXPECT_THAT(error(write("m.pgm", "P2 1 1 0\n0\n")),
              HasSubstr("maxval is 0, expected 1 to 65535"));
  EXPECT_THAT(error(write("w.pgm", "P2 0 1 255\n")), HasSubstr("expected a positive width"));
  EXPECT_THAT(error(write("v.pgm", "P2 1 1 7\n8\n")), HasSubstr("more than the maxval 7"));
  EXPECT_THAT(error(write("h.ppm", "P6 2")), HasSubstr("file ends before the height"));
  EXPECT_THAT(error(write("x.pgm", "P2 1 x 1\n")), HasSubstr("expected a decimal number"));
  EXPECT_THAT(error(write("big.pgm", "P5 1000000000 1000000000 255\n")), HasSubstr("truncated"));
}

TEST_F(ImageIoTest, RefusesTruncatedPng) {
  std::vector<std::uint8_t> pixels(64 * 64 * 4);
  for (std::size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<std::uint8_t>(i * 7919 % 251);
  const fs::path file = write_png("rgba.png", PNG_FORMAT_RGBA, 64, 64, pixels.data());
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t size : {bytes.size() / 2, std::size_t{40}, std::size_t{12}}) {
    const std::string message = error(write("cut.png", bytes.substr(0, size)));
    EXPECT_THAT(message, HasSubstr("cut.png: "));
    EXPECT_THAT(message, HasSubstr("PNG")) << "cut at " << size;
  }
  // Damaged compressed data: a byte flipped in the middle fails the CRC.
  std::string damaged = bytes;
  damaged[bytes.size() / 2] = static_cast<char>(damaged[bytes.size() / 2] ^ 0x5a);
  EXPECT_THAT(error(write("bad.png", damaged)), HasSubstr("damaged or truncated PNG"));
}

}  // namespace
}  // namespace snnsim
