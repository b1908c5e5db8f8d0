// The safetensors reader against files assembled byte by byte here: conversions of every dtype,
// names, metadata, and the one-line refusals of damaged or inconsistent files.
#include "networks/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// A complete file: the header's length as 8 little-endian bytes, the header, the data buffer.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string bytes;
  for (int i = 0; i < 8; ++i)
    bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

/// Bytes from a list of values 0..255.
std::string raw(std::initializer_list<int> bytes) {
  std::string text;
  for (int b : bytes)
    text += static_cast<char>(b);
  return text;
}

/// One header entry.
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  std::size_t begin, std::size_t end) {
  return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape +
         ", \"data_offsets\": [" + std::to_string(begin) + ", " + std::to_string(end) + "]}";
}

class Safetensors : public testing::TemporaryFolderTest {
 protected:
  fs::path write(const std::string& name, const std::string& bytes) const {
    const fs::path file = path(name);
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }
  /// The message opening `bytes` throws, checked to be one line naming the file.
  std::string error_for(const std::string& bytes) const {
    const fs::path file = write("broken_weights.safetensors", bytes);
    try {
      SafetensorsFile opened(file);
    } catch (const SafetensorsError& e) {
      const std::string message = e.what();
      EXPECT_THAT(message, HasSubstr(file.string() + ": "));
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      return message;
    }
    ADD_FAILURE() << "no SafetensorsError";
    return {};
  }
};

TEST_F(Safetensors, ConvertsEveryDtypeExactly) {
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    std::string dtype;
    std::string data;
    std::vector<float> expected;
  };
  const std::vector<Case> cases = {
      {"F32", raw({0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0, 0xe0, 0x7f, 0x47}), {1.5f, -2.0f, 65504.0f}},
      {"F16",
       raw({0, 0x3e, 0, 0xc0, 0xff, 0x7b, 0x01, 0, 0, 0xfc, 0, 0x80}),
       {1.5f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), -inf, -0.0f}},
      {"BF16",
       raw({0xc0, 0x3f, 0, 0xc0, 0x7f, 0x47, 0x80, 0x7f, 0x80, 0x00}),
       {1.5f, -2.0f, 65280.0f, inf, std::ldexp(1.0f, -126)}},
      {"F64",
       raw({0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0xd0, 0x3f}),
       {1.5f, -2.0f, 0.25f}},
      {"I8", raw({0x80, 0xff, 0x7f}), {-128, -1, 127}},
      {"I16", raw({0, 0x80, 0xd2, 0x04}), {-32768, 1234}},
      {"I32", raw({0x60, 0x79, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x7f}), {-100000, 2147483648.0f}},
      {"I64",
       raw({0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0}),
       {-5, 1099511627776.0f}},
      {"U8", raw({0, 0xff}), {0, 255}},
      {"U16", raw({0xff, 0xff}), {65535}},
      {"U32", raw({0x00, 0x28, 0x6b, 0xee}), {4000000000.0f}},
      {"U64", raw({0, 0, 0, 0, 0, 0, 0, 0x80}), {9223372036854775808.0f}},
      {"BOOL", raw({0, 1, 1, 0}), {0, 1, 1, 0}},
  };
  // All in one file, each after the previous one's data.
  std::string header, data;
  for (const Case& c : cases) {
    header += (header.empty() ? "{" : ", ") + entry(c.dtype, c.dtype,
                                                    "[" + std::to_string(c.expected.size()) + "]",
                                                    data.size(), data.size() + c.data.size());
    data += c.data;
  }
  const SafetensorsFile file(write("all.safetensors", safetensors_bytes(header + "}", data)));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dtype);
    EXPECT_EQ(file.dtype(c.dtype), c.dtype);
    EXPECT_THAT(file.shape(c.dtype), ElementsAre(c.expected.size()));
    const std::vector<float> values = file.read_float(c.dtype);
    ASSERT_EQ(values.size(), c.expected.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      EXPECT_EQ(values[i], c.expected[i]) << "value " << i;
      EXPECT_EQ(std::signbit(values[i]), std::signbit(c.expected[i])) << "value " << i;
    }
  }
}

TEST_F(Safetensors, ReadsShapesMetadataAndSortedNames) {
  std::string data;
  for (int v = 1; v <= 6; ++v)
    data += raw({v, 0});
  data += raw({0, 0, 0xc0, 0x3f});
  const std::string header = "{" + entry("zeta", "I16", "[2, 3]", 0, 12) + ", " +
                             entry("alpha", "F32", "[]", 12, 16) + ", " +
                             entry("Mid", "F32", "[0, 3]", 16, 16) +
                             ", \"__metadata__\": {\"format\": \"pt\", \"epoch\": \"12\"}}";
  const SafetensorsFile file(write("model.safetensors", safetensors_bytes(header, data)));
  EXPECT_THAT(file.names(), ElementsAre("Mid", "alpha", "zeta"));
  EXPECT_TRUE(file.contains("alpha"));
  EXPECT_FALSE(file.contains("__metadata__"));
  EXPECT_FALSE(file.contains("beta"));
  EXPECT_THAT(file.shape("zeta"), ElementsAre(2, 3));
  EXPECT_THAT(file.read_float("zeta"), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_TRUE(file.shape("alpha").empty());
  EXPECT_THAT(file.read_float("alpha"), ElementsAre(1.5f));
  EXPECT_THAT(file.shape("Mid"), ElementsAre(0, 3));
  EXPECT_TRUE(file.read_float("Mid").empty());
  EXPECT_EQ(file.metadata(),
            (std::map<std::string, std::string>{{"epoch", "12"}, {"format", "pt"}}));
}

TEST_F(Safetensors, FileWithoutTensorsOrMetadata) {
  const SafetensorsFile file(write("empty.safetensors", safetensors_bytes("{}", "")));
  EXPECT_TRUE(file.names().empty());
  EXPECT_TRUE(file.metadata().empty());
  try {
    file.read_float("w");
    FAIL() << "no SafetensorsError";
  } catch (const SafetensorsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("empty.safetensors: no tensor 'w' (the file has no tensors)"));
  }
}

TEST_F(Safetensors, MovedFileStaysReadable) {
  const std::string header = "{" + entry("w", "U8", "[2]", 0, 2) + "}";
  SafetensorsFile first(write("a.safetensors", safetensors_bytes(header, raw({4, 5}))));
  SafetensorsFile second(std::move(first));
  EXPECT_THAT(second.read_float("w"), ElementsAre(4, 5));
  SafetensorsFile third(write("b.safetensors", safetensors_bytes(header, raw({6, 7}))));
  third = std::move(second);
  EXPECT_THAT(third.read_float("w"), ElementsAre(4, 5));
}

TEST_F(Safetensors, MissingTensorListsAtMostTenNames) {
  std::string header = "{";
  for (int i = 0; i < 12; ++i)
    header +=
        (i ? ", " : "") + entry(std::string("t") + std::to_string(i + 10), "U8", "[1]", i, i + 1);
  const fs::path path =
      write("many.safetensors", safetensors_bytes(header + "}", std::string(12, '\0')));
  const SafetensorsFile file(path);
  for (const auto& call : {+[](const SafetensorsFile& f) { f.shape("x"); },
                           +[](const SafetensorsFile& f) { f.read_float("x"); },
                           +[](const SafetensorsFile& f) { f.dtype("x"); }}) {
    try {
      call(file);
      ADD_FAILURE() << "no SafetensorsError";
    } catch (const SafetensorsError& e) {
      EXPECT_EQ(std::string(e.what()), path.string() +
                                           ": no tensor 'x' (the file has: t10, t11, t12, t13, "
                                           "t14, t15, t16, t17, t18, t19, ... (12 in all))");
    }
  }
  const std::string short_header =
      "{" + entry("a", "U8", "[1]", 0, 1) + ", " + entry("b", "U8", "[1]", 1, 2) + "}";
  const SafetensorsFile small(write("small.safetensors", safetensors_bytes(short_header, "ab")));
  try {
    small.shape("c");
    FAIL() << "no SafetensorsError";
  } catch (const SafetensorsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("small.safetensors: no tensor 'c' (the file has: a, b)"));
  }
}

TEST_F(Safetensors, RefusesToConvertEightBitFloats) {
  const std::string header = "{" + entry("q", "F8_E4M3", "[2]", 0, 2) + "}";
  const SafetensorsFile file(write("fp8.safetensors", safetensors_bytes(header, raw({1, 2}))));
  EXPECT_EQ(file.dtype("q"), "F8_E4M3");
  try {
    file.read_float("q");
    FAIL() << "no SafetensorsError";
  } catch (const SafetensorsError& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("fp8.safetensors: tensor 'q': dtype F8_E4M3 cannot be converted"));
  }
}

TEST_F(Safetensors, RefusesMissingAndTooShortFiles) {
  try {
    SafetensorsFile file(path("absent.safetensors"));
    FAIL() << "no SafetensorsError";
  } catch (const SafetensorsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("absent.safetensors: cannot open"));
  }
  EXPECT_THAT(error_for("abc"), HasSubstr("too short for the 8-byte header length"));
}

TEST_F(Safetensors, RefusesHeaderLengthBeyondTheFile) {
  std::string bytes = safetensors_bytes("{}", "");
  bytes[0] = 100;
  EXPECT_THAT(error_for(bytes),
              HasSubstr("header length 100 goes beyond the end of the file (10 bytes)"));
  EXPECT_THAT(error_for("\xff\xff\xff\xff\xff\xff\xff\xff{}"),
              HasSubstr("header length 18446744073709551615 goes beyond the end of the file"));
}

TEST_F(Safetensors, RefusesInvalidHeaders) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"w\": {\"dtype\": \"F32\",", "JSON header:1:23: not valid JSON"},
      {"[1, 2]", "header is not a JSON object"},
      {"{\"w\": 3}", "tensor 'w': is not an object"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", "tensor 'w': no 'data_offsets'"},
      {"{\"w\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}",
       "tensor 'w': 'dtype' is not a string"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}",
       "tensor 'w': 'shape' entries must be non-negative integers"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}",
       "tensor 'w': 'shape' entries must be non-negative integers"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}",
       "tensor 'w': 'data_offsets' is not a pair [begin, end]"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}",
       "tensor 'w': data_offsets [4, 0] end before they begin"},
      {"{\"__metadata__\": {\"epoch\": 3}}", "'__metadata__' entry 'epoch' is not a string"},
      {"{\"__metadata__\": [\"a\"]}", "'__metadata__' is not an object of strings"},
      // A second entry of a tensor, or of a key, would otherwise silently replace the first.
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},\n"
       " \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
       "JSON header:2: /w: duplicate key 'w' (first on line 1)"},
      {"{\"w\": {\"dtype\": \"F32\", \"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [0, "
       "4]}}",
       "JSON header:1: /w/dtype: duplicate key 'dtype'"},
  };
  for (const auto& [header, reason] : cases) {
    SCOPED_TRACE(header);
    EXPECT_THAT(error_for(safetensors_bytes(header, std::string(8, '\0'))), HasSubstr(reason));
  }
}

TEST_F(Safetensors, RefusesUnknownDtype) {
  const std::string message =
      error_for(safetensors_bytes("{" + entry("w", "F128", "[1]", 0, 16) + "}", ""));
  EXPECT_THAT(message, HasSubstr("tensor 'w': unknown dtype 'F128' (expected one of BOOL, U8"));
}

TEST_F(Safetensors, RefusesOffsetsOutOfRange) {
  const std::string header = "{" + entry("w", "F32", "[4]", 0, 16) + "}";
  EXPECT_THAT(error_for(safetensors_bytes(header, std::string(12, '\0'))),
              HasSubstr("tensor 'w': data_offsets [0, 16] go beyond the data buffer (12 bytes"));
}

TEST_F(Safetensors, RefusesFileTruncatedInTheMiddleOfTheData) {
  const std::string header =
      "{" + entry("a", "F32", "[2]", 0, 8) + ", " + entry("b", "F32", "[2]", 8, 16) + "}";
  const std::string whole = safetensors_bytes(header, std::string(16, '\0'));
  ASSERT_NO_THROW({ const SafetensorsFile opened(write("whole.safetensors", whole)); });
  const std::string message = error_for(whole.substr(0, whole.size() - 6));
  EXPECT_THAT(message, HasSubstr("tensor 'b': data_offsets [8, 16] go beyond the data buffer "
                                 "(10 bytes; truncated file?)"));
}

TEST_F(Safetensors, RefusesOffsetsThatDoNotMatchDtypeAndShape) {
  const std::string header = "{" + entry("w", "BF16", "[2, 3]", 0, 8) + "}";
  EXPECT_THAT(error_for(safetensors_bytes(header, std::string(12, '\0'))),
              HasSubstr("tensor 'w': data_offsets [0, 8] hold 8 bytes but dtype BF16 and the "
                        "shape need 12"));
  const std::string huge = "{" + entry("h", "F64", "[4294967296, 4294967296]", 0, 8) + "}";
  EXPECT_THAT(error_for(safetensors_bytes(huge, std::string(8, '\0'))),
              HasSubstr("tensor 'h': impossible size"));
}

TEST_F(Safetensors, RefusesOverlappingTensors) {
  const std::string header =
      "{" + entry("a", "F32", "[2]", 0, 8) + ", " + entry("b", "F32", "[2]", 4, 12) + "}";
  EXPECT_THAT(error_for(safetensors_bytes(header, std::string(12, '\0'))),
              HasSubstr("tensor 'b': data_offsets [4, 12] overlap those of tensor 'a' [0, 8]"));
}

}  // namespace
}  // namespace snnsim
