// Delta modulation of hand-made sequences: spike spacing of ramps, steps spread over time,
// negative changes and multi-level clamping.
#include "encoders/delta_encoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace snnsim {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

/// The levels of a one-feature sequence as ints (readable in failure messages).
std::vector<int> encode(const std::vector<float>& x, float threshold, int max_level = 1) {
  const std::vector<std::int8_t> levels = delta_encode(x, x.size(), 1, threshold, max_level);
  return {levels.begin(), levels.end()};
}

TEST(DeltaEncoderTest, RampSpikesAtRegularIntervals) {
  // Rising by 0.25 a step with threshold 1: one spike every 4 steps.
  std::vector<float> ramp(13);
  for (std::size_t t = 0; t < ramp.size(); ++t)
    ramp[t] = 0.25f * static_cast<float>(t);
  EXPECT_THAT(encode(ramp, 1.0f), ElementsAre(0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1));
}

TEST(DeltaEncoderTest, StepSpreadsOverSeveralSteps) {
  // A jump of 3.5 thresholds is followed over three steps; the remaining half never fires.
  EXPECT_THAT(encode({1, 1, 4.5f, 4.5f, 4.5f, 4.5f, 4.5f}, 1.0f), ElementsAre(0, 0, 1, 1, 1, 0, 0));
}

TEST(DeltaEncoderTest, FallingSignalGivesNegativeSpikes) {
  EXPECT_THAT(encode({2, 1.5f, 1, 0.5f, 0, 0}, 0.5f), ElementsAre(0, -1, -1, -1, -1, 0));
  // Up then down: the reference follows both ways.
  EXPECT_THAT(encode({0, 1, 0}, 1.0f), ElementsAre(0, 1, -1));
}

TEST(DeltaEncoderTest, ConstantGivesNoSpikes) {
  EXPECT_THAT(encode(std::vector<float>(10, 3.7f), 0.1f), ::testing::Each(0));
  // Changes below the threshold are never emitted.
  EXPECT_THAT(encode({0, 0.4f, -0.4f, 0.4f}, 0.5f), ElementsAre(0, 0, 0, 0));
}

TEST(DeltaEncoderTest, MultiLevelClampsAndCarriesTheRest) {
  // +7.5 with max_level 3: 3, 3, then the remaining 1 (the .5 stays below the threshold); then
  // -8.5 from the reference 7: -3, -3, -2.
  EXPECT_THAT(encode({0, 7.5f, 7.5f, 7.5f, 7.5f, -1.5f, -1.5f, -1.5f}, 1.0f, 3),
              ElementsAre(0, 3, 3, 1, 0, -3, -3, -2));
  EXPECT_THAT(encode({0, 1000}, 1.0f, 127), ElementsAre(0, 127));
}

TEST(DeltaEncoderTest, FeaturesAreIndependent) {
  // [steps = 3][features = 2]: feature 0 rises, feature 1 falls.
  const std::vector<float> x = {0, 5, 1, 4, 2, 3};
  const std::vector<std::int8_t> levels = delta_encode(x, 3, 2, 1.0f);
  EXPECT_THAT(levels, ElementsAreArray(std::vector<std::int8_t>{0, 0, 1, -1, 1, -1}));
}

TEST(DeltaEncoderTest, RefusesBadArguments) {
  const std::vector<float> x = {0, 1};
  EXPECT_THROW(delta_encode(x, 2, 1, 0.0f), std::invalid_argument);
  EXPECT_THROW(delta_encode(x, 2, 1, -1.0f), std::invalid_argument);
  EXPECT_THROW(delta_encode(x, 2, 1, std::numeric_limits<float>::quiet_NaN()),
               std::invalid_argument);
  EXPECT_THROW(delta_encode(x, 2, 1, 1.0f, 0), std::invalid_argument);
  EXPECT_THROW(delta_encode(x, 2, 1, 1.0f, 128), std::invalid_argument);
  EXPECT_THROW(delta_encode(x, 3, 1, 1.0f), std::invalid_argument);
  const std::vector<float> nan = {0, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_THROW(delta_encode(nan, 2, 1, 1.0f), std::invalid_argument);
}

}  // namespace
}  // namespace snnsim
