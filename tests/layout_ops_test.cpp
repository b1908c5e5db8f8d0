// Layout operators (sim/graph/ops/layout.h) and BatchNorm over an axis against naive dense
// references, for every input kind: spikes must give the values of their dense form.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "graph_test_support.h"
#include "sim/graph/layer_graph.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/layout.h"
#include "sim/graph/ops/linear.h"

namespace snnsim {
namespace {

constexpr std::size_t kSteps = 3, kBatch = 2, kFrames = kSteps * kBatch;

void expect_close(const std::vector<float>& actual, const std::vector<float>& expected,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t k = 0; k < actual.size(); ++k)
    ASSERT_NEAR(actual[k], expected[k], 1e-5f * (1.0f + std::abs(expected[k]))) << what << " " << k;
}

TEST(PermuteOp, MovesEveryElementAndKeepsSpikesAsSpikes) {
  std::mt19937 rng(3);
  const Shape shape{3, 4, 5};  // [C, H, W] to [H, W, C]: tokens of C channels
  for (const InputKind kind : kInputKinds) {
    const Value x = random_input(shape, kind, kSteps, kBatch, 0.3, rng);
    Permute op({1, 2, 0});
    const Value y = bind_and_forward(op, {&x});
    ASSERT_EQ(y.shape, (Shape{4, 5, 3}));
    EXPECT_EQ(y.is_spikes(), x.is_spikes()) << kind_name(kind);
    const std::vector<float> in = x.densified(), out = y.densified();
    for (std::size_t f = 0; f < kFrames; ++f) {
      for (std::size_t c = 0; c < 3; ++c) {
        for (std::size_t h = 0; h < 4; ++h) {
          for (std::size_t w = 0; w < 5; ++w) {
            ASSERT_EQ(out[f * 60 + (h * 5 + w) * 3 + c], in[f * 60 + (c * 4 + h) * 5 + w])
                << kind_name(kind);
          }
        }
      }
    }
  }
  Permute repeated({0, 0, 1});
  EXPECT_THROW(repeated.bind(std::vector<Shape>{shape}), GraphError);
}

TEST(ReduceOp, MeanAndSumOverEachAxisMatchTheNaiveSums) {
  std::mt19937 rng(4);
  const Shape shape{4, 6};  // [N, C]
  for (const InputKind kind : kInputKinds) {
    const Value x = random_input(shape, kind, kSteps, kBatch, 0.4, rng);
    const std::vector<float> in = x.densified();
    for (std::size_t axis = 0; axis < 2; ++axis) {
      for (const ReduceKind reduction : {ReduceKind::mean, ReduceKind::sum}) {
        Reduce op(reduction, axis);
        const Value y = bind_and_forward(op, {&x});
        const std::size_t kept = axis == 0 ? 6 : 4, length = shape[axis];
        ASSERT_EQ(y.shape, (Shape{kept}));
        std::vector<float> expected(kFrames * kept, 0.0f);
        for (std::size_t f = 0; f < kFrames; ++f) {
          for (std::size_t n = 0; n < 4; ++n) {
            for (std::size_t c = 0; c < 6; ++c)
              expected[f * kept + (axis == 0 ? c : n)] += in[f * 24 + n * 6 + c];
          }
        }
        if (reduction == ReduceKind::mean) {
          for (float& v : expected)
            v /= static_cast<float>(length);
        }
        expect_close(y.densified(), expected,
                     std::string(kind_name(kind)) + " axis " + std::to_string(axis));
      }
    }
  }
}

TEST(ReduceOp, OverTheTimestepsGivesOneTimestepOfTheMeanOrSum) {
  std::mt19937 rng(7);
  const Shape shape{2, 5};
  for (const InputKind kind : kInputKinds) {
    const Value x = random_input(shape, kind, kSteps, kBatch, 0.4, rng);
    const std::vector<float> in = x.densified();
    for (const ReduceKind reduction : {ReduceKind::mean, ReduceKind::sum}) {
      Reduce op(reduction, Reduce::kTimesteps);
      EXPECT_TRUE(op.needs_all_steps());
      const Value y = bind_and_forward(op, {&x});
      ASSERT_EQ(y.shape, shape);
      ASSERT_EQ(y.steps, 1u);
      std::vector<float> expected(kBatch * 10, 0.0f);
      for (std::size_t i = 0; i < in.size(); ++i)
        expected[i % expected.size()] += in[i];
      for (float& v : expected)
        v /= reduction == ReduceKind::mean ? static_cast<float>(kSteps) : 1.0f;
      expect_close(y.densified(), expected, kind_name(kind));
    }
  }
}

TEST(SelectOp, TakesOneIndexOfAnAxisAndKeepsSpikesAsSpikes) {
  std::mt19937 rng(8);
  const Shape shape{3, 4, 2};
  for (const InputKind kind : kInputKinds) {
    const Value x = random_input(shape, kind, kSteps, kBatch, 0.5, rng);
    const std::vector<float> in = x.densified();
    for (std::size_t axis = 0; axis < 3; ++axis) {
      Select op(axis, shape[axis] - 1);
      const Value y = bind_and_forward(op, {&x});
      EXPECT_EQ(y.is_spikes(), x.is_spikes()) << kind_name(kind);
      Shape kept = shape;
      kept.erase(kept.begin() + static_cast<long>(axis));
      ASSERT_EQ(y.shape, kept);
      std::vector<float> expected;
      for (std::size_t f = 0; f < kFrames; ++f) {
        for (std::size_t i = 0; i < 3; ++i) {
          for (std::size_t j = 0; j < 4; ++j) {
            for (std::size_t k = 0; k < 2; ++k) {
              const std::size_t at[] = {i, j, k};
              if (at[axis] == shape[axis] - 1) expected.push_back(in[f * 24 + (i * 4 + j) * 2 + k]);
            }
          }
        }
      }
      expect_close(y.densified(), expected,
                   std::string(kind_name(kind)) + " axis " + std::to_string(axis));
    }
  }
  Select beyond(1, 4);
  EXPECT_THROW(beyond.bind(std::vector<Shape>{shape}), GraphError);
}

TEST(MultiplyOp, ProductsWithBroadcastingAndTheAndOfBinarySpikes) {
  std::mt19937 rng(5);
  const Shape full{4, 6}, row{1, 6};  // tokens, and one value per channel broadcast over them
  for (const InputKind a_kind : kInputKinds) {
    for (const InputKind b_kind : kInputKinds) {
      for (const Shape& b_shape : {full, row}) {
        const Value a = random_input(full, a_kind, kSteps, kBatch, 0.5, rng);
        const Value b = random_input(b_shape, b_kind, kSteps, kBatch, 0.5, rng);
        Multiply op;
        const Value y = bind_and_forward(op, {&a, &b});
        ASSERT_EQ(y.shape, full);
        const bool binary = a_kind == InputKind::binary && b_kind == InputKind::binary;
        EXPECT_EQ(y.is_spikes(), binary) << kind_name(a_kind) << " x " << kind_name(b_kind);
        const std::vector<float> x = a.densified(), z = b.densified();
        std::vector<float> expected(kFrames * 24);
        const std::size_t nb = element_count(b_shape);
        for (std::size_t f = 0; f < kFrames; ++f) {
          for (std::size_t i = 0; i < 24; ++i)
            expected[f * 24 + i] = x[f * 24 + i] * z[f * nb + (nb == 24 ? i : i % 6)];
        }
        expect_close(y.densified(), expected,
                     std::string(kind_name(a_kind)) + " x " + kind_name(b_kind));
      }
    }
  }
  Multiply mismatched;
  EXPECT_THROW(mismatched.bind(std::vector<Shape>{{4, 6}, {4, 5}}), GraphError);
}

// BatchNorm1d over the channels of [N, C] tokens (axis 1), alone and folded into the linear layer
// before it.
TEST(BatchNormOp, OverTheLastAxisOfTokensAloneAndFoldedIntoTheLinearLayer) {
  std::mt19937 rng(6);
  const std::vector<float> gamma = random_values(5, rng), beta = random_values(5, rng),
                           mean = random_values(5, rng);
  std::vector<float> variance = random_values(5, rng);
  for (float& v : variance)
    v = 0.5f + std::abs(v);
  const auto set = [&](LayerOp& norm) {
    norm.set_weight("weight", gamma);
    norm.set_weight("bias", beta);
    norm.set_weight("running_mean", mean);
    norm.set_weight("running_var", variance);
  };
  const Value x = random_input({4, 5}, InputKind::analog, kSteps, kBatch, 1.0, rng);
  BatchNorm alone(1e-5, 1);
  alone.bind(std::vector<Shape>{{4, 5}});
  set(alone);
  OpCounts counts;
  const Value* inputs[] = {&x};
  const std::vector<float> y = alone.forward(inputs, counts).densified(), in = x.densified();
  std::vector<float> expected(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::size_t c = i % 5;
    expected[i] = (in[i] - mean[c]) / std::sqrt(variance[c] + 1e-5f) * gamma[c] + beta[c];
  }
  expect_close(y, expected, "batchnorm over axis 1");

  const std::vector<float> w = random_values(5 * 5, rng), b = random_values(5, rng);
  const auto graph = [&](bool fold) {
    auto g = std::make_unique<LayerGraph>(Shape{4, 5}, kSteps);
    const std::size_t linear =
        g->add_node("fc", std::make_unique<Linear>(LinearParameters{5, 5, true}));
    const std::size_t norm = g->add_node("bn", std::make_unique<BatchNorm>(1e-5, 1));
    g->connect(0, linear, 0);
    g->connect(linear, norm, 0);
    g->set_output(norm);
    g->bind();
    g->nodes()[linear].op->set_weight("weight", w);
    g->nodes()[linear].op->set_weight("bias", b);
    set(*g->nodes()[norm].op);
    if (fold) g->fold_affine_nodes();
    return g;
  };
  const auto plain = graph(false), folded = graph(true);
  EXPECT_TRUE(folded->nodes()[2].folded);
  expect_close(folded->run(x, false).output.densified(), plain->run(x, false).output.densified(),
               "folded into the linear layer");
}

}  // namespace
}  // namespace snnsim
