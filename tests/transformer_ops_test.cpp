// Transformer operators against naive references: spiking attention (bit-packed AND + popcount),
// softmax attention (with a key mask), LayerNorm, GELU, ReLU, tanh, softmax, embeddings (of
// tokens and positions), token gather and scatter.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "sim/graph/ops/transformer.h"

namespace snnsim {
namespace {

/// Random binary spikes of shape [N, D] over `frames` frames (one timestep, `frames` samples).
Value random_spikes(std::size_t tokens, std::size_t features, std::size_t frames, double density,
                    std::mt19937& rng) {
  Value v;
  v.shape = {tokens, features};
  v.steps = 1;
  v.batch = frames;
  SpikeTrain s;
  s.steps = 1;
  s.batch = frames;
  s.features = tokens * features;
  std::bernoulli_distribution fires(density);
  for (std::size_t f = 0; f < frames; ++f) {
    for (std::size_t i = 0; i < tokens * features; ++i) {
      if (fires(rng)) s.add(static_cast<std::uint32_t>(i), 1);
    }
    s.close_frame();
  }
  v.spikes = std::move(s);
  return v;
}

Value random_analog(const Shape& shape, std::size_t frames, std::mt19937& rng) {
  Value v = Value::analog(shape, 1, frames);
  std::normal_distribution<float> normal;
  for (float& x : v.dense)
    x = normal(rng);
  return v;
}

/// Naive multi-head attention: per head, scores = Q K^T * scale, optionally softmaxed, times V.
std::vector<float> naive_attention(const std::vector<float>& q, const std::vector<float>& k,
                                   const std::vector<float>& v, std::size_t frames, std::size_t n,
                                   std::size_t d, std::size_t heads, double scale, bool softmax) {
  std::vector<float> y(frames * n * d, 0.0f);
  const std::size_t dh = d / heads;
  for (std::size_t f = 0; f < frames; ++f) {
    for (std::size_t h = 0; h < heads; ++h) {
      for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> score(n);
        for (std::size_t j = 0; j < n; ++j) {
          double sum = 0;
          for (std::size_t c = h * dh; c < (h + 1) * dh; ++c)
            sum += static_cast<double>(q[(f * n + i) * d + c]) * k[(f * n + j) * d + c];
          score[j] = sum * scale;
        }
        if (softmax) {
          const double top = *std::max_element(score.begin(), score.end());
          double total = 0;
          for (double& s : score)
            total += s = std::exp(s - top);
          for (double& s : score)
            s /= total;
        }
        for (std::size_t c = h * dh; c < (h + 1) * dh; ++c) {
          double sum = 0;
          for (std::size_t j = 0; j < n; ++j)
            sum += score[j] * v[(f * n + j) * d + c];
          y[(f * n + i) * d + c] = static_cast<float>(sum);
        }
      }
    }
  }
  return y;
}

Value run(LayerOp& op, std::vector<const Value*> inputs, OpCounts& counts) {
  return op.forward(inputs, counts);
}

TEST(SpikeAttentionOp, MatchesTheNaiveIntegerAttentionAcrossWordBoundaries) {
  std::mt19937 rng(1);
  // Head sizes below, at and above 64 bits, and several heads.
  for (const auto& [n, d, heads] :
       {std::tuple{5u, 12u, 3u}, std::tuple{7u, 64u, 1u}, std::tuple{4u, 260u, 2u}}) {
    for (const double density : {0.0, 0.3, 1.0}) {
      const Value q = random_spikes(n, d, 3, density, rng),
                  k = random_spikes(n, d, 3, density, rng),
                  v = random_spikes(n, d, 3, density, rng);
      Attention op(AttentionKind::spiking, heads, 0.125);
      ASSERT_EQ(op.bind(std::vector<Shape>{{n, d}, {n, d}, {n, d}}), (Shape{n, d}));
      OpCounts counts;
      const Value y = run(op, {&q, &k, &v}, counts);
      const std::vector<float> expected = naive_attention(
          q.densified(), k.densified(), v.densified(), 3, n, d, heads, 0.125, false);
      // Integer counts times 1/8: exact in float.
      EXPECT_EQ(y.dense, expected) << n << "x" << d << " heads " << heads;
    }
  }
}

TEST(AttentionOp, SoftmaxAttentionMatchesTheNaiveOne) {
  std::mt19937 rng(2);
  const std::size_t n = 6, d = 8, heads = 2;
  const Value q = random_analog({n, d}, 2, rng), k = random_analog({n, d}, 2, rng),
              v = random_analog({n, d}, 2, rng);
  Attention op(AttentionKind::softmax, heads, 0.0);
  op.bind(std::vector<Shape>{{n, d}, {n, d}, {n, d}});
  OpCounts counts;
  const Value y = run(op, {&q, &k, &v}, counts);
  const std::vector<float> expected =
      naive_attention(q.dense, k.dense, v.dense, 2, n, d, heads, 1.0 / std::sqrt(4.0), true);
  for (std::size_t i = 0; i < y.dense.size(); ++i)
    EXPECT_NEAR(y.dense[i], expected[i], 1e-5f);
  EXPECT_EQ(counts.macs, 2u * 2 * n * n * d);
}

TEST(AttentionOp, AKeyMaskLeavesPaddingOutAsIfTheSequenceWereShorter) {
  // Two samples of 6 tokens, the second padded after 4: its first 4 tokens must attend as the
  // 4 tokens alone would, and padding must take no weight in either.
  std::mt19937 rng(5);
  const std::size_t n = 6, d = 8, heads = 2, tokens = 4;
  const Value q = random_analog({n, d}, 2, rng), k = random_analog({n, d}, 2, rng),
              v = random_analog({n, d}, 2, rng);
  Value mask = Value::analog({n}, 1, 2);
  mask.dense = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  Attention op(AttentionKind::softmax, heads, 0.0, true);
  EXPECT_EQ(op.arity(), 4u);
  op.bind(std::vector<Shape>{{n, d}, {n, d}, {n, d}, {n}});
  OpCounts counts;
  const Value y = run(op, {&q, &k, &v, &mask}, counts);
  const std::vector<float> full =
      naive_attention(q.dense, k.dense, v.dense, 1, n, d, heads, 0.5, true);
  const auto second = [&](const std::vector<float>& x) {
    return std::vector<float>(x.begin() + n * d, x.begin() + (n + tokens) * d);
  };
  const std::vector<float> short_one = naive_attention(
      second(q.dense), second(k.dense), second(v.dense), 1, tokens, d, heads, 0.5, true);
  for (std::size_t i = 0; i < n * d; ++i)
    EXPECT_NEAR(y.dense[i], full[i], 1e-5f) << "unpadded sample, element " << i;
  for (std::size_t i = 0; i < tokens * d; ++i)
    EXPECT_NEAR(y.dense[n * d + i], short_one[i], 1e-5f) << "padded sample, element " << i;
  EXPECT_THROW(op.bind(std::vector<Shape>{{n, d}, {n, d}, {n, d}, {n + 1}}), GraphError);
}

TEST(NormalizationAndActivations, MatchTheirDefinitions) {
  std::mt19937 rng(3);
  const Value x = random_analog({3, 5}, 2, rng);
  OpCounts counts;
  LayerNorm norm(1e-5);
  norm.bind(std::vector<Shape>{{3, 5}});
  norm.set_weight("weight", {1.0f, 2.0f, 0.5f, -1.0f, 3.0f});
  norm.set_weight("bias", {0.0f, 0.1f, 0.2f, 0.3f, 0.4f});
  const Value normalized = run(norm, {&x}, counts);
  for (std::size_t row = 0; row < 6; ++row) {
    double mean = 0, variance = 0;
    for (std::size_t i = 0; i < 5; ++i)
      mean += x.dense[row * 5 + i] / 5.0;
    for (std::size_t i = 0; i < 5; ++i)
      variance += std::pow(x.dense[row * 5 + i] - mean, 2) / 5.0;
    const float w[] = {1.0f, 2.0f, 0.5f, -1.0f, 3.0f}, b[] = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f};
    for (std::size_t i = 0; i < 5; ++i) {
      EXPECT_NEAR(normalized.dense[row * 5 + i],
                  (x.dense[row * 5 + i] - mean) / std::sqrt(variance + 1e-5) * w[i] + b[i], 1e-5);
    }
  }
  ActivationOp gelu(Activation::gelu), softmax(Activation::softmax);
  gelu.bind(std::vector<Shape>{{3, 5}});
  softmax.bind(std::vector<Shape>{{3, 5}});
  const Value g = run(gelu, {&x}, counts), s = run(softmax, {&x}, counts);
  for (std::size_t i = 0; i < x.dense.size(); ++i) {
    const double v = x.dense[i];
    EXPECT_NEAR(g.dense[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-6);
  }
  ActivationOp relu(Activation::relu), tanh(Activation::tanh);
  relu.bind(std::vector<Shape>{{3, 5}});
  tanh.bind(std::vector<Shape>{{3, 5}});
  const Value r = run(relu, {&x}, counts), th = run(tanh, {&x}, counts);
  for (std::size_t i = 0; i < x.dense.size(); ++i) {
    EXPECT_EQ(r.dense[i], x.dense[i] > 0 ? x.dense[i] : 0.0f);
    EXPECT_NEAR(th.dense[i], std::tanh(static_cast<double>(x.dense[i])), 1e-7);
  }
  for (std::size_t row = 0; row < 6; ++row) {
    double total = 0;
    for (std::size_t i = 0; i < 5; ++i)
      total += std::exp(x.dense[row * 5 + i]);
    for (std::size_t i = 0; i < 5; ++i)
      EXPECT_NEAR(s.dense[row * 5 + i], std::exp(x.dense[row * 5 + i]) / total, 1e-6);
  }
}

TEST(ActivationOp, GeluAndSoftmaxFollowTheExactFunctionsOverTheirWholeRange) {
  // GELU's erf and softmax's exp are polynomials (transformer.cpp): against the exact functions
  // in double, over [-10, 10] in steps of 1/1024, and for scores from 0 down to -100 (exp
  // underflows below -87) with a masked one.
  OpCounts counts;
  constexpr std::size_t kPoints = 20481;
  Value x = Value::analog({1, kPoints}, 1, 1);
  for (std::size_t i = 0; i < kPoints; ++i)
    x.dense[i] = -10.0f + static_cast<float>(i) / 1024.0f;
  ActivationOp gelu(Activation::gelu);
  gelu.bind(std::vector<Shape>{{1, kPoints}});
  const Value g = run(gelu, {&x}, counts);
  for (std::size_t i = 0; i < kPoints; ++i) {
    const double v = x.dense[i];
    ASSERT_NEAR(g.dense[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))),
                5e-7 + 1.2e-7 * std::abs(v))
        << "x = " << v;
  }
  constexpr std::size_t kScores = 101;
  Value scores = Value::analog({1, kScores}, 1, 1);
  for (std::size_t i = 0; i < kScores; ++i)
    scores.dense[i] = -static_cast<float>(i) * 0.99f;
  scores.dense[7] = -std::numeric_limits<float>::infinity();
  ActivationOp softmax(Activation::softmax);
  softmax.bind(std::vector<Shape>{{1, kScores}});
  const Value p = run(softmax, {&scores}, counts);
  double total = 0;
  for (const float score : scores.dense)
    total += std::exp(static_cast<double>(score));
  for (std::size_t i = 0; i < kScores; ++i) {
    const double exact = std::exp(static_cast<double>(scores.dense[i])) / total;
    ASSERT_NEAR(p.dense[i], exact, 4e-7 * exact + 1e-37) << "score " << scores.dense[i];
  }
  EXPECT_EQ(p.dense[7], 0.0f);
}

TEST(EmbeddingAndTokens, LookUpGatherAndScatterRows) {
  Embedding embedding(4, 2);
  EXPECT_EQ(embedding.bind(std::vector<Shape>{{3}}), (Shape{3, 2}));
  embedding.set_weight("weight", {0, 1, 10, 11, 20, 21, 30, 31});
  Value ids = Value::analog({3}, 1, 1);
  ids.dense = {2, 0, 3};
  OpCounts counts;
  const Value rows = run(embedding, {&ids}, counts);
  EXPECT_EQ(rows.dense, (std::vector<float>{20, 21, 0, 1, 30, 31}));
  ids.dense = {2, 4, 0};
  EXPECT_THROW(run(embedding, {&ids}, counts), GraphError);

  // Positions: row n of the table added to token n; more tokens than positions refused.
  PositionEmbedding positions(4, 2);
  EXPECT_EQ(positions.bind(std::vector<Shape>{{3, 2}}), (Shape{3, 2}));
  positions.set_weight("weight", {0.5f, -1, 2, 3, 4, 5, 6, 7});
  const Value placed_rows = run(positions, {&rows}, counts);
  EXPECT_EQ(placed_rows.dense, (std::vector<float>{20.5f, 20, 2, 4, 34, 36}));
  EXPECT_THROW(positions.bind(std::vector<Shape>{{5, 2}}), GraphError);

  std::mt19937 rng(4);
  const Value tokens = random_spikes(5, 3, 2, 0.5, rng);
  TokenSelect gather({4, 1, 1}, 0);
  EXPECT_EQ(gather.bind(std::vector<Shape>{{5, 3}}), (Shape{3, 3}));
  const Value kept = run(gather, {&tokens}, counts);
  ASSERT_TRUE(kept.is_spikes());
  const std::vector<float> in = tokens.densified(), out = kept.densified();
  for (std::size_t f = 0; f < 2; ++f) {
    for (std::size_t c = 0; c < 3; ++c) {
      EXPECT_EQ(out[(f * 3 + 0) * 3 + c], in[(f * 5 + 4) * 3 + c]);
      EXPECT_EQ(out[(f * 3 + 2) * 3 + c], in[(f * 5 + 1) * 3 + c]);
    }
  }
  TokenSelect scatter({4, 0}, 5);
  EXPECT_EQ(scatter.bind(std::vector<Shape>{{2, 3}}), (Shape{5, 3}));
  const Value two = random_analog({2, 3}, 1, rng);
  const Value placed = run(scatter, {&two}, counts);
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(placed.dense[4 * 3 + c], two.dense[c]);
    EXPECT_EQ(placed.dense[0 * 3 + c], two.dense[3 + c]);
    EXPECT_EQ(placed.dense[2 * 3 + c], 0.0f);
  }
  EXPECT_THROW(TokenSelect({7}, 0).bind(std::vector<Shape>{{5, 3}}), GraphError);
}

}  // namespace
}  // namespace snnsim
