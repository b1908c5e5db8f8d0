// The .npy reader against files assembled byte by byte here (so that a mistake in the reader's
// idea of the format cannot hide in the test's), and the writer's round trip.
#include "networks/npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// A complete .npy file: magic, version, little-endian header length (2 bytes for version 1, 4
/// otherwise), `dict` padded with spaces and '\n' to a multiple of 64 bytes, then `data`.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(major);
  bytes += '\0';
  for (std::size_t i = 0; i < prefix - 8; ++i)
    bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

/// Bytes from a list of values 0..255.
std::string raw(std::initializer_list<int> bytes) {
  std::string text;
  for (int b : bytes)
    text += static_cast<char>(b);
  return text;
}

class Npy : public testing::TemporaryFolderTest {
 protected:
  fs::path write(const std::string& name, const std::string& bytes) const {
    const fs::path file = path(name);
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }
  /// The message read_npy throws for `bytes`, checked to be one line naming the file.
  std::string error_for(const std::string& bytes) const {
    const fs::path file = write("broken_input.npy", bytes);
    try {
      read_npy(file);
    } catch (const NpyError& e) {
      const std::string message = e.what();
      EXPECT_THAT(message, HasSubstr(file.string() + ": "));
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      return message;
    }
    ADD_FAILURE() << "no NpyError";
    return {};
  }
};

TEST_F(Npy, ConvertsEveryDtypeExactly) {
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    std::string descr;
    std::string data;
    std::vector<float> expected;
  };
  const std::vector<Case> cases = {
      {"<f4", raw({0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0, 0xe0, 0x7f, 0x47}), {1.5f, -2.0f, 65504.0f}},
      {"<f8",
       raw({0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0xd0, 0x3f}),
       {1.5f, -2.0f, 0.25f}},
      {"<f2",
       raw({0, 0x3e, 0, 0xc0, 0xff, 0x7b, 0x01, 0, 0, 0x7c, 0, 0x80}),
       {1.5f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), inf, -0.0f}},
      {"|i1", raw({0x80, 0xff, 0x7f}), {-128, -1, 127}},
      {"<i2", raw({0, 0x80, 0xd2, 0x04}), {-32768, 1234}},
      {"<i4", raw({0x60, 0x79, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x7f}), {-100000, 2147483648.0f}},
      {"<i8",
       raw({0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0}),
       {-5, 1099511627776.0f}},
      {"|u1", raw({0, 0xff}), {0, 255}},
      {"<u2", raw({0xff, 0xff, 0x39, 0x30}), {65535, 12345}},
      {"<u4", raw({0x00, 0x28, 0x6b, 0xee}), {4000000000.0f}},
      {"<u8", raw({0, 0, 0, 0, 0, 0, 0, 0x80}), {9223372036854775808.0f}},
      {"|b1", raw({0, 1, 1}), {0, 1, 1}},
      // Byte-order markers that mean the same on a little-endian machine.
      {"=f4", raw({0, 0, 0xc0, 0x3f}), {1.5f}},
      {"<i1", raw({0xfe}), {-2}},
      {"=u2", raw({0x01, 0x01}), {257}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.descr);
    const std::string shape = std::string("(") + std::to_string(c.expected.size()) + ",)";
    const NpyArray array = read_npy(write("values.npy", npy_bytes(dict(c.descr, shape), c.data)));
    EXPECT_THAT(array.shape, ElementsAre(c.expected.size()));
    ASSERT_EQ(array.values.size(), c.expected.size());
    for (std::size_t i = 0; i < c.expected.size(); ++i) {
      EXPECT_EQ(array.values[i], c.expected[i]) << "value " << i;
      EXPECT_EQ(std::signbit(array.values[i]), std::signbit(c.expected[i])) << "value " << i;
    }
  }
}

TEST_F(Npy, HalfNaNStaysNaN) {
  const NpyArray array = read_npy(write("nan.npy", npy_bytes(dict("<f2", "(1,)"), raw({1, 0x7e}))));
  EXPECT_TRUE(std::isnan(array.values.at(0)));
}

TEST_F(Npy, KeepsCOrderOfAMatrix) {
  std::string data;
  for (int v = 1; v <= 6; ++v)
    data += raw({v, 0, 0, 0});
  const NpyArray array = read_npy(write("m.npy", npy_bytes(dict("<i4", "(2, 3)"), data)));
  EXPECT_THAT(array.shape, ElementsAre(2, 3));
  EXPECT_THAT(array.values, ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST_F(Npy, ReadsZeroDimensionalArray) {
  const NpyArray array =
      read_npy(write("scalar.npy", npy_bytes(dict("<f4", "()"), raw({0, 0, 0xc0, 0x3f}))));
  EXPECT_TRUE(array.shape.empty());
  EXPECT_THAT(array.values, ElementsAre(1.5f));
}

TEST_F(Npy, ReadsZeroLengthDimension) {
  const NpyArray array = read_npy(write("empty.npy", npy_bytes(dict("<f8", "(2, 0, 3)"), "")));
  EXPECT_THAT(array.shape, ElementsAre(2, 0, 3));
  EXPECT_TRUE(array.values.empty());
}

TEST_F(Npy, ReadsVersion2And3Headers) {
  for (int major : {2, 3}) {
    SCOPED_TRACE(major);
    const std::string bytes = npy_bytes(dict("<u2", "(2,)"), raw({7, 0, 9, 0}), major);
    ASSERT_EQ(bytes[6], major);
    const NpyArray array = read_npy(write("v.npy", bytes));
    EXPECT_THAT(array.shape, ElementsAre(2));
    EXPECT_THAT(array.values, ElementsAre(7, 9));
  }
}

TEST_F(Npy, AcceptsHeaderVariantsNumPyWrites) {
  // Double quotes, no trailing comma, keys in another order, Python 2 long integers.
  const std::string header = "{\"shape\": (1L, 2L), \"fortran_order\": False, \"descr\": \"|u1\"}";
  const NpyArray array = read_npy(write("variant.npy", npy_bytes(header, raw({3, 4}))));
  EXPECT_THAT(array.shape, ElementsAre(1, 2));
  EXPECT_THAT(array.values, ElementsAre(3, 4));
}

TEST_F(Npy, WriteRoundTrips) {
  const std::vector<float> values = {1.5f, -2.0f, 0.0f, 65504.0f, 1e-30f, -3.25f};
  const fs::path file = path("out.npy");
  write_npy(file, {3, 2}, values);
  EXPECT_FALSE(fs::exists(path("out.npy.partial")));

  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_length =
      static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ((10 + header_length) % 64, 0u);
  EXPECT_EQ(bytes[10 + header_length - 1], '\n');
  EXPECT_THAT(bytes.substr(10, header_length), HasSubstr("'descr': '<f4'"));
  EXPECT_THAT(bytes.substr(10, header_length), HasSubstr("'shape': (3, 2)"));
  EXPECT_EQ(bytes.size(), 10 + header_length + 4 * values.size());

  const NpyArray array = read_npy(file);
  EXPECT_THAT(array.shape, ElementsAre(3, 2));
  EXPECT_EQ(array.values, values);
}

TEST_F(Npy, WriteRoundTripsScalarsAndEmptyArrays) {
  const std::vector<float> one = {42.0f};
  write_npy(path("scalar.npy"), {}, one);
  const NpyArray scalar = read_npy(path("scalar.npy"));
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.values, one);

  write_npy(path("vector.npy"), {1}, one);
  EXPECT_THAT(read_npy(path("vector.npy")).shape, ElementsAre(1));

  write_npy(path("empty.npy"), {0, 4}, {});
  const NpyArray empty = read_npy(path("empty.npy"));
  EXPECT_THAT(empty.shape, ElementsAre(0, 4));
  EXPECT_TRUE(empty.values.empty());
}

TEST_F(Npy, WriteRefusesValuesThatDoNotFillTheShape) {
  const std::vector<float> values = {1, 2, 3};
  try {
    write_npy(path("bad.npy"), {2, 2}, values);
    FAIL() << "no NpyError";
  } catch (const NpyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad.npy: shape (2, 2) holds 4 values but 3 were given"));
  }
  EXPECT_FALSE(fs::exists(path("bad.npy")));
}

TEST_F(Npy, RefusesMissingFile) {
  try {
    read_npy(path("absent.npy"));
    FAIL() << "no NpyError";
  } catch (const NpyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("absent.npy: no such file"));
  }
}

TEST_F(Npy, RefusesBadMagic) {
  EXPECT_THAT(error_for("PK\x03\x04 this is a zip file"), HasSubstr("not an .npy file"));
  EXPECT_THAT(error_for("\x93NUM"), HasSubstr("not an .npy file"));
}

TEST_F(Npy, RefusesUnsupportedVersion) {
  const std::string message = error_for(npy_bytes(dict("<f4", "(0,)"), "", 4));
  EXPECT_THAT(message, HasSubstr("unsupported .npy format version 4.0"));
  EXPECT_THAT(message, HasSubstr("expected 1.0, 2.0 or 3.0"));
  std::string minor = npy_bytes(dict("<f4", "(0,)"), "");
  minor[7] = 1;
  EXPECT_THAT(error_for(minor), HasSubstr("unsupported .npy format version 1.1"));
}

TEST_F(Npy, RefusesMalformedHeaders) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{'descr': '<f4', 'fortran_order': False}", "no 'shape' key"},
      {"{'descr': '<f4', 'shape': (1,)}", "no 'fortran_order' key"},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", "expected ':'"},
      {"['descr', '<f4']", "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': maybe, 'shape': (1,)}", "expected True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "non-negative integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
       "unexpected key 'extra'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
       "'descr' appears twice"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "malformed header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", "after the closing '}'"},
  };
  for (const auto& [header, reason] : cases) {
    SCOPED_TRACE(header);
    const std::string message = error_for(npy_bytes(header, raw({0, 0, 0, 0})));
    EXPECT_THAT(message, HasSubstr("malformed header"));
    EXPECT_THAT(message, HasSubstr(reason));
  }
  // The header length points past the end of the file.
  std::string cut = npy_bytes(dict("<f4", "(1,)"), "");
  cut.resize(30);
  EXPECT_THAT(error_for(cut), HasSubstr("malformed header: it should be 118 bytes long"));
}

TEST_F(Npy, RefusesFortranOrder) {
  EXPECT_THAT(error_for(npy_bytes(dict("<f4", "(1,)", true), raw({0, 0, 0, 0}))),
              HasSubstr("Fortran-order arrays are not supported; save with np.ascontiguousarray"));
}

TEST_F(Npy, RefusesBigEndianAndUnsupportedDtypes) {
  const std::string big = error_for(npy_bytes(dict(">f4", "(1,)"), raw({0x3f, 0xc0, 0, 0})));
  EXPECT_THAT(big, HasSubstr("big-endian dtype '>f4' is not supported"));
  EXPECT_THAT(big, HasSubstr("arr.astype('<f4')"));
  for (const char* descr : {"<c8", "<U5", "|S3", "<M8[ns]", "|V4", "|f4", "<f16", "<i3", "f4"}) {
    SCOPED_TRACE(descr);
    EXPECT_THAT(error_for(npy_bytes(dict(descr, "(0,)"), "")),
                HasSubstr("unsupported dtype '" + std::string(descr) + "'"));
  }
}

TEST_F(Npy, RefusesObjectAndStructuredArrays) {
  EXPECT_THAT(error_for(npy_bytes(dict("|O", "(1,)"), raw({0, 0, 0, 0, 0, 0, 0, 0}))),
              HasSubstr("object arrays are not supported"));
  const std::string structured =
      "{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (1,), }";
  EXPECT_THAT(error_for(npy_bytes(structured, raw({0, 0, 0, 0, 0, 0, 0, 0}))),
              HasSubstr("structured arrays (record dtypes) are not supported"));
}

// Found by tools/fuzz.sh (npy): header text echoed in a message is escaped, so that a key or
// dtype with a newline in it still gives one line.
TEST_F(Npy, EscapesControlCharactersOfTheHeaderInMessages) {
  const std::string key = error_for(
      npy_bytes("{'descr': '<f4', 'fortran\norder': False, 'shape': (1,), }", raw({0, 0, 0, 0})));
  EXPECT_THAT(key, HasSubstr("unexpected key 'fortran\\x0aorder'"));
  EXPECT_THAT(error_for(npy_bytes(dict("<f\t4", "(1,)"), raw({0, 0, 0, 0}))),
              HasSubstr("unsupported dtype '<f\\x094'"));
  EXPECT_THAT(error_for(npy_bytes(dict(">f\r", "(1,)"), raw({0, 0, 0, 0}))),
              HasSubstr("unsupported dtype '>f\\x0d'"));
}

TEST_F(Npy, RefusesTruncatedAndOverlongData) {
  const std::string truncated = error_for(npy_bytes(dict("<f4", "(2, 2)"), std::string(10, '\0')));
  EXPECT_THAT(truncated, HasSubstr("data is truncated"));
  EXPECT_THAT(truncated, HasSubstr("expected 16 bytes for shape (2, 2) of '<f4', found 10"));
  EXPECT_THAT(error_for(npy_bytes(dict("|u1", "(2,)"), raw({1, 2, 3}))),
              HasSubstr("extra bytes after the data: expected 2 bytes for shape (2,) of '|u1', "
                        "found 3"));
}

TEST_F(Npy, RefusesImpossibleSizes) {
  EXPECT_THAT(error_for(npy_bytes(dict("<f4", "(4294967296, 4294967296, 4294967296)"), "")),
              HasSubstr("impossible array size: shape (4294967296, 4294967296, 4294967296)"));
  EXPECT_THAT(error_for(npy_bytes(dict("<f8", "(4611686018427387904,)"), "")),
              HasSubstr("impossible array size"));
  EXPECT_THAT(error_for(npy_bytes(dict("<f4", "(99999999999999999999999,)"), "")),
              HasSubstr("impossible array size: a dimension of 'shape' is too large"));
}

}  // namespace
}  // namespace snnsim
