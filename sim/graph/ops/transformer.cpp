#include "sim/graph/ops/transformer.h"

#include <cblas.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "sim/graph/ops/pooling.h"
#include "sim/vector_clones.h"

namespace snnsim {
namespace {

void require_tokens(const Shape& shape) {
  if (shape.size() != 2) {
    throw GraphError("expected tokens [N, D]; found " + shape_string(shape));
  }
}

Shape bind_qkv(std::span<const Shape> inputs, std::size_t heads) {
  require_tokens(inputs[0]);
  if (inputs[1] != inputs[0] || inputs[2] != inputs[0]) {
    throw GraphError("expected Q, K and V of one shape; found " + shape_string(inputs[0]) + ", " +
                     shape_string(inputs[1]) + " and " + shape_string(inputs[2]));
  }
  if (heads == 0 || inputs[0][1] % heads) {
    throw GraphError("the feature dimension " + std::to_string(inputs[0][1]) +
                     " is not a multiple of heads = " + std::to_string(heads));
  }
  return inputs[0];
}

/// to[i] += from[i] for n values.
SNNSIM_VECTOR_CLONES void add_column(const float* __restrict from, float* __restrict to,
                                     std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    to[i] += from[i];
}

/// A same-shaped value with `dense` as its data: spikes again when `like` was spiking.
Value like_input(const Value& like, Shape shape, std::vector<float> dense) {
  Value y = Value::analog(std::move(shape), like.steps, like.batch);
  y.dense = std::move(dense);
  if (like.is_spikes()) {
    y.spikes = spikes_from_dense(*like.spikes, y.dense, y.features());
    y.dense.clear();
  }
  return y;
}

/// column[i] = the set bits of q_i AND k, for `rows` rows q_i of `words` words, `stride` words
/// apart from q.
SNNSIM_VECTOR_CLONES void and_popcounts(const std::uint64_t* q, std::size_t stride,
                                        const std::uint64_t* k, std::size_t words, std::size_t rows,
                                        float* column) {
  for (std::size_t i = 0; i < rows; ++i) {
    int common = 0;
    for (std::size_t w = 0; w < words; ++w)
      common += std::popcount(q[i * stride + w] & k[w]);
    column[i] = static_cast<float>(common);
  }
}

/// exp(x) for x <= 88 as a polynomial, which vectorizes (std::exp is a library call): Cephes'
/// expf, within 2 ulp of std::exp; 0 below -87 (a masked score, -infinity, gives 0 exactly), NaN
/// for NaN. x = n ln 2 + r with |r| <= ln 2 / 2, n rounded by adding and subtracting 1.5 * 2^23.
inline float exp_polynomial(float x) {
  const float clamped = x > -87.0f ? (x < 88.0f ? x : 88.0f) : -87.0f;
  constexpr float kRound = 12582912.0f;
  const float n = (clamped * 1.44269504088896341f + kRound) - kRound;
  const float r = (clamped - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float two_to_n = std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
  return x >= -87.0f ? p * two_to_n : x < -87.0f ? 0.0f : x;
}

/// erf(x) as a rational polynomial (Abramowitz and Stegun 7.1.26, |error| <= 1.5e-7), which
/// vectorizes. GELU with it is within 4.7e-7 of the exact GELU over [-6, 6], PyTorch's CPU GELU
/// within 1.2e-6 (float32 rounding of x/2 at |x| near 6).
inline float erf_polynomial(float x) {
  const float a = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float r = (((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t +
                  0.254829592f;
  return std::copysign(1.0f - r * t * exp_polynomial(-a * a), x);
}

/// out = x Φ(x) = x (1 + erf(x / √2)) / 2 for n values.
SNNSIM_VECTOR_CLONES void gelu(const float* __restrict in, float* __restrict out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = 0.5f * in[i] * (1.0f + erf_polynomial(in[i] * 0.70710678118654752f));
}

/// exp(x - max) / sum over `n` values (the max keeps exp from overflowing). The exponentials are
/// taken first (a loop that vectorizes), then summed in order.
SNNSIM_VECTOR_CLONES void softmax_in_place(float* __restrict values, std::size_t n) {
  const float top = *std::max_element(values, values + n);
  for (std::size_t i = 0; i < n; ++i)
    values[i] = exp_polynomial(values[i] - top);
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i)
    sum += values[i];
  for (std::size_t i = 0; i < n; ++i)
    values[i] /= sum;
}

/// softmax_in_place over the values whose `mask` is nonzero (all without a mask), the others
/// 0. With every value masked, uniform: what adding the float minimum to each gives in float.
void masked_softmax(float* values, std::size_t n, const float* mask) {
  const std::size_t kept =
      mask ? n - static_cast<std::size_t>(std::count(mask, mask + n, 0.0f)) : n;
  if (kept == 0) {
    std::fill(values, values + n, 1.0f / static_cast<float>(n));
    return;
  }
  for (std::size_t j = 0; kept < n && j < n; ++j) {
    if (mask[j] == 0.0f) values[j] = -std::numeric_limits<float>::infinity();
  }
  softmax_in_place(values, n);
}

/// Multi-head (Q K^T * scale) V in float through OpenBLAS, with a softmax over each score row
/// when `softmax`, over the keys whose mask (a fourth input) is nonzero.
Value dense_attention(std::span<const Value* const> inputs, const Shape& shape, std::size_t heads,
                      double scale, bool softmax, OpCounts& counts) {
  const Value::DenseView q = inputs[0]->dense_view(), k = inputs[1]->dense_view(),
                         v = inputs[2]->dense_view();
  const Value::DenseView mask = inputs.size() > 3 ? inputs[3]->dense_view() : Value::DenseView{};
  const std::size_t tokens = shape[0], features = shape[1], head_size = features / heads;
  Value y = Value::analog(shape, inputs[0]->steps, inputs[0]->batch);
  const int n = static_cast<int>(tokens), d = static_cast<int>(head_size),
            stride = static_cast<int>(features);
#pragma omp parallel
  {
    std::vector<float> scores(tokens * tokens);
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < inputs[0]->frames(); ++f) {
      const std::size_t frame = f * tokens * features;
      for (std::size_t h = 0; h < heads; ++h) {
        const std::size_t column = h * head_size;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, static_cast<float>(scale),
                    q.data() + frame + column, stride, k.data() + frame + column, stride, 0.0f,
                    scores.data(), n);
        for (std::size_t i = 0; softmax && i < tokens; ++i)
          masked_softmax(scores.data() + i * tokens, tokens,
                         mask.size() ? mask.data() + f * tokens : nullptr);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, scores.data(), n,
                    v.data() + frame + column, stride, 0.0f, y.dense.data() + frame + column,
                    stride);
      }
    }
  }
  counts.macs += inputs[0]->frames() * 2 * tokens * tokens * features;
  return y;
}

}  // namespace

Shape Attention::bind(std::span<const Shape> inputs) {
  shape_ = bind_qkv(inputs, heads_);
  if (masked_ && inputs[3] != Shape{shape_[0]}) {
    throw GraphError("expected a key mask [" + std::to_string(shape_[0]) +
                     "], one per token; found " + shape_string(inputs[3]));
  }
  return shape_;
}

Value Attention::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  if (kind_ == AttentionKind::softmax) {
    const std::size_t head_size = shape_[1] / heads_;
    return dense_attention(inputs, shape_, heads_, scale_ > 0 ? scale_ : 1.0 / std::sqrt(head_size),
                           true, counts);
  }
  return forward_spikes(inputs, counts);
}

Value Attention::forward_spikes(std::span<const Value* const> inputs, OpCounts& counts) const {
  for (const Value* input : inputs) {
    // Analog inputs (the --dense comparison, or values that are not binary spikes): the same
    // products in float.
    if (!input->is_spikes() || input->spikes->kind != SpikeKind::binary) {
      return dense_attention(inputs, shape_, heads_, scale_, false, counts);
    }
  }
  const SpikeTrain &q = *inputs[0]->spikes, &k = *inputs[1]->spikes, &v = *inputs[2]->spikes;
  const std::size_t tokens = shape_[0], features = shape_[1], head_size = features / heads_;
  const std::size_t words = (head_size + 63) / 64;  // per (token, head)
  Value y = Value::analog(shape_, inputs[0]->steps, inputs[0]->batch);
  const auto scale = static_cast<float>(scale_);
  std::uint64_t acs = 0;
#pragma omp parallel reduction(+ : acs)
  {
    std::vector<std::uint64_t> q_bits(tokens * heads_ * words), k_bits(q_bits.size());
    // Transposed, so that a spike of V adds a contiguous column of scores to a contiguous
    // column of the output: scores_t[h][j][i] = score(i, j), out_t[c][i] = Y[i, c] / scale.
    std::vector<float> scores_t(heads_ * tokens * tokens), out_t(features * tokens);
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < q.frames(); ++f) {
      // Bit-pack Q and K: row (token, head) holds the head's features of the token.
      const auto pack = [&](const SpikeTrain& s, std::vector<std::uint64_t>& bits) {
        std::fill(bits.begin(), bits.end(), 0);
        for (const std::uint32_t index : s.frame_indices(f)) {
          const std::size_t token = index / features, c = index % features;
          const std::size_t head = c / head_size, bit = c % head_size;
          bits[(token * heads_ + head) * words + bit / 64] |= std::uint64_t{1} << (bit % 64);
        }
      };
      pack(q, q_bits);
      pack(k, k_bits);
      for (std::size_t h = 0; h < heads_; ++h) {
        for (std::size_t j = 0; j < tokens; ++j) {
          const std::uint64_t* kj = k_bits.data() + (j * heads_ + h) * words;
          float* column = scores_t.data() + (h * tokens + j) * tokens;
          and_popcounts(q_bits.data() + h * words, heads_ * words, kj, words, tokens, column);
        }
      }
      // Y[i, c] = scale * sum over V's spikes (j, c) of score(i, j), for the head of c.
      std::fill(out_t.begin(), out_t.end(), 0.0f);
      for (const std::uint32_t index : v.frame_indices(f)) {
        const std::size_t j = index / features, c = index % features;
        add_column(scores_t.data() + (c / head_size * tokens + j) * tokens,
                   out_t.data() + c * tokens, tokens);
      }
      float* out = y.dense.data() + f * tokens * features;
      for (std::size_t i = 0; i < tokens; ++i) {
        for (std::size_t c = 0; c < features; ++c)
          out[i * features + c] = out_t[c * tokens + i] * scale;
      }
      acs += (q.frame_indices(f).size() + v.frame_indices(f).size()) * tokens;
    }
  }
  counts.acs += acs;
  return y;
}

Shape LayerNorm::bind(std::span<const Shape> inputs) {
  shape_ = inputs[0];
  if (shape_.empty()) throw GraphError("expected an input with a feature dimension");
  return shape_;
}

std::vector<WeightSpec> LayerNorm::weight_specs() const {
  return {{"weight", {shape_.back()}}, {"bias", {shape_.back()}}};
}

void LayerNorm::set_weight(const std::string& name, std::vector<float> values) {
  (name == "weight" ? weight_ : bias_) = std::move(values);
}

Value LayerNorm::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& x = *inputs[0];
  Value y = Value::analog(shape_, x.steps, x.batch);
  y.dense = x.densified();
  const std::size_t d = shape_.back();
#pragma omp parallel for schedule(static)
  for (std::size_t row = 0; row < y.dense.size() / d; ++row) {
    float* values = y.dense.data() + row * d;
    double mean = 0.0, variance = 0.0;
    for (std::size_t i = 0; i < d; ++i)
      mean += values[i];
    mean /= static_cast<double>(d);
    for (std::size_t i = 0; i < d; ++i)
      variance += (values[i] - mean) * (values[i] - mean);
    const double inverse = 1.0 / std::sqrt(variance / static_cast<double>(d) + eps_);
    for (std::size_t i = 0; i < d; ++i)
      values[i] = static_cast<float>((values[i] - mean) * inverse) * weight_[i] + bias_[i];
  }
  counts.macs += y.dense.size();
  return y;
}

Shape ActivationOp::bind(std::span<const Shape> inputs) {
  shape_ = inputs[0];
  if (shape_.empty()) throw GraphError("expected an input with a feature dimension");
  return shape_;
}

std::string_view ActivationOp::kind() const {
  switch (activation_) {
    case Activation::gelu:
      return "gelu";
    case Activation::relu:
      return "relu";
    case Activation::tanh:
      return "tanh";
    case Activation::softmax:
      return "softmax";
  }
  return "";
}

Value ActivationOp::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  Value y = Value::analog(shape_, x.steps, x.batch);
  const std::size_t n = y.dense.size(), d = shape_.back();
  // From the input into the output (no copy first); row-wise ones in chunks of rows, each
  // vectorized.
  const Value::DenseView in = x.dense_view();
  const float* from = in.data();
  float* to = y.dense.data();
  switch (activation_) {
    case Activation::gelu:
#pragma omp parallel for schedule(static)
      for (std::size_t row = 0; row < n / d; ++row)
        gelu(from + row * d, to + row * d, d);
      break;
    case Activation::relu:
      for (std::size_t i = 0; i < n; ++i)
        to[i] = std::max(from[i], 0.0f);
      break;
    case Activation::tanh:
#pragma omp parallel for schedule(static)
      for (std::size_t i = 0; i < n; ++i)
        to[i] = std::tanh(from[i]);
      break;
    case Activation::softmax:
#pragma omp parallel for schedule(static)
      for (std::size_t row = 0; row < n / d; ++row) {
        std::copy_n(from + row * d, d, to + row * d);
        softmax_in_place(to + row * d, d);
      }
      break;
  }
  return y;
}

Shape Embedding::bind(std::span<const Shape> inputs) {
  if (inputs[0].size() != 1) {
    throw GraphError("expected token ids [L]; found " + shape_string(inputs[0]));
  }
  return {inputs[0][0], dimension_};
}

Value Embedding::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  const Value::DenseView ids = x.dense_view();
  const std::size_t length = x.shape[0];
  Value y = Value::analog({length, dimension_}, x.steps, x.batch);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const float id = ids[k];
    if (id < 0 || id >= static_cast<float>(vocabulary_) || id != std::floor(id)) {
      throw GraphError("token id " + std::to_string(id) + " at position " +
                       std::to_string(k % length) +
                       " is not a whole number below the "
                       "vocabulary size " +
                       std::to_string(vocabulary_));
    }
    std::copy_n(table_.begin() + static_cast<std::size_t>(id) * dimension_, dimension_,
                y.dense.begin() + k * dimension_);
  }
  return y;
}

Shape PositionEmbedding::bind(std::span<const Shape> inputs) {
  shape_ = inputs[0];
  if (shape_.size() != 2 || shape_[1] != dimension_) {
    throw GraphError("expected tokens [N, " + std::to_string(dimension_) + "]; found " +
                     shape_string(shape_));
  }
  if (shape_[0] > positions_) {
    throw GraphError("a sequence of " + std::to_string(shape_[0]) +
                     " tokens is longer than the model's " + std::to_string(positions_) +
                     " positions");
  }
  return shape_;
}

Value PositionEmbedding::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  Value y = Value::analog(shape_, x.steps, x.batch);
  y.dense = x.densified();
  const std::size_t frame = element_count(shape_);
  for (std::size_t f = 0; f < x.frames(); ++f) {
    for (std::size_t i = 0; i < frame; ++i)
      y.dense[f * frame + i] += table_[i];
  }
  return y;
}

Shape TokenSelect::bind(std::span<const Shape> inputs) {
  input_ = inputs[0];
  require_tokens(input_);
  const std::size_t limit = scatter_tokens_ ? scatter_tokens_ : input_[0];
  for (std::size_t index : indices_) {
    if (index >= limit) {
      throw GraphError("token index " + std::to_string(index) + " is not below " +
                       std::to_string(limit));
    }
  }
  if (scatter_tokens_ && input_[0] != indices_.size()) {
    throw GraphError("expected " + std::to_string(indices_.size()) +
                     " tokens, one per index; found " + std::to_string(input_[0]));
  }
  output_ = {scatter_tokens_ ? scatter_tokens_ : indices_.size(), input_[1]};
  return output_;
}

Value TokenSelect::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  const Value::DenseView in = x.dense_view();
  const std::size_t d = input_[1];
  const std::size_t in_frame = input_[0] * d, out_frame = output_[0] * d;
  std::vector<float> out(x.frames() * out_frame, 0.0f);
  for (std::size_t f = 0; f < x.frames(); ++f) {
    for (std::size_t k = 0; k < indices_.size(); ++k) {
      const std::size_t from = scatter_tokens_ ? k : indices_[k];
      const std::size_t to = scatter_tokens_ ? indices_[k] : k;
      std::copy_n(in.data() + f * in_frame + from * d, d, out.begin() + f * out_frame + to * d);
    }
  }
  return like_input(x, output_, std::move(out));
}

}  // namespace snnsim
