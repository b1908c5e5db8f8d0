// for_each_nonzero, compact_nonzero and compact_above against element-by-element scans: flags of
// every density, with values that stress the word trick (0x80, 0x7f, 0xff, 1) and ranges that
// start and end off the word grid; floats at the threshold, NaN and infinities.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "sim/nonzero_scan.h"

namespace snnsim {
namespace {

TEST(NonzeroScan, VisitsExactlyTheNonzeroBytesInOrder) {
  std::mt19937 random(7);
  const std::uint8_t values[] = {1, 0x7f, 0x80, 0xff, 2};
  for (const double density : {0.0, 0.01, 0.15, 0.5, 0.9, 1.0}) {
    std::bernoulli_distribution fires(density);
    std::vector<std::uint8_t> bytes(203);
    for (auto& b : bytes)
      b = fires(random) ? values[random() % 5] : 0;
    for (const auto& [begin, end] :
         {std::pair<std::size_t, std::size_t>{0, 203}, {3, 200}, {5, 12}, {7, 7}, {0, 5}}) {
      std::vector<std::size_t> expected, visited;
      for (std::size_t i = begin; i < end; ++i) {
        if (bytes[i]) expected.push_back(i);
      }
      for_each_nonzero(bytes.data(), begin, end, [&](std::size_t i) { visited.push_back(i); });
      EXPECT_EQ(visited, expected) << "density " << density << ", [" << begin << ", " << end << ")";
      std::vector<std::uint32_t> compacted(end - begin + 8);
      compacted.resize(compact_nonzero(bytes.data() + begin, end - begin,
                                       static_cast<std::uint32_t>(begin), compacted.data()));
      EXPECT_EQ(std::vector<std::size_t>(compacted.begin(), compacted.end()), expected)
          << "compact_nonzero, density " << density << ", [" << begin << ", " << end << ")";
    }
  }
}

TEST(NonzeroScan, MaskPutsByteJAtBitJ) {
  for (unsigned j = 0; j < 8; ++j) {
    std::uint8_t bytes[8] = {};
    bytes[j] = 0x80;
    EXPECT_EQ(nonzero_byte_mask(bytes), 1u << j);
  }
  const std::int8_t mixed[8] = {0, -1, 0, 127, -128, 0, 0, 1};
  EXPECT_EQ(nonzero_byte_mask(mixed), 0b10011010u);
}

TEST(NonzeroScan, CompactAboveKeepsExactlyTheValuesAboveTheThreshold) {
  std::mt19937 random(8);
  std::uniform_real_distribution<float> uniform(-1.0f, 2.0f);
  // The threshold itself, NaN and infinities are not above it; 0.5000001 is.
  const float edges[] = {0.5f, std::nextafter(0.5f, 1.0f), std::nanf(""), INFINITY, -INFINITY};
  for (const std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{16}, std::size_t{203}}) {
    std::vector<float> values(n);
    for (float& v : values)
      v = random() % 4 == 0 ? edges[random() % 5] : uniform(random);
    std::vector<std::uint32_t> expected;
    for (std::size_t i = 0; i < n; ++i) {
      if (values[i] > 0.5f) expected.push_back(static_cast<std::uint32_t>(100 + i));
    }
    std::vector<std::uint32_t> compacted(n + 16);
    compacted.resize(compact_above(values.data(), n, 0.5f, 100, compacted.data()));
    EXPECT_EQ(compacted, expected) << "n = " << n;
  }
}

}  // namespace
}  // namespace snnsim
