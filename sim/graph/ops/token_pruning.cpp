#include "sim/graph/ops/token_pruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace snnsim {
namespace {

void require_tokens(const Shape& shape, const char* what) {
  if (shape.size() != 2 || shape[0] == 0) {
    throw GraphError(std::string("expected ") + what + " as tokens [N, D]; found " +
                     shape_string(shape));
  }
}

/// The value of event k of `s` at timestep `step`: level x amplitude.
float event_value(const SpikeTrain& s, std::uint64_t k, std::size_t step) {
  return static_cast<float>(s.level(k)) * s.scale(step);
}

/// The values of row `row` of frame f of tokens x ([rows, width] per sample) into `into`.
void read_row(const Value& x, std::size_t f, std::size_t row, std::size_t width, float* into) {
  const std::size_t first = row * width;
  if (!x.is_spikes()) {
    std::copy_n(x.dense.data() + f * x.features() + first, width, into);
    return;
  }
  std::fill_n(into, width, 0.0f);
  const SpikeTrain& s = *x.spikes;
  const std::span<const std::uint32_t> events = s.frame_indices(f);
  const auto begin = std::lower_bound(events.begin(), events.end(), first);
  for (auto e = begin; e != events.end() && *e < first + width; ++e) {
    const std::uint64_t k = s.offsets[f] + static_cast<std::uint64_t>(e - events.begin());
    into[*e - first] = event_value(s, k, f / s.batch);
  }
}

}  // namespace

Shape AppendTokens::bind(std::span<const Shape> inputs) {
  input_ = inputs[0];
  require_tokens(input_, "the input");
  if (rows_ == 0) throw GraphError("append_tokens needs at least one row of tokens");
  return {input_[0] + 1, input_[1]};
}

std::vector<WeightSpec> AppendTokens::weight_specs() const {
  return {{"tokens", {rows_, input_[1]}}};
}

void AppendTokens::set_weight(const std::string&, std::vector<float> values) {
  tokens_ = std::move(values);
  integral_ = std::all_of(tokens_.begin(), tokens_.end(),
                          [](float v) { return v == std::nearbyint(v) && std::abs(v) <= 127.0f; });
  unit_ =
      std::all_of(tokens_.begin(), tokens_.end(), [](float v) { return v == 0.0f || v == 1.0f; });
}

Value AppendTokens::append(const Value& x, std::size_t first_step) const {
  const std::size_t width = input_[1], in_features = x.features();
  const Shape shape{input_[0] + 1, width};
  const auto row_of = [&](std::size_t f) {
    const std::size_t step = rows_ == 1 ? 0 : first_step + f / x.batch;
    if (step >= rows_) {
      throw GraphError("append_tokens holds rows for " + std::to_string(rows_) +
                       " timesteps; the run reached timestep " + std::to_string(step + 1));
    }
    return tokens_.data() + step * width;
  };
  if (!x.is_spikes()) {
    Value y = Value::analog(shape, x.steps, x.batch);
    for (std::size_t f = 0; f < x.frames(); ++f) {
      float* out = y.dense.data() + f * (in_features + width);
      std::copy_n(x.dense.data() + f * in_features, in_features, out);
      std::copy_n(row_of(f), width, out + in_features);
    }
    return y;
  }
  const SpikeTrain& s = *x.spikes;
  if (!integral_ || s.kind == SpikeKind::ternary) {
    throw GraphError(
        "the tokens appended to spikes must be integer levels, and the spikes not ternary");
  }
  SpikeTrain out;
  out.kind = s.kind == SpikeKind::binary && unit_ ? SpikeKind::binary : SpikeKind::integer;
  out.steps = s.steps;
  out.batch = s.batch;
  out.features = in_features + width;
  for (std::size_t f = 0; f < s.frames(); ++f) {
    for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k)
      out.add(s.indices[k], s.level(k));
    const float* row = row_of(f);
    for (std::size_t c = 0; c < width; ++c) {
      if (row[c] != 0.0f)
        out.add(static_cast<std::uint32_t>(in_features + c), static_cast<int>(row[c]));
    }
    out.close_frame();
  }
  return Value::of_spikes(shape, std::move(out));
}

Value AppendTokens::forward(std::span<const Value* const> inputs, OpCounts&) const {
  return append(*inputs[0], 0);
}

Value AppendTokens::forward_step(std::span<const Value* const> inputs, OpCounts&,
                                 StepContext& context) const {
  return append(*inputs[0], context.step);
}

Shape AnchorScores::bind(std::span<const Shape> inputs) {
  require_tokens(inputs[0], "Q");
  if (inputs[1] != inputs[0]) {
    throw GraphError("expected Q and K of one shape; found " + shape_string(inputs[0]) + " and " +
                     shape_string(inputs[1]));
  }
  if (inputs[0][0] < 2) throw GraphError("expected an anchor token and at least one other");
  rows_ = inputs[0][0];
  width_ = inputs[0][1];
  return {rows_ - 1};
}

Value AnchorScores::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value &q = *inputs[0], &k = *inputs[1];
  const std::size_t candidates = rows_ - 1;
  Value y = Value::analog({candidates}, q.steps, q.batch);
  std::uint64_t work = 0;
#pragma omp parallel reduction(+ : work)
  {
    std::vector<float> anchor(width_), row(width_);
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < q.frames(); ++f) {
      read_row(q, f, candidates, width_, anchor.data());
      float* score = y.dense.data() + f * candidates;
      if (k.is_spikes()) {
        // One lookup per spike of K, added where the anchor's Q is nonzero.
        const SpikeTrain& s = *k.spikes;
        const std::size_t end = candidates * width_;
        for (std::uint64_t e = s.offsets[f]; e < s.offsets[f + 1] && s.indices[e] < end; ++e) {
          const float a = anchor[s.indices[e] % width_];
          if (a == 0.0f) continue;
          score[s.indices[e] / width_] += a * event_value(s, e, f / s.batch);
          ++work;
        }
      } else {
        for (std::size_t n = 0; n < candidates; ++n) {
          read_row(k, f, n, width_, row.data());
          score[n] = std::inner_product(anchor.begin(), anchor.end(), row.begin(), 0.0f);
        }
        work += candidates * width_;
      }
    }
  }
  (k.is_spikes() ? counts.acs : counts.macs) += work;
  return y;
}

TopTokens::TopTokens(TopTokensParameters p) : p_(p) {
  if (!(p_.keep_ratio > 0.0 && p_.keep_ratio <= 1.0)) {
    throw GraphError("keep ratio " + std::to_string(p_.keep_ratio) + ": expected one in (0, 1]");
  }
}

Shape TopTokens::bind(std::span<const Shape> inputs) {
  if (inputs[0].size() != 1 || inputs[0][0] == 0)
    throw GraphError("expected scores [M]; found " + shape_string(inputs[0]));
  candidates_ = inputs[0][0];
  kept_ = kept_of(p_.keep_ratio, candidates_);
  return {kept_};
}

Value TopTokens::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& scores = *inputs[0];
  const Value::DenseView values = scores.dense_view();
  Value y = Value::analog({kept_}, 1, scores.batch);
  std::vector<double> key(candidates_);
  std::vector<std::size_t> order(candidates_);
  for (std::size_t b = 0; b < scores.batch; ++b) {
    std::fill(key.begin(), key.end(), 0.0);
    for (std::size_t t = 0; t < scores.steps; ++t) {
      const float* s = values.data() + (t * scores.batch + b) * candidates_;
      double mean = 0.0, variance = 0.0;
      if (p_.standardize) {
        for (std::size_t n = 0; n < candidates_; ++n)
          mean += s[n];
        mean /= static_cast<double>(candidates_);
        for (std::size_t n = 0; n < candidates_; ++n)
          variance += (s[n] - mean) * (s[n] - mean);
        variance /= static_cast<double>(candidates_);
      }
      const double spread = p_.standardize ? std::sqrt(variance) + 1e-6 : 1.0;
      for (std::size_t n = 0; n < candidates_; ++n)
        key[n] += (s[n] - mean) / spread;
    }
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t c) { return key[a] > key[c]; });
    std::sort(order.begin(), order.begin() + static_cast<long>(kept_));
    for (std::size_t i = 0; i < kept_; ++i)
      y.dense[b * kept_ + i] = static_cast<float>(order[i]);
  }
  return y;
}

Shape KeepTokens::bind(std::span<const Shape> inputs) {
  require_tokens(inputs[0], "the input");
  rows_ = inputs[0][0];
  width_ = inputs[0][1];
  if (trailing_ >= rows_) {
    throw GraphError("keeps the last " + std::to_string(trailing_) + " rows of " +
                     shape_string(inputs[0]) + ": no rows left to choose from");
  }
  candidates_ = rows_ - trailing_;
  if (inputs[1].size() != 1 || inputs[1][0] == 0 || inputs[1][0] > candidates_) {
    throw GraphError("expected the indices of 1 to " + std::to_string(candidates_) +
                     " kept tokens; found " + shape_string(inputs[1]));
  }
  kept_ = inputs[1][0];
  if (fuse_ && inputs[2] != Shape{candidates_}) {
    throw GraphError("expected the scores of the " + std::to_string(candidates_) +
                     " candidates; found " + shape_string(inputs[2]));
  }
  fused_row_ = fuse_ && kept_ < candidates_;
  return {kept_ + (fused_row_ ? 1 : 0) + trailing_, width_};
}

std::vector<long> KeepTokens::row_map(const Value& kept, std::size_t b) const {
  if (kept.steps != 1 || kept.is_spikes())
    throw GraphError("expected the kept indices as one analog value for all timesteps");
  std::vector<long> map(candidates_, -1);
  long previous = -1;
  for (std::size_t i = 0; i < kept_; ++i) {
    const float index = kept.dense[b * kept_ + i];
    if (!(index >= 0.0f && index < static_cast<float>(candidates_)) || index != std::floor(index) ||
        static_cast<long>(index) <= previous) {
      throw GraphError("kept token " + std::to_string(index) +
                       ": expected ascending indices below " + std::to_string(candidates_));
    }
    previous = static_cast<long>(index);
    map[static_cast<std::size_t>(previous)] = static_cast<long>(i);
  }
  return map;
}

std::vector<double> KeepTokens::fusing_weights(const Value& scores, const std::vector<long>& map,
                                               std::size_t b) const {
  const Value::DenseView values = scores.dense_view();
  std::vector<double> weight(candidates_, 0.0);
  for (std::size_t t = 0; t < scores.steps; ++t) {
    for (std::size_t n = 0; n < candidates_; ++n) {
      if (map[n] < 0) weight[n] += values[(t * scores.batch + b) * candidates_ + n];
    }
  }
  const double total = std::accumulate(weight.begin(), weight.end(), 0.0);
  if (total == 0.0) {
    for (std::size_t n = 0; n < candidates_; ++n)
      weight[n] = map[n] < 0 ? 1.0 : 0.0;
  }
  return weight;
}

Value KeepTokens::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value &x = *inputs[0], &kept = *inputs[1];
  const std::size_t out_rows = kept_ + (fused_row_ ? 1 : 0) + trailing_;
  const Shape shape{out_rows, width_};
  std::vector<std::vector<long>> maps(x.batch);
  std::vector<std::vector<double>> weights(x.batch);
  for (std::size_t b = 0; b < x.batch; ++b) {
    maps[b] = row_map(kept, b);
    if (fused_row_) weights[b] = fusing_weights(*inputs[2], maps[b], b);
  }
  const std::size_t trailing_row = kept_ + (fused_row_ ? 1 : 0);  // where row candidates_ goes
  // The fused row of frame f: sum of weight x value over the pruned rows, over the total weight.
  const auto fused = [&](std::size_t f, std::vector<double>& row) {
    const std::vector<double>& w = weights[f % x.batch];
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    std::fill(row.begin(), row.end(), 0.0);
    std::vector<float> values(width_);
    for (std::size_t n = 0; n < candidates_; ++n) {
      if (w[n] == 0.0) continue;
      read_row(x, f, n, width_, values.data());
      for (std::size_t c = 0; c < width_; ++c)
        row[c] += w[n] * values[c];
    }
    for (double& v : row)
      v /= total;
  };
  if (!x.is_spikes()) {
    Value y = Value::analog(shape, x.steps, x.batch);
    std::vector<double> row(width_);
    for (std::size_t f = 0; f < x.frames(); ++f) {
      const std::vector<long>& map = maps[f % x.batch];
      const float* in = x.dense.data() + f * rows_ * width_;
      float* out = y.dense.data() + f * out_rows * width_;
      for (std::size_t n = 0; n < candidates_; ++n) {
        if (map[n] >= 0)
          std::copy_n(in + n * width_, width_, out + static_cast<std::size_t>(map[n]) * width_);
      }
      if (fused_row_) {
        fused(f, row);
        std::transform(row.begin(), row.end(), out + kept_ * width_,
                       [](double v) { return static_cast<float>(v); });
      }
      std::copy_n(in + candidates_ * width_, trailing_ * width_, out + trailing_row * width_);
    }
    return y;
  }
  const SpikeTrain& s = *x.spikes;
  SpikeTrain out;
  out.kind = s.kind;
  out.steps = s.steps;
  out.batch = s.batch;
  out.features = out_rows * width_;
  out.amplitude = s.amplitude;
  std::vector<double> row(width_);
  for (std::size_t f = 0; f < s.frames(); ++f) {
    const std::vector<long>& map = maps[f % s.batch];
    std::uint64_t k = s.offsets[f];
    // Events ascend by row: the kept rows' first, then the fused row, then the trailing rows'.
    for (; k < s.offsets[f + 1] && s.indices[k] < candidates_ * width_; ++k) {
      const long to = map[s.indices[k] / width_];
      if (to >= 0)
        out.add(static_cast<std::uint32_t>(to * static_cast<long>(width_) + s.indices[k] % width_),
                s.level(k));
    }
    if (fused_row_) {
      fused(f, row);
      // Rounded to integer levels (half to even), so that the fused token is spikes too.
      const float amplitude = s.scale(f / s.batch);
      for (std::size_t c = 0; c < width_; ++c) {
        const int level = static_cast<int>(std::nearbyint(row[c] / amplitude));
        if (level != 0) out.add(static_cast<std::uint32_t>(kept_ * width_ + c), level);
      }
    }
    for (; k < s.offsets[f + 1]; ++k)
      out.add(static_cast<std::uint32_t>(s.indices[k] - (candidates_ - trailing_row) * width_),
              s.level(k));
    out.close_frame();
  }
  return Value::of_spikes(shape, std::move(out));
}

}  // namespace snnsim
