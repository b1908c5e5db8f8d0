#pragma once
// Transformer operators over token sequences [N, D] (N tokens of D features):
//
// - Attention, spiking kind: Spikformer's spiking self-attention between binary spike
//   matrices, Y = (Q K^T) V * scale per head, no softmax. Q K^T is computed on bit-packed rows,
//   one AND and one popcount per 64 features, so an attention score costs D/64 word operations;
//   the product with V is event-driven over V's spikes.
// - Attention, softmax kind: softmax attention in float (SpikeLM's real-valued Q against
//   ternary K and V), softmax(Q K^T * scale) V per head, through OpenBLAS; with a key mask as
//   fourth input, padding tokens are not attended to (BERT's additive attention mask).
// - LayerNorm over the last dimension; GELU (erf form), ReLU, tanh, softmax over the last
//   dimension.
// - Embedding lookup (token ids -> rows of a table), position embeddings, and token
//   gather/scatter by index.
#include "sim/graph/layer_op.h"

namespace snnsim {

enum class AttentionKind {
  spiking,  ///< (Q K^T) V * scale, no softmax: binary spikes by AND + popcount (else in float)
  softmax,  ///< softmax(Q K^T * scale) V in float
};

/// Multi-head attention over inputs Q, K, V [N, D]; output analog [N, D]. For softmax
/// attention, `scale` 0 means 1 / sqrt(D / heads). `masked`: a fourth input [N] says which keys
/// are tokens (nonzero) and which padding (0), never attended to: the softmax is over the tokens
/// alone, as BERT's additive mask of the float minimum gives it.
class Attention final : public LayerOp {
 public:
  Attention(AttentionKind kind, std::size_t heads, double scale, bool masked = false)
      : kind_(kind), heads_(heads), scale_(scale), masked_(masked) {}
  std::string_view kind() const override {
    return kind_ == AttentionKind::spiking ? "spike_attention" : "attention";
  }
  std::size_t arity() const override { return masked_ ? 4 : 3; }
  bool has_event_path() const override { return kind_ == AttentionKind::spiking; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  Value forward_spikes(std::span<const Value* const> inputs, OpCounts& counts) const;

  AttentionKind kind_;
  std::size_t heads_;
  double scale_;
  bool masked_;
  Shape shape_;
};

/// (x - mean) / sqrt(var + eps) * weight + bias over the last dimension. Weights "weight",
/// "bias" [D].
class LayerNorm final : public LayerOp {
 public:
  explicit LayerNorm(double eps) : eps_(eps) {}
  std::string_view kind() const override { return "layernorm"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  double eps_;
  Shape shape_;
  std::vector<float> weight_, bias_;
};

enum class Activation { gelu, relu, tanh, softmax };

/// GELU, x * Phi(x) with the exact erf (PyTorch's default), ReLU, tanh, or softmax over the last
/// dimension.
class ActivationOp final : public LayerOp {
 public:
  explicit ActivationOp(Activation activation) : activation_(activation) {}
  std::string_view kind() const override;
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  Activation activation_;
  Shape shape_;
};

/// Token ids [L] (whole numbers) -> rows of the table "weight" [vocabulary, D]: [L, D].
class Embedding final : public LayerOp {
 public:
  Embedding(std::size_t vocabulary, std::size_t dimension)
      : vocabulary_(vocabulary), dimension_(dimension) {}
  std::string_view kind() const override { return "embedding"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override {
    return {{"weight", {vocabulary_, dimension_}}};
  }
  void set_weight(const std::string&, std::vector<float> values) override {
    table_ = std::move(values);
  }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  std::size_t vocabulary_, dimension_;
  std::vector<float> table_;
};

/// x + the first N rows of the table "weight" [positions, D], for tokens x [N, D] (BERT's
/// absolute position embeddings). More tokens than positions are refused when binding.
class PositionEmbedding final : public LayerOp {
 public:
  PositionEmbedding(std::size_t positions, std::size_t dimension)
      : positions_(positions), dimension_(dimension) {}
  std::string_view kind() const override { return "position_embedding"; }
  Shape bind(std::span<const Shape> inputs) override;
  std::vector<WeightSpec> weight_specs() const override {
    return {{"weight", {positions_, dimension_}}};
  }
  void set_weight(const std::string&, std::vector<float> values) override {
    table_ = std::move(values);
  }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  std::size_t positions_, dimension_;
  Shape shape_;
  std::vector<float> table_;
};

/// Gather: [N, D] -> [K, D], the tokens at `indices`, in that order. Scatter (`tokens` = N):
/// [K, D] -> [N, D], row k to row indices[k], zeros elsewhere. Spikes stay spikes.
class TokenSelect final : public LayerOp {
 public:
  TokenSelect(std::vector<std::size_t> indices, std::size_t scatter_tokens)
      : indices_(std::move(indices)), scatter_tokens_(scatter_tokens) {}
  std::string_view kind() const override {
    return scatter_tokens_ ? "token_scatter" : "token_gather";
  }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  /// The tokens kept (gather) or the rows they return to (scatter).
  const std::vector<std::size_t>& indices() const { return indices_; }

 private:
  std::vector<std::size_t> indices_;
  std::size_t scatter_tokens_;  ///< 0: gather
  Shape input_, output_;
};

}  // namespace snnsim
