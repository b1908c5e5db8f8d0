// Token-pruning operators (sim/graph/ops/token_pruning.h) against naive dense references written
// from their definitions, for spikes and analog values alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "graph_test_support.h"
#include "sim/graph/layer_graph.h"
#include "sim/graph/ops/token_pruning.h"

namespace snnsim {
namespace {

constexpr std::size_t kSteps = 3, kBatch = 2, kFrames = kSteps * kBatch;

TEST(AppendTokensOp, AppendsTheRowOfEachTimestepToSpikesAndValues) {
  std::mt19937 rng(5);
  const Shape shape{4, 6};
  std::vector<float> rows(kSteps * 6);
  for (float& v : rows)
    v = static_cast<float>(rng() % 2);
  for (const InputKind kind : {InputKind::analog, InputKind::binary, InputKind::integer}) {
    const Value x = random_input(shape, kind, kSteps, kBatch, 0.3, rng);
    AppendTokens op(kSteps);
    op.bind(std::vector<Shape>{shape});
    op.set_weight("tokens", rows);
    const Value* inputs[] = {&x};
    OpCounts counts;
    const Value y = op.forward(inputs, counts);
    ASSERT_EQ(y.shape, (Shape{5, 6}));
    EXPECT_EQ(y.is_spikes(), x.is_spikes()) << kind_name(kind);
    const std::vector<float> in = x.densified(), out = y.densified();
    for (std::size_t f = 0; f < kFrames; ++f) {
      for (std::size_t i = 0; i < 24; ++i)
        ASSERT_EQ(out[f * 30 + i], in[f * 24 + i]) << kind_name(kind);
      for (std::size_t c = 0; c < 6; ++c)
        ASSERT_EQ(out[f * 30 + 24 + c], rows[(f / kBatch) * 6 + c]) << kind_name(kind);
    }
  }
  // A fractional row cannot extend spikes.
  AppendTokens shared(1);
  shared.bind(std::vector<Shape>{shape});
  shared.set_weight("tokens", std::vector<float>(6, 0.5f));
  const Value spikes = random_input(shape, InputKind::binary, kSteps, kBatch, 0.3, rng);
  const Value* inputs[] = {&spikes};
  OpCounts counts;
  EXPECT_THROW(shared.forward(inputs, counts), GraphError);
}

TEST(AnchorScoresOp, EqualsTheAnchorRowsDotProductsAndCountsOneAcPerCoincidence) {
  std::mt19937 rng(7);
  const Shape shape{9, 16};
  for (const InputKind kind : kInputKinds) {
    const Value q = random_input(shape, kind, kSteps, kBatch, 0.4, rng);
    const Value k = random_input(shape, kind, kSteps, kBatch, 0.4, rng);
    AnchorScores op;
    OpCounts counts;
    const Value y = bind_and_forward(op, {&q, &k}, &counts);
    ASSERT_EQ(y.shape, (Shape{8}));
    const std::vector<float> qd = q.densified(), kd = k.densified(), out = y.densified();
    std::uint64_t coincidences = 0;
    for (std::size_t f = 0; f < kFrames; ++f) {
      for (std::size_t n = 0; n < 8; ++n) {
        double expected = 0.0;
        for (std::size_t c = 0; c < 16; ++c) {
          const float a = qd[f * 144 + 8 * 16 + c], b = kd[f * 144 + n * 16 + c];
          expected += a * b;
          coincidences += a != 0.0f && b != 0.0f;
        }
        ASSERT_NEAR(out[f * 8 + n], expected, 1e-4 * (1.0 + std::abs(expected))) << kind_name(kind);
      }
    }
    if (kind == InputKind::analog) {
      EXPECT_EQ(counts.macs, kFrames * 8 * 16);
    } else {
      EXPECT_EQ(counts.acs, coincidences) << kind_name(kind);
    }
  }
}

/// Scores [kSteps][kBatch][m] of small integers, so that equal keys (ties) occur.
Value integer_scores(std::size_t m, std::mt19937& rng) {
  Value scores = Value::analog({m}, kSteps, kBatch);
  for (float& v : scores.dense)
    v = static_cast<float>(rng() % 4);
  return scores;
}

/// The kept set by definition: every subset's rank by brute force. A token is kept when fewer
/// than K tokens rank above it (a higher key, or an equal key at a lower index).
std::vector<std::size_t> kept_by_definition(const Value& scores, std::size_t b, double ratio,
                                            bool standardize) {
  const std::size_t m = scores.shape[0];
  std::vector<double> key(m, 0.0);
  for (std::size_t t = 0; t < kSteps; ++t) {
    const float* s = scores.dense.data() + (t * kBatch + b) * m;
    const double mean = std::accumulate(s, s + m, 0.0) / static_cast<double>(m);
    double variance = 0.0;
    for (std::size_t n = 0; n < m; ++n)
      variance += (s[n] - mean) * (s[n] - mean);
    const double spread = std::sqrt(variance / static_cast<double>(m)) + 1e-6;
    for (std::size_t n = 0; n < m; ++n)
      key[n] += standardize ? (s[n] - mean) / spread : s[n];
  }
  const std::size_t k = static_cast<std::size_t>(std::ceil(ratio * static_cast<double>(m)));
  std::vector<std::size_t> kept;
  for (std::size_t n = 0; n < m; ++n) {
    std::size_t above = 0;
    for (std::size_t o = 0; o < m; ++o)
      above += key[o] > key[n] || (key[o] == key[n] && o < n);
    if (above < k) kept.push_back(n);
  }
  return kept;
}

TEST(TopTokensOp, KeepsTheTopCeilRMTokensInOrderWithTiesToTheLowerIndex) {
  std::mt19937 rng(11);
  for (const bool standardize : {true, false}) {
    for (const double ratio : {1.0, 0.9, 0.7, 0.5, 0.01}) {
      const Value scores = integer_scores(13, rng);
      TopTokens op({ratio, standardize});
      const Value kept = bind_and_forward(op, {&scores});
      const std::size_t k = static_cast<std::size_t>(std::ceil(ratio * 13));
      ASSERT_EQ(kept.shape, (Shape{k}));
      ASSERT_EQ(kept.steps, 1u);
      for (std::size_t b = 0; b < kBatch; ++b) {
        const std::vector<std::size_t> expected = kept_by_definition(scores, b, ratio, standardize);
        ASSERT_EQ(expected.size(), k);
        for (std::size_t i = 0; i < k; ++i)
          EXPECT_EQ(kept.dense[b * k + i], static_cast<float>(expected[i]))
              << "ratio " << ratio << " standardize " << standardize << " sample " << b;
      }
    }
  }
  EXPECT_THROW(TopTokens({0.0, true}), GraphError);
  EXPECT_THROW(TopTokens({1.5, true}), GraphError);
}

TEST(KeepTokensOp, GathersTheKeptRowsFusesThePrunedOnesAndKeepsTheAnchor) {
  std::mt19937 rng(13);
  const std::size_t rows = 8, width = 5, m = rows - 1;
  for (const InputKind kind : {InputKind::analog, InputKind::binary, InputKind::integer}) {
    for (const bool fuse : {false, true}) {
      const Value x = random_input({rows, width}, kind, kSteps, kBatch, 0.5, rng);
      const Value scores = integer_scores(m, rng);
      TopTokens top({0.5, true});
      const Value kept = bind_and_forward(top, {&scores});
      const std::size_t k = kept.shape[0];
      KeepTokens op(1, fuse);
      std::vector<const Value*> inputs{&x, &kept};
      if (fuse) inputs.push_back(&scores);
      const Value y = bind_and_forward(op, inputs);
      const std::size_t out_rows = k + (fuse ? 1 : 0) + 1;
      ASSERT_EQ(y.shape, (Shape{out_rows, width}));
      EXPECT_EQ(y.is_spikes(), x.is_spikes());
      const std::vector<float> in = x.densified(), out = y.densified();
      for (std::size_t f = 0; f < kFrames; ++f) {
        const std::size_t b = f % kBatch;
        const float* from = in.data() + f * rows * width;
        const float* to = out.data() + f * out_rows * width;
        std::vector<bool> pruned(m, true);
        for (std::size_t i = 0; i < k; ++i) {
          const std::size_t n = static_cast<std::size_t>(kept.dense[b * k + i]);
          pruned[n] = false;
          for (std::size_t c = 0; c < width; ++c)
            ASSERT_EQ(to[i * width + c], from[n * width + c]);
        }
        for (std::size_t c = 0; c < width; ++c)
          ASSERT_EQ(to[(out_rows - 1) * width + c], from[m * width + c]) << "the anchor";
        if (!fuse) continue;
        // Weights: each pruned token's scores summed over the timesteps.
        std::vector<double> w(m, 0.0);
        for (std::size_t t = 0; t < kSteps; ++t) {
          for (std::size_t n = 0; n < m; ++n)
            w[n] += pruned[n] ? scores.dense[(t * kBatch + b) * m + n] : 0.0;
        }
        if (std::accumulate(w.begin(), w.end(), 0.0) == 0.0) {
          for (std::size_t n = 0; n < m; ++n)
            w[n] = pruned[n] ? 1.0 : 0.0;
        }
        const double total = std::accumulate(w.begin(), w.end(), 0.0);
        for (std::size_t c = 0; c < width; ++c) {
          double mean = 0.0;
          for (std::size_t n = 0; n < m; ++n)
            mean += w[n] * from[n * width + c];
          mean /= total;
          const double expected = x.is_spikes() ? std::nearbyint(mean) : mean;
          ASSERT_NEAR(to[k * width + c], expected, 1e-6) << kind_name(kind) << " fused " << c;
        }
      }
    }
  }
}

TEST(KeepTokensOp, RefusesIndicesThatAreNotAscendingCandidates) {
  const Value x = Value::analog({4, 2}, kSteps, kBatch);
  for (const std::vector<float>& indices :
       std::vector<std::vector<float>>{{2, 1}, {0, 3}, {1, 1}, {0.5f, 2}}) {
    Value kept = Value::analog({2}, 1, kBatch);
    for (std::size_t b = 0; b < kBatch; ++b)
      std::copy(indices.begin(), indices.end(), kept.dense.begin() + b * 2);
    KeepTokens op(1, false);
    EXPECT_THROW(bind_and_forward(op, {&x, &kept}), GraphError) << indices[0] << indices[1];
  }
}

TEST(TopTokensOp, IsRefusedInAGraphRunStepByStep) {
  LayerGraph graph({4, 2}, kSteps);
  const std::size_t delay = graph.add_node("delay", std::make_unique<Delay>(Shape{4, 2}));
  const std::size_t scores = graph.add_node("scores", std::make_unique<AnchorScores>());
  graph.connect(0, scores, 0);
  graph.connect(delay, scores, 1);
  graph.connect(0, delay, 0);
  const std::size_t keep =
      graph.add_node("keep", std::make_unique<TopTokens>(TopTokensParameters{}));
  graph.connect(scores, keep, 0);
  graph.set_output(keep);
  try {
    graph.bind();
    FAIL() << "bound";
  } catch (const GraphError& error) {
    EXPECT_NE(std::string(error.what()).find("node keep (top_tokens) needs every timestep"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace snnsim
