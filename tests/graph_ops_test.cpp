// Layer-graph operators against naive dense references, for every spike value type and for
// analog inputs, including edge cases: no spikes, all spikes, odd shapes, padding, groups.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "graph_test_support.h"
#include "sim/graph/layer_graph.h"
#include "sim/graph/neurons.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/linear.h"
#include "sim/graph/ops/pooling.h"

namespace snnsim {
namespace {

constexpr std::size_t kSteps = 3, kBatch = 2;

/// A random input of `shape` over kSteps x kBatch with spikes at `density`.
Value random_input(const Shape& shape, InputKind kind, double density, std::mt19937& rng) {
  return random_input(shape, kind, kSteps, kBatch, density, rng);
}

void expect_close(const std::vector<float>& actual, const std::vector<float>& expected,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t k = 0; k < actual.size(); ++k) {
    ASSERT_NEAR(actual[k], expected[k], 1e-4f * (1.0f + std::abs(expected[k])))
        << what << " at " << k;
  }
}

Value run_op(LayerOp& op, const Value& x, OpCounts& counts) {
  const Value* inputs[] = {&x};
  return op.forward(inputs, counts);
}

TEST(LinearOp, MatchesTheNaiveProductForEveryInputKind) {
  std::mt19937 rng(1);
  // 11 outputs: the event path's partial tile alone; 70: a whole tile of 64 and a partial one.
  // Density 1: binary and integer spikes take the SGEMM path, ternary ones stay event-driven.
  for (const std::size_t outputs : {std::size_t{11}, std::size_t{70}}) {
    for (const Shape& shape : {Shape{37}, Shape{5, 37}}) {  // a vector, and tokens
      Linear op({37, outputs, true});
      ASSERT_EQ(op.bind(std::vector<Shape>{shape}),
                (shape.size() == 1 ? Shape{outputs} : Shape{5, outputs}));
      const std::vector<float> w = random_values(outputs * 37, rng),
                               b = random_values(outputs, rng);
      op.set_weight("weight", w);
      op.set_weight("bias", b);
      for (const InputKind kind : kInputKinds) {
        for (const double density : {0.0, 0.2, 1.0}) {
          const Value x = random_input(shape, kind, density, rng);
          OpCounts counts;
          const Value y = run_op(op, x, counts);
          const std::vector<float> dense = x.densified();
          const std::size_t rows = kSteps * kBatch * element_count(shape) / 37;
          std::vector<float> expected(rows * outputs);
          for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t o = 0; o < outputs; ++o) {
              double sum = b[o];
              for (std::size_t i = 0; i < 37; ++i)
                sum += static_cast<double>(w[o * 37 + i]) * dense[r * 37 + i];
              expected[r * outputs + o] = static_cast<float>(sum);
            }
          }
          expect_close(y.dense, expected, "linear " + shape_string(shape));
          if (kind == InputKind::analog) {
            EXPECT_EQ(counts.macs, rows * 37 * outputs);
            EXPECT_EQ(counts.acs, 0u);
          } else {
            EXPECT_EQ(counts.acs, x.spikes->events() * outputs);  // every spike drives its fan-out
            EXPECT_EQ(counts.macs, 0u);
          }
        }
      }
    }
  }
}

/// Naive direct convolution of one frame, zero padding. Adds to `accumulates` those of the
/// event-driven model: per output, each tap whose input is non-zero.
std::vector<float> naive_conv(const Conv2dParameters& p, const std::vector<float>& w,
                              const std::vector<float>& b, const float* in, std::size_t h,
                              std::size_t wd, std::size_t oh, std::size_t ow,
                              std::uint64_t& accumulates) {
  std::vector<float> out(p.out_channels * oh * ow);
  const std::size_t icg = p.in_channels / p.groups, ocg = p.out_channels / p.groups;
  for (std::size_t o = 0; o < p.out_channels; ++o) {
    const std::size_t g = o / ocg;
    for (std::size_t y = 0; y < oh; ++y) {
      for (std::size_t x = 0; x < ow; ++x) {
        double sum = b[o];
        for (std::size_t i = 0; i < icg; ++i) {
          for (std::size_t ky = 0; ky < p.kernel_h; ++ky) {
            for (std::size_t kx = 0; kx < p.kernel_w; ++kx) {
              const long iy =
                  static_cast<long>(y * p.stride_h + ky) - static_cast<long>(p.padding_h);
              const long ix =
                  static_cast<long>(x * p.stride_w + kx) - static_cast<long>(p.padding_w);
              if (iy < 0 || ix < 0 || iy >= static_cast<long>(h) || ix >= static_cast<long>(wd))
                continue;
              const float value = in[((g * icg + i) * h + iy) * wd + ix];
              sum += static_cast<double>(w[((o * icg + i) * p.kernel_h + ky) * p.kernel_w + kx]) *
                     value;
              accumulates += value != 0.0f;
            }
          }
        }
        out[(o * oh + y) * ow + x] = static_cast<float>(sum);
      }
    }
  }
  return out;
}

/// naive_conv over every frame of x ([C_in][h][wd] per frame, spikes densified).
std::vector<float> naive_conv_frames(const Conv2dParameters& p, const std::vector<float>& w,
                                     const std::vector<float>& b, const Value& x, const Shape& out,
                                     std::uint64_t& accumulates) {
  const std::vector<float> dense = x.densified();
  const std::size_t h = x.shape[1], wd = x.shape[2];
  std::vector<float> expected;
  for (std::size_t f = 0; f < x.frames(); ++f) {
    const auto frame = naive_conv(p, w, b, dense.data() + f * p.in_channels * h * wd, h, wd, out[1],
                                  out[2], accumulates);
    expected.insert(expected.end(), frame.begin(), frame.end());
  }
  return expected;
}

TEST(Conv2dOp, MatchesTheNaiveConvolutionForEveryInputKindAndShape) {
  std::mt19937 rng(2);
  // in, out, kh, kw, stride h/w, padding h/w, groups. 70 outputs: a whole tile of the event
  // path's matrix and a partial one.
  const std::vector<Conv2dParameters> cases{
      {3, 8, 3, 3, 1, 1, 1, 1, 1, true, {}},  {4, 6, 3, 3, 2, 2, 1, 1, 2, true, {}},
      {6, 6, 5, 5, 1, 1, 2, 2, 6, false, {}},  // depthwise
      {2, 4, 1, 1, 1, 1, 0, 0, 1, true, {}},  {3, 5, 2, 3, 2, 1, 0, 2, 1, true, {}},
      {5, 70, 1, 1, 2, 1, 1, 0, 1, true, {}}, {4, 70, 3, 3, 1, 1, 1, 1, 2, true, {}},
  };
  for (const Conv2dParameters& p : cases) {
    const std::size_t h = 7, wd = 9;  // odd sizes
    Conv2d op(p);
    const Shape out = op.bind(std::vector<Shape>{{p.in_channels, h, wd}});
    const std::vector<float> w =
        random_values(p.out_channels * p.in_channels / p.groups * p.kernel_h * p.kernel_w, rng);
    const std::vector<float> b =
        p.bias ? random_values(p.out_channels, rng) : std::vector<float>(p.out_channels, 0.0f);
    op.set_weight("weight", w);
    if (p.bias) op.set_weight("bias", b);
    const bool depthwise = p.groups == p.in_channels && p.groups == p.out_channels;
    // 0.15: spikes take the event path; 1: the dense one (above 25 %).
    for (const InputKind kind : kInputKinds) {
      for (const double density : {0.0, 0.15, 1.0}) {
        const Value x = random_input({p.in_channels, h, wd}, kind, density, rng);
        EXPECT_EQ(op.takes_event_path(x),
                  kind != InputKind::analog && density < 0.25 && !depthwise);
        OpCounts counts;
        const Value y = run_op(op, x, counts);
        std::uint64_t acs = 0;
        const std::vector<float> expected = naive_conv_frames(p, w, b, x, out, acs);
        const std::string what = "conv " + std::to_string(p.kernel_h) + "x" +
                                 std::to_string(p.kernel_w) + " groups " +
                                 std::to_string(p.groups) + " density " + std::to_string(density);
        expect_close(y.dense, expected, what);
        if (kind == InputKind::analog) {
          EXPECT_EQ(counts.acs, 0u) << what;
          EXPECT_EQ(counts.macs,
                    y.dense.size() * p.in_channels / p.groups * p.kernel_h * p.kernel_w);
        } else {
          EXPECT_EQ(counts.acs, acs) << what;  // the event-driven model's, whichever path ran
          EXPECT_EQ(counts.macs, 0u) << what;
        }
      }
    }
  }
}

// Dense spikes are expanded band by band of output rows, each band the input rows it reads:
// 32 inputs under a 3 x 3 kernel (patch matrices of 288 rows) cut each frame's 40 x 40 outputs
// into bands of 13 rows, the last one short; strided and padded.
TEST(Conv2dOp, DenseSpikesExpandedBandByBandMatchTheNaiveConvolution) {
  std::mt19937 rng(14);
  const Conv2dParameters p{32, 16, 3, 3, 2, 2, 1, 1, 1, true, {}};
  const std::size_t h = 80, wd = 79;
  Conv2d op(p);
  const Shape out = op.bind(std::vector<Shape>{{p.in_channels, h, wd}});
  const std::vector<float> w = random_values(p.out_channels * p.in_channels * 9, rng);
  const std::vector<float> b = random_values(p.out_channels, rng);
  op.set_weight("weight", w);
  op.set_weight("bias", b);
  for (const InputKind kind : {InputKind::binary, InputKind::integer}) {
    const Value x = random_input({p.in_channels, h, wd}, kind, 0.5, rng);
    ASSERT_TRUE(op.takes_dense_path(x));
    OpCounts counts;
    const Value y = run_op(op, x, counts);
    std::uint64_t acs = 0;
    expect_close(y.dense, naive_conv_frames(p, w, b, x, out, acs), "banded dense spikes");
  }
}

TEST(Conv2dOp, FusedWithItsLifGivesTheSpikesOfTheTwoLayersRunApart) {
  std::mt19937 rng(12);
  LifLayer lif({2.0, 0.4, 0.0, true}, true);
  // A 1 x 1 kernel (the gathering event path) and 3 x 3 ones (the scattering one).
  for (const Conv2dParameters& p : {Conv2dParameters{5, 70, 1, 1, 1, 1, 0, 0, 1, true, {}},
                                    Conv2dParameters{3, 70, 3, 3, 1, 1, 1, 1, 1, true, {}},
                                    Conv2dParameters{4, 6, 3, 3, 2, 2, 1, 1, 2, true, {}}}) {
    Conv2d op(p);
    lif.bind(std::vector<Shape>{op.bind(std::vector<Shape>{{p.in_channels, 7, 9}})});
    op.set_weight(
        "weight",
        random_values(p.out_channels * p.in_channels / p.groups * p.kernel_h * p.kernel_w, rng));
    op.set_weight("bias", random_values(p.out_channels, rng));
    for (const InputKind kind : {InputKind::binary, InputKind::integer}) {
      const Value x = random_input({p.in_channels, 7, 9}, kind, 0.15, rng);
      ASSERT_TRUE(op.takes_event_path(x));
      OpCounts fused_counts, apart_counts;
      const SpikeTrain fused = op.forward_into_lif(*x.spikes, lif, fused_counts);
      const Value drive = run_op(op, x, apart_counts);
      const Value apart = run_op(lif, drive, apart_counts);
      EXPECT_GT(fused.events(), 0u);
      EXPECT_EQ(fused.indices, apart.spikes->indices);
      EXPECT_EQ(fused.offsets, apart.spikes->offsets);
      EXPECT_EQ(fused_counts.acs, apart_counts.acs);
    }
  }
}

TEST(Conv2dOp, FusedWithABinaryThresholdGivesTheSpikesOfTheTwoLayersRunApart) {
  std::mt19937 rng(13);
  ThresholdLayer threshold(1);
  // 300 outputs of 40 x 40: bands of rows (their outputs kept in cache) cut each frame; a
  // strided 3 x 3 kernel in groups, and a plain 1 x 1 one.
  for (const auto& [p, size] :
       {std::pair{Conv2dParameters{8, 300, 1, 1, 1, 1, 0, 0, 1, true, {}}, 40},
        std::pair{Conv2dParameters{4, 6, 3, 3, 2, 2, 1, 1, 2, true, {}}, 9}}) {
    Conv2d op(p);
    const Shape in{p.in_channels, static_cast<std::size_t>(size), static_cast<std::size_t>(size)};
    threshold.bind(std::vector<Shape>{op.bind(std::vector<Shape>{in})});
    op.set_weight(
        "weight",
        random_values(p.out_channels * p.in_channels / p.groups * p.kernel_h * p.kernel_w, rng));
    op.set_weight("bias", random_values(p.out_channels, rng));
    for (const InputKind kind : {InputKind::analog, InputKind::binary}) {
      const Value x = random_input(in, kind, 0.5, rng);
      ASSERT_TRUE(op.takes_dense_path(x));
      OpCounts fused_counts, apart_counts;
      const SpikeTrain fused = op.forward_dense_into_threshold(x, fused_counts);
      const Value apart = run_op(threshold, run_op(op, x, apart_counts), apart_counts);
      EXPECT_GT(fused.events(), 0u);
      EXPECT_EQ(fused.indices, apart.spikes->indices);
      EXPECT_EQ(fused.offsets, apart.spikes->offsets);
      EXPECT_EQ(fused_counts.acs, apart_counts.acs);
      EXPECT_EQ(fused_counts.macs, apart_counts.macs);
    }
  }
}

TEST(Pool2dOp, MaxAvgSumMatchTheNaiveWindowsAndMaxKeepsSpikes) {
  std::mt19937 rng(3);
  for (const PoolKind kind : {PoolKind::max, PoolKind::average, PoolKind::sum}) {
    Pool2d op({kind, 3, 3, 2, 2, 1, 1});
    const Shape out = op.bind(std::vector<Shape>{{2, 7, 8}});
    ASSERT_EQ(out, (Shape{2, 4, 4}));
    for (const InputKind input : {InputKind::analog, InputKind::binary, InputKind::integer}) {
      const Value x = random_input({2, 7, 8}, input, 0.3, rng);
      OpCounts counts;
      const Value y = run_op(op, x, counts);
      const std::vector<float> dense = x.densified();
      std::vector<float> expected;
      for (std::size_t f = 0; f < kSteps * kBatch; ++f) {
        for (std::size_t c = 0; c < 2; ++c) {
          for (std::size_t oy = 0; oy < 4; ++oy) {
            for (std::size_t ox = 0; ox < 4; ++ox) {
              float best = -1e30f, sum = 0.0f;
              for (int ky = 0; ky < 3; ++ky) {
                for (int kx = 0; kx < 3; ++kx) {
                  const int iy = static_cast<int>(oy) * 2 + ky - 1,
                            ix = static_cast<int>(ox) * 2 + kx - 1;
                  if (iy < 0 || ix < 0 || iy >= 7 || ix >= 8) continue;
                  const float v = dense[((f * 2 + c) * 7 + iy) * 8 + ix];
                  best = std::max(best, v);
                  sum += v;
                }
              }
              expected.push_back(kind == PoolKind::max   ? best
                                 : kind == PoolKind::sum ? sum
                                                         : sum / 9.0f);
            }
          }
        }
      }
      expect_close(y.densified(), expected, std::string(op.kind()));
      EXPECT_EQ(y.is_spikes(), kind == PoolKind::max && input != InputKind::analog);
    }
  }
}

TEST(GlobalPoolAndUpsample, MatchNaiveReferences) {
  std::mt19937 rng(4);
  const Value x = random_input({3, 4, 5}, InputKind::binary, 0.4, rng);
  const std::vector<float> dense = x.densified();
  GlobalAveragePool gap;
  EXPECT_EQ(gap.bind(std::vector<Shape>{{3, 4, 5}}), (Shape{3}));
  OpCounts counts;
  const Value pooled = run_op(gap, x, counts);
  for (std::size_t f = 0; f < kSteps * kBatch; ++f) {
    for (std::size_t c = 0; c < 3; ++c) {
      float sum = 0.0f;
      for (std::size_t k = 0; k < 20; ++k)
        sum += dense[(f * 3 + c) * 20 + k];
      EXPECT_FLOAT_EQ(pooled.dense[f * 3 + c], sum / 20.0f);
    }
  }
  Upsample up(2);
  EXPECT_EQ(up.bind(std::vector<Shape>{{3, 4, 5}}), (Shape{3, 8, 10}));
  const Value big = run_op(up, x, counts);
  ASSERT_TRUE(big.is_spikes());
  EXPECT_EQ(big.spikes->events(), 4 * x.spikes->events());
  const std::vector<float> upsampled = big.densified();
  for (std::size_t f = 0; f < kSteps * kBatch; ++f) {
    for (std::size_t c = 0; c < 3; ++c) {
      for (std::size_t y = 0; y < 8; ++y) {
        for (std::size_t xx = 0; xx < 10; ++xx) {
          ASSERT_EQ(upsampled[((f * 3 + c) * 8 + y) * 10 + xx],
                    dense[((f * 3 + c) * 4 + y / 2) * 5 + xx / 2]);
        }
      }
    }
  }
}

TEST(AddOp, SpikesPlusSpikesAreIntegerSpikesAndAnalogSumsAreExact) {
  std::mt19937 rng(5);
  Add add;
  add.bind(std::vector<Shape>{{10}, {10}});
  const Value a = random_input({10}, InputKind::binary, 0.5, rng);
  const Value b = random_input({10}, InputKind::binary, 0.5, rng);
  const Value* inputs[] = {&a, &b};
  OpCounts counts;
  const Value sum = add.forward(inputs, counts);
  ASSERT_TRUE(sum.is_spikes());
  EXPECT_EQ(sum.spikes->kind, SpikeKind::integer);
  const std::vector<float> da = a.densified(), db = b.densified(), ds = sum.densified();
  for (std::size_t k = 0; k < ds.size(); ++k)
    EXPECT_EQ(ds[k], da[k] + db[k]);
  EXPECT_THROW(add.bind(std::vector<Shape>{{10}, {11}}), GraphError);
}

TEST(LifNeuron, FollowsSpikingjellysEquationsStepByStep) {
  // Constant input 1.5 into tau = 2, threshold 1, hard reset to 0, decay_input:
  // H = V + (X - V) / 2: 0.75 (no), 1.125 (spike, V = 0), 0.75, 1.125, ...
  LifLayer lif({2.0, 1.0, 0.0, true}, true);
  lif.bind(std::vector<Shape>{{1}});
  Value x = Value::analog({1}, 6, 1);
  std::fill(x.dense.begin(), x.dense.end(), 1.5f);
  OpCounts counts;
  const Value y = run_op(lif, x, counts);
  EXPECT_EQ(y.densified(), (std::vector<float>{0, 1, 0, 1, 0, 1}));
  // Soft reset keeps the excess: H = 0.75, 1.125 -> 0.125, 0.8125, 1.15625 -> 0.15625, ...
  LifLayer soft({2.0, 1.0, std::nullopt, true}, true);
  soft.bind(std::vector<Shape>{{1}});
  EXPECT_EQ(run_op(soft, x, counts).densified(), (std::vector<float>{0, 1, 0, 1, 0, 1}));
  // IF integrates without leak: 1.5 (spike, V = 0) every step.
  LifLayer integrate({2.0, 1.0, 0.0, true}, false);
  integrate.bind(std::vector<Shape>{{1}});
  EXPECT_EQ(run_op(integrate, x, counts).densified(), (std::vector<float>(6, 1.0f)));
  // decay_input false: H = V - V / 2 + X: 1.5 spikes at once.
  LifLayer no_decay({2.0, 1.0, 0.0, false}, true);
  no_decay.bind(std::vector<Shape>{{1}});
  EXPECT_EQ(run_op(no_decay, x, counts).densified(), (std::vector<float>(6, 1.0f)));
}

TEST(ThresholdNeurons, RoundHalfToEvenLikeTorch) {
  Value x = Value::analog({7}, 1, 1);
  x.dense = {-0.3f, 0.49f, 0.5f, 0.51f, 1.5f, 2.5f, 9.0f};
  OpCounts counts;
  ThresholdLayer binary(1);
  binary.bind(std::vector<Shape>{{7}});
  EXPECT_EQ(run_op(binary, x, counts).densified(), (std::vector<float>{0, 0, 0, 1, 1, 1, 1}));
  ThresholdLayer four(4);
  four.bind(std::vector<Shape>{{7}});
  const Value levels = run_op(four, x, counts);
  EXPECT_EQ(levels.spikes->kind, SpikeKind::integer);
  EXPECT_EQ(levels.densified(), (std::vector<float>{0, 0, 0, 1, 2, 2, 4}));
}

TEST(TernaryNeurons, QuantizerAndElasticBiSpikingFollowSpikeLM) {
  Value x = Value::analog({3}, 2, 1);
  x.dense = {0.6f, -0.2f, -1.0f, 0.3f, 0.3f, 0.3f};
  OpCounts counts;
  TernaryLayer quantizer(2, false);
  quantizer.bind(std::vector<Shape>{{3}});
  quantizer.set_weight("alpha", {1.0f, 0.5f});
  // t0: round(0.6) = 1, round(-0.2) = 0, -1; t1: round(0.3 / 0.5 = 0.6) = 1 for all.
  EXPECT_EQ(run_op(quantizer, x, counts).densified(),
            (std::vector<float>{1.0f, 0.0f, -1.0f, 0.5f, 0.5f, 0.5f}));
  TernaryLayer elastic(2, true);
  elastic.bind(std::vector<Shape>{{3}});
  elastic.set_weight("alpha", {1.0f, 0.5f});
  // t1: u = 0.25 (alpha0 - s0) u0 + x1: neuron 0: 0.25 * 0 * 0.6 + 0.3 = 0.3 -> 1 (0.6 rounds up);
  // neuron 1: 0.25 * 1 * -0.2 + 0.3 = 0.25 -> round(0.5) = 0; neuron 2: 0.25 * 2 * -1 + 0.3 = -0.2
  // -> round(-0.4) = 0.
  EXPECT_EQ(run_op(elastic, x, counts).densified(),
            (std::vector<float>{1.0f, 0.0f, -1.0f, 0.5f, 0.0f, 0.0f}));
  // An alpha of 0 quantizes with the official floor of 1e-5 (no division by zero), and the leak
  // after it takes the 0 as stored: u1 = 0.25 (0 - 1e-5 q0) u0 + x1.
  elastic.set_weight("alpha", {0.0f, 0.5f});
  const std::vector<float> floored = run_op(elastic, x, counts).densified();
  EXPECT_EQ(floored, (std::vector<float>{1e-5f, -1e-5f, -1e-5f, 0.5f, 0.5f, 0.5f}));
}

TEST(LayerGraph, ConvolutionFusedWithItsLifGivesTheSeparateOpsSpikes) {
  std::mt19937 rng(11);
  // Stride 1 (one contiguous run per spike) and stride 2 with groups (the general path); binary
  // and integer spikes; a soft-reset LIF and an IF.
  const std::pair<Conv2dParameters, LifParameters> cases[] = {
      {{3, 8, 3, 3, 1, 1, 1, 1, 1, true, {}}, {2.0, 1.0, 0.0, true}},
      {{4, 6, 3, 3, 2, 2, 1, 1, 2, true, {}}, {3.0, 0.5, std::nullopt, false}}};
  for (const auto& [conv_parameters, lif_parameters] : cases) {
    for (const InputKind kind : {InputKind::binary, InputKind::integer}) {
      LayerGraph graph({conv_parameters.in_channels, 9, 7}, kSteps);
      const auto conv = graph.add_node("conv", std::make_unique<Conv2d>(conv_parameters));
      const auto lif = graph.add_node("lif", std::make_unique<LifLayer>(lif_parameters, true));
      graph.connect(0, conv, 0);
      graph.connect(conv, lif, 0);
      graph.set_output(lif);
      graph.bind();
      LayerOp& conv_op = *graph.nodes()[conv].op;
      conv_op.set_weight("weight", random_values(conv_op.weight_specs()[0].shape[0] *
                                                     conv_op.weight_specs()[0].shape[1] * 9,
                                                 rng, 0.8f));
      conv_op.set_weight("bias", random_values(conv_parameters.out_channels, rng, 0.3f));
      const Value x = random_input({conv_parameters.in_channels, 9, 7}, kind, 0.3, rng);
      // The graph fuses the pair; the operators one after the other are the reference.
      const GraphRun fused = graph.run(x, false);
      OpCounts counts;
      const Value drive = run_op(conv_op, x, counts);
      OpCounts unused;
      const Value spikes = run_op(*graph.nodes()[lif].op, drive, unused);
      EXPECT_EQ(fused.output.spikes->offsets, spikes.spikes->offsets);
      EXPECT_EQ(fused.output.spikes->indices, spikes.spikes->indices);
      EXPECT_GT(spikes.spikes->events(), 0u);
      EXPECT_EQ(fused.nodes[0].counts.acs, counts.acs);
      EXPECT_EQ(fused.nodes[1].spikes, spikes.spikes->events());
    }
  }
}

TEST(LayerGraph, FoldedBatchNormGivesTheUnfoldedOutput) {
  std::mt19937 rng(6);
  auto build = [&](std::mt19937 weights_rng) {
    auto graph = std::make_unique<LayerGraph>(Shape{2, 6, 6}, kSteps);
    const auto conv = graph->add_node(
        "conv", std::make_unique<Conv2d>(Conv2dParameters{2, 4, 3, 3, 1, 1, 1, 1, 1, false, {}}));
    const auto norm = graph->add_node("bn", std::make_unique<BatchNorm>(1e-5));
    const auto lif = graph->add_node("lif", std::make_unique<LifLayer>(LifParameters{}, true));
    graph->connect(0, conv, 0);
    graph->connect(conv, norm, 0);
    graph->connect(norm, lif, 0);
    graph->set_output(lif);
    graph->bind();
    graph->nodes()[conv].op->set_weight("weight", random_values(4 * 2 * 9, weights_rng));
    graph->nodes()[norm].op->set_weight("weight", random_values(4, weights_rng));
    graph->nodes()[norm].op->set_weight("bias", random_values(4, weights_rng));
    graph->nodes()[norm].op->set_weight("running_mean", random_values(4, weights_rng));
    std::vector<float> variance = random_values(4, weights_rng);
    for (float& v : variance)
      v = std::abs(v) + 0.1f;
    graph->nodes()[norm].op->set_weight("running_var", variance);
    return graph;
  };
  auto plain = build(std::mt19937(7)), folded = build(std::mt19937(7));
  folded->fold_affine_nodes();
  EXPECT_TRUE(folded->nodes()[2].folded);
  const Value x = random_input({2, 6, 6}, InputKind::analog, 0.0, rng);
  const GraphRun a = plain->run(x, false), b = folded->run(x, false);
  EXPECT_EQ(a.output.spikes->indices, b.output.spikes->indices);
  EXPECT_GT(a.output.spikes->events(), 0u);
  EXPECT_EQ(b.nodes[1].counts.macs, 0u) << "a folded BatchNorm costs nothing";
}

TEST(LayerGraph, ResidualGraphsRunInTopologicalOrderAndBadGraphsSayWhy) {
  LayerGraph graph({8}, 2);
  // Added out of order: the add before the branches feeding it.
  const auto add = graph.add_node("sum", std::make_unique<Add>());
  const auto a = graph.add_node("a", std::make_unique<ThresholdLayer>(1));
  const auto b = graph.add_node("b", std::make_unique<ThresholdLayer>(2));
  graph.connect(0, a, 0);
  graph.connect(0, b, 0);
  graph.connect(a, add, 0);
  graph.connect(b, add, 1);
  graph.set_output(add);
  graph.bind();
  Value x = Value::analog({8}, 2, 1);
  for (std::size_t k = 0; k < x.dense.size(); ++k)
    x.dense[k] = static_cast<float>(k % 4) * 0.5f;  // 0, 0.5, 1, 1.5
  const GraphRun run = graph.run(x, true);
  // a: 0,0,1,1; b: 0,0,1,2; sum 0,0,2,3.
  EXPECT_EQ(run.output.densified()[3], 3.0f);
  // It runs the add last, and reports every node in the graph's order, under its own name.
  EXPECT_EQ(graph.execution_order().back(), add);
  ASSERT_EQ(run.nodes.size(), 3u);
  EXPECT_EQ(run.nodes[0].name, "sum");
  EXPECT_EQ(run.nodes[0].node, add);
  EXPECT_EQ(run.nodes[0].per_step, (std::vector<std::uint64_t>{4, 4}));  // 2 and 3 count once

  LayerGraph loose({8}, 2);
  loose.set_output(loose.add_node("sum", std::make_unique<Add>()));
  loose.connect(0, 1, 0);
  try {
    loose.bind();
    FAIL();
  } catch (const GraphError& error) {
    EXPECT_STREQ(error.what(), "node sum: input 1 is not connected");
  }
  LayerGraph mismatched({8}, 2);
  const auto fc = mismatched.add_node("fc", std::make_unique<Linear>(LinearParameters{9, 2}));
  mismatched.connect(0, fc, 0);
  try {
    mismatched.bind();
    FAIL();
  } catch (const GraphError& error) {
    EXPECT_STREQ(error.what(),
                 "node fc (linear): expected an input whose last dimension is in_features = 9; "
                 "found [8]");
  }
}

TEST(LayerGraph, RecurrenceThroughADelayRunsStepByStepLikeTheUnrolledLoop) {
  // u[t] = W_in x[t] + W_rec s[t-1]; s = LIF(u); output = W_out s.
  std::mt19937 rng(8);
  const std::size_t in = 5, hidden = 7, steps = 6, batch = 2;
  const std::vector<float> w_in = random_values(hidden * in, rng, 1.5f),
                           w_rec = random_values(hidden * hidden, rng, 0.8f);
  LayerGraph graph({in}, steps);
  const auto fc_in =
      graph.add_node("fc_in", std::make_unique<Linear>(LinearParameters{in, hidden, false}));
  const auto fc_rec =
      graph.add_node("fc_rec", std::make_unique<Linear>(LinearParameters{hidden, hidden, false}));
  const auto sum = graph.add_node("sum", std::make_unique<Add>());
  const auto lif = graph.add_node("lif", std::make_unique<LifLayer>(LifParameters{}, true));
  const auto previous = graph.add_node("previous", std::make_unique<Delay>(Shape{hidden}));
  graph.connect(0, fc_in, 0);
  graph.connect(fc_in, sum, 0);
  graph.connect(fc_rec, sum, 1);
  graph.connect(sum, lif, 0);
  graph.connect(lif, previous, 0);
  graph.connect(previous, fc_rec, 0);
  graph.set_output(lif);
  graph.bind();
  graph.nodes()[fc_in].op->set_weight("weight", w_in);
  graph.nodes()[fc_rec].op->set_weight("weight", w_rec);
  Value input = Value::analog({in}, steps, batch);
  std::normal_distribution<float> normal(0.5f, 1.0f);
  for (float& v : input.dense)
    v = normal(rng);
  const GraphRun run = graph.run(input, true);
  // The unrolled reference.
  std::vector<float> v(batch * hidden, 0.0f), s(batch * hidden, 0.0f), expected;
  for (std::size_t t = 0; t < steps; ++t) {
    std::vector<float> next(batch * hidden);
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t h = 0; h < hidden; ++h) {
        double u = 0, r = 0;
        for (std::size_t i = 0; i < in; ++i)
          u += static_cast<double>(w_in[h * in + i]) * input.dense[(t * batch + b) * in + i];
        for (std::size_t j = 0; j < hidden; ++j)
          r += static_cast<double>(w_rec[h * hidden + j]) * s[b * hidden + j];
        const float drive = static_cast<float>(u) + static_cast<float>(r);
        float& m = v[b * hidden + h];
        const float charged = m + (drive - m) / 2.0f;
        const bool spike = charged >= 1.0f;
        m = spike ? 0.0f : charged;
        next[b * hidden + h] = spike ? 1.0f : 0.0f;
      }
    }
    s = next;
    expected.insert(expected.end(), s.begin(), s.end());
  }
  EXPECT_EQ(run.output.densified(), expected);
  EXPECT_GT(run.output.spikes->events(), 5u);
  EXPECT_EQ(run.output.steps, steps);
  for (const NodeReport& report : run.nodes) {
    if (report.name == "lif") {
      EXPECT_EQ(report.per_step.size(), steps);
      EXPECT_EQ(report.spikes, run.output.spikes->events());
    }
  }
  // Without the delay the cycle is refused.
  LayerGraph cyclic({in}, steps);
  const auto a = cyclic.add_node("a", std::make_unique<Add>());
  const auto l = cyclic.add_node("l", std::make_unique<LifLayer>(LifParameters{}, true));
  cyclic.connect(0, a, 0);
  cyclic.connect(l, a, 1);
  cyclic.connect(a, l, 0);
  EXPECT_THROW(cyclic.bind(), GraphError);
}

}  // namespace
}  // namespace snnsim
