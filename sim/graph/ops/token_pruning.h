#pragma once
// Token sparsification: operators with which a transformer drops tokens while it runs, as STATA
// (Zhuge et al., ICML 2024: timestep-wise anchor tokens, standardized criteria) and EViT (Liang
// et al., ICLR 2022: [CLS]-attention pruning, pruned tokens fused into one) do. Each is one
// general step; docs/models/spikformer.md shows how a Spikformer composes them.
//
// - AppendTokens: a learned row appended to [N, D] tokens, per timestep or shared by all.
// - AnchorScores: the attention row of the last token (the anchor) over the others, q_last . k_n,
//   from spikes by lookups: each spike of K adds the anchor's Q value at its channel.
// - TopTokens: the ceil(r M) tokens of highest score summed over the timesteps (each timestep's
//   scores first standardized over the tokens, for STATA), in their original order. One kept set
//   for every timestep, so that a kept token's membrane states simply continue.
// - KeepTokens: the kept rows of x at every timestep, the trailing rows (the anchor) after them,
//   and optionally the pruned rows fused into one, their score-weighted mean.
#include <cmath>

#include "sim/graph/layer_op.h"

namespace snnsim {

/// [N, D] -> [N + 1, D]: the row "tokens"[t] appended at timestep t (the tensor [T, D]), or
/// "tokens"[0] at every timestep ([1, D]). Appended to spikes, the row must hold integer levels
/// (a binary anchor token), and the result is spikes.
class AppendTokens final : public LayerOp {
 public:
  /// `rows`: the rows of the tensor, 1 or the graph's timesteps.
  explicit AppendTokens(std::size_t rows) : rows_(rows) {}
  std::string_view kind() const override { return "append_tokens"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  Value forward_step(std::span<const Value* const> inputs, OpCounts& counts,
                     StepContext& context) const override;

 private:
  /// The input's frames, which start at timestep `first_step`, with their rows appended.
  Value append(const Value& x, std::size_t first_step) const;

  std::size_t rows_;
  Shape input_;
  std::vector<float> tokens_;
  bool integral_ = false;  ///< every value of tokens_ is an integer level (-127 .. 127)
  bool unit_ = false;      ///< every value is 0 or 1
};

/// (Q [R, D], K [R, D]) -> [R - 1]: score[n] = sum over channels of Q[R - 1, c] K[n, c]. Fed by
/// spikes, each event of K adds where the anchor's Q is nonzero (an AC); fed by analog values,
/// dot products (MACs).
class AnchorScores final : public LayerOp {
 public:
  std::string_view kind() const override { return "anchor_scores"; }
  std::size_t arity() const override { return 2; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  std::size_t rows_ = 0, width_ = 0;
};

struct TopTokensParameters {
  double keep_ratio = 1.0;  ///< in (0, 1]: ceil(keep_ratio x M) tokens are kept
  /// Standardize each timestep's scores over the tokens before summing them (STATA); off: the
  /// raw scores are summed (EViT).
  bool standardize = true;
};

/// Scores [M] at every timestep -> the indices of the kept tokens [K], K = ceil(r M), ascending,
/// one value for all timesteps. Key of token n: the sum over timesteps of its score, or of
/// (score - mean) / (std + 1e-6) over the timestep's M scores (population std), in float64. The K
/// largest keys are kept; of equal keys the lower index first.
class TopTokens final : public LayerOp {
 public:
  explicit TopTokens(TopTokensParameters p);
  std::string_view kind() const override { return "top_tokens"; }
  Shape bind(std::span<const Shape> inputs) override;
  bool needs_all_steps() const override { return true; }
  bool collapses_time() const override { return true; }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  const TopTokensParameters& parameters() const { return p_; }
  /// K = ceil(keep_ratio x candidates), the tokens kept of `candidates`.
  static std::size_t kept_of(double keep_ratio, std::size_t candidates) {
    return static_cast<std::size_t>(std::ceil(keep_ratio * static_cast<double>(candidates)));
  }

 private:
  TopTokensParameters p_;
  std::size_t candidates_ = 0, kept_ = 0;
};

/// (x [R, D], kept [K] (one value for all timesteps)[, scores [M] when fusing]) ->
/// [K + fused + trailing, D]: x's rows `kept` (indices below M = R - trailing), then with
/// `fuse` (and K < M) one row fusing the M - K others, then x's `trailing` last rows (an anchor).
/// The fused row is the mean of the pruned rows weighted by their scores summed over the
/// timesteps (equal weights when those are all zero), rounded to integer levels for spikes.
class KeepTokens final : public LayerOp {
 public:
  KeepTokens(std::size_t trailing, bool fuse) : trailing_(trailing), fuse_(fuse) {}
  std::string_view kind() const override { return "keep_tokens"; }
  std::size_t arity() const override { return fuse_ ? 3 : 2; }
  Shape bind(std::span<const Shape> inputs) override;
  bool needs_all_steps() const override { return fuse_; }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  /// Per candidate row, its row in the output (-1: pruned), for the kept set of sample b.
  std::vector<long> row_map(const Value& kept, std::size_t b) const;
  /// Per pruned candidate of sample b, its fusing weight (zero for kept rows).
  std::vector<double> fusing_weights(const Value& scores, const std::vector<long>& map,
                                     std::size_t b) const;

  std::size_t trailing_;
  bool fuse_;
  std::size_t rows_ = 0, width_ = 0, candidates_ = 0, kept_ = 0;
  bool fused_row_ = false;  ///< fuse_ and some row is pruned
};

}  // namespace snnsim
