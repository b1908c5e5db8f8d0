#include "sim/graph/ops/conv.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "sim/nonzero_scan.h"
#include "sim/vector_clones.h"

namespace snnsim {
namespace {

/// For each input column x, the output columns it reaches and with which taps. Output ox sees
/// input ox * stride - padding + kx, so the outputs x reaches are consecutive, and their taps go
/// down by `stride` as ox goes up. Computed once, so the event path needs no divisions; visiting
/// each (output, tap) once costs out_width x kernel, bounded by the caller.
std::vector<Conv2d::ColumnSpan> column_spans(std::size_t width, std::size_t kernel,
                                             std::size_t stride, std::size_t padding,
                                             std::size_t out_width) {
  std::vector<Conv2d::ColumnSpan> spans(width);
  for (std::size_t ox = 0; ox < out_width; ++ox) {
    for (std::size_t kx = 0; kx < kernel; ++kx) {
      const std::size_t shifted = ox * stride + kx;
      if (shifted < padding || shifted - padding >= width) continue;
      Conv2d::ColumnSpan& span = spans[shifted - padding];
      if (span.count == 0) {
        span.first_output = static_cast<std::uint32_t>(ox);
        span.first_tap = static_cast<std::uint32_t>(kernel - 1 - kx);
      }
      ++span.count;
    }
  }
  return spans;
}

}  // namespace

Shape Conv2d::bind(std::span<const Shape> inputs) {
  const Shape& in = inputs[0];
  if (p_.groups == 0 || p_.in_channels % p_.groups || p_.out_channels % p_.groups) {
    throw GraphError("in_channels and out_channels must be multiples of groups");
  }
  if (in.size() != 3 || in[0] != p_.in_channels) {
    throw GraphError("expected a [" + std::to_string(p_.in_channels) +
                     ", height, width] input; found " + shape_string(in));
  }
  height_ = in[1];
  width_ = in[2];
  if (height_ + 2 * p_.padding_h < p_.kernel_h || width_ + 2 * p_.padding_w < p_.kernel_w) {
    throw GraphError("the kernel is larger than the padded input " + shape_string(in));
  }
  out_height_ = (height_ + 2 * p_.padding_h - p_.kernel_h) / p_.stride_h + 1;
  out_width_ = (width_ + 2 * p_.padding_w - p_.kernel_w) / p_.stride_w + 1;
  check_tensor_size("the output", {p_.out_channels, out_height_, out_width_});
  check_tensor_size("the taps along the width (output width x kernel width)",
                    {out_width_, p_.kernel_w});
  column_spans_ = column_spans(width_, p_.kernel_w, p_.stride_w, p_.padding_w, out_width_);
  rows_reached_.clear();
  for (const ColumnSpan& span :
       column_spans(height_, p_.kernel_h, p_.stride_h, p_.padding_h, out_height_))
    rows_reached_.push_back(span.count);
  return {p_.out_channels, out_height_, out_width_};
}

std::vector<WeightSpec> Conv2d::weight_specs() const {
  std::vector<WeightSpec> specs{
      {"weight", {p_.out_channels, p_.in_channels / p_.groups, p_.kernel_h, p_.kernel_w}}};
  if (p_.bias) specs.push_back({"bias", {p_.out_channels}});
  if (p_.standardize_eps) specs.push_back({"gain", {p_.out_channels, 1, 1, 1}});
  return specs;
}

void Conv2d::set_weight(const std::string& name, std::vector<float> values) {
  if (name == "bias") {
    bias_ = std::move(values);
  } else if (!p_.standardize_eps) {
    weight_ = std::move(values);
    rebuild_scatter_layout();
  } else {
    (name == "gain" ? gain_ : raw_weight_) = std::move(values);
    standardize();
  }
}

void Conv2d::standardize() {
  if (raw_weight_.empty() || gain_.empty()) return;
  const std::size_t fan_in = raw_weight_.size() / p_.out_channels;
  weight_.resize(raw_weight_.size());
  for (std::size_t o = 0; o < p_.out_channels; ++o) {
    const float* w = raw_weight_.data() + o * fan_in;
    double mean = 0.0, variance = 0.0;
    for (std::size_t k = 0; k < fan_in; ++k)
      mean += w[k];
    mean /= static_cast<double>(fan_in);
    for (std::size_t k = 0; k < fan_in; ++k)
      variance += (w[k] - mean) * (w[k] - mean);
    variance /= static_cast<double>(fan_in);
    const double factor = gain_[o] / std::sqrt(static_cast<double>(fan_in)) /
                          std::sqrt(variance + *p_.standardize_eps);
    for (std::size_t k = 0; k < fan_in; ++k)
      weight_[o * fan_in + k] = static_cast<float>((w[k] - mean) * factor);
  }
  raw_weight_.clear();
  gain_.clear();
  rebuild_scatter_layout();
}

void Conv2d::rebuild_scatter_layout() {
  const std::size_t in_per_group = p_.in_channels / p_.groups;
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  const std::size_t taps = p_.kernel_h * p_.kernel_w;
  scatter_.assign(weight_.size(), 0.0f);
  for (std::size_t o = 0; o < p_.out_channels; ++o) {
    const std::size_t group = o / out_per_group, local = o % out_per_group;
    for (std::size_t i = 0; i < in_per_group; ++i) {
      const std::size_t channel = group * in_per_group + i;
      for (std::size_t ky = 0; ky < p_.kernel_h; ++ky) {
        for (std::size_t kx = 0; kx < p_.kernel_w; ++kx) {
          const std::size_t reversed = (ky * p_.kernel_w + p_.kernel_w - 1 - kx);
          scatter_[(channel * taps + reversed) * out_per_group + local] =
              weight_[((o * in_per_group + i) * p_.kernel_h + ky) * p_.kernel_w + kx];
        }
      }
    }
  }
}

bool Conv2d::fold_affine(std::span<const float> scale, std::span<const float> shift) {
  const std::size_t per_output = weight_.size() / p_.out_channels;
  for (std::size_t o = 0; o < p_.out_channels; ++o) {
    for (std::size_t k = 0; k < per_output; ++k)
      weight_[o * per_output + k] *= scale[o];
    bias_[o] = bias_[o] * scale[o] + shift[o];
  }
  rebuild_scatter_layout();
  return true;
}

Value Conv2d::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& x = *inputs[0];
  Value y = Value::analog({p_.out_channels, out_height_, out_width_}, x.steps, x.batch);
  if (depthwise()) {
    forward_depthwise(x.dense_view().data(), y);
    if (x.is_spikes()) {
      counts.acs += event_accumulates(*x.spikes);
    } else {
      counts.macs += y.dense.size() * p_.kernel_h * p_.kernel_w;
    }
  } else if (x.is_spikes()) {
    forward_events(*x.spikes, y, counts);
  } else {
    forward_dense(x, y, counts);
  }
  return y;
}

void Conv2d::forward_events(const SpikeTrain& s, Value& y, OpCounts& counts) const {
  const std::size_t frames = s.frames(), out_frame = out_height_ * out_width_ * p_.out_channels;
  std::vector<RowBuckets> buckets(frames);
  std::uint64_t acs = 0;
#pragma omp parallel
  {
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < frames; ++f)
      buckets[f] = bucket_by_row(s, f);
    std::vector<float> accumulator(out_width_ * p_.out_channels);
#pragma omp for schedule(dynamic, 4) reduction(+ : acs)
    for (std::size_t item = 0; item < frames * out_height_; ++item) {
      const std::size_t f = item / out_height_;
      const std::size_t oy = item % out_height_;
      float* out = y.dense.data() + f * out_frame + oy * out_width_;
      acs += scatter_row(buckets[f], oy, s.scale(f / s.batch), accumulator.data(), out,
                         out_height_ * out_width_);
    }
  }
  counts.acs += acs;
}

SpikeTrain Conv2d::forward_into_lif(const SpikeTrain& s, const LifLayer& lif,
                                    OpCounts& counts) const {
  const std::size_t frames = s.frames(), channels = p_.out_channels;
  const std::size_t out_plane = out_height_ * out_width_, features = channels * out_plane;
  const std::size_t row = channels * out_width_;  // one output row of every channel
  std::vector<RowBuckets> buckets(frames);
  std::vector<std::uint8_t> fired(frames * features);
  std::vector<std::vector<std::uint32_t>> spiked(frames);
  std::uint64_t acs = 0;
#pragma omp parallel
  {
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < frames; ++f)
      buckets[f] = bucket_by_row(s, f);
    std::vector<float> accumulator(row), drive(row), membrane(row);
    std::vector<std::uint8_t> row_fired(row);
#pragma omp for schedule(dynamic, 2) reduction(+ : acs)
    for (std::size_t item = 0; item < s.batch * out_height_; ++item) {
      const std::size_t b = item / out_height_, oy = item % out_height_;
      std::fill(membrane.begin(), membrane.end(), lif.rest());
      for (std::size_t t = 0; t < s.steps; ++t) {
        const std::size_t f = t * s.batch + b;
        acs +=
            scatter_row(buckets[f], oy, s.scale(t), accumulator.data(), drive.data(), out_width_);
        lif.charge_fire_reset(drive.data(), membrane.data(), row_fired.data(), row);
        for (std::size_t o = 0; o < channels; ++o)
          std::copy_n(row_fired.data() + o * out_width_, out_width_,
                      fired.data() + f * features + o * out_plane + oy * out_width_);
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < frames; ++f) {
      spiked[f].resize(features + 8);
      spiked[f].resize(compact_nonzero(fired.data() + f * features, features, 0, spiked[f].data()));
    }
  }
  counts.acs += acs;
  SpikeTrain out;
  out.steps = s.steps;
  out.batch = s.batch;
  out.features = features;
  for (const std::vector<std::uint32_t>& frame : spiked) {
    out.indices.insert(out.indices.end(), frame.begin(), frame.end());
    out.close_frame();
  }
  return out;
}

Conv2d::RowBuckets Conv2d::bucket_by_row(const SpikeTrain& s, std::size_t f) const {
  const std::size_t in_per_group = p_.in_channels / p_.groups;
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  const std::size_t kernel_block = p_.kernel_h * p_.kernel_w * out_per_group;
  // A counting sort by row, in two passes over the spikes.
  RowBuckets buckets;
  std::vector<std::uint32_t>& next = buckets.row_end;  // per row: where its next spike goes
  next.assign(height_, 0);
  for_each_pixel_event(
      s, f, height_, width_,
      [&](std::uint64_t, std::size_t, std::size_t row, std::size_t) { ++next[row]; });
  std::uint32_t start = 0;
  for (std::uint32_t& slot : next)
    start += std::exchange(slot, start);
  buckets.events.resize(s.offsets[f + 1] - s.offsets[f]);
  for_each_pixel_event(
      s, f, height_, width_,
      [&](std::uint64_t k, std::size_t channel, std::size_t row, std::size_t column) {
        buckets.events[next[row]++] = {
            static_cast<std::uint32_t>(channel * kernel_block),
            static_cast<std::uint32_t>((channel / in_per_group) * out_per_group),
            static_cast<std::uint32_t>(column), static_cast<float>(s.level(k))};
      });
  // Each row's slot now points past its last spike: row_end, as documented.
  return buckets;
}

namespace {

/// into[i] += level * taps[i] for i < n; kBinary: level is 1, no multiplication.
template <bool kBinary>
inline void accumulate(float* __restrict into, const float* __restrict taps, float level,
                       std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    into[i] += kBinary ? taps[i] : level * taps[i];
}

}  // namespace

SNNSIM_VECTOR_CLONES std::uint64_t Conv2d::scatter_row(const RowBuckets& buckets, std::size_t oy,
                                                       float amplitude, float* accumulator,
                                                       float* out,
                                                       std::size_t channel_stride) const {
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  const std::size_t channels = p_.out_channels;
  // Stride 1 without groups: the outputs of a spike's taps are adjacent in the accumulator and,
  // kx being stored reversed, its taps adjacent in scatter_, so one run adds them all.
  const bool one_run = p_.stride_w == 1 && p_.groups == 1;
  std::fill_n(accumulator, out_width_ * channels, 0.0f);
  std::uint64_t acs = 0;
  for (std::size_t ky = 0; ky < p_.kernel_h; ++ky) {
    const std::size_t shifted = oy * p_.stride_h + ky;
    if (shifted < p_.padding_h || shifted - p_.padding_h >= height_) continue;
    const std::size_t row = shifted - p_.padding_h;
    for (std::size_t e = row == 0 ? 0 : buckets.row_end[row - 1]; e < buckets.row_end[row]; ++e) {
      const RowEvent& event = buckets.events[e];
      const ColumnSpan span = column_spans_[event.column];
      const float* taps =
          scatter_.data() + event.kernel + (ky * p_.kernel_w + span.first_tap) * out_per_group;
      float* into = accumulator + span.first_output * channels + event.first_output;
      // Binary spikes add their taps; levels scale them.
      if (one_run && event.level == 1.0f) {
        accumulate<true>(into, taps, 1.0f, span.count * channels);
      } else if (one_run) {
        accumulate<false>(into, taps, event.level, span.count * channels);
      } else {
        for (std::size_t j = 0; j < span.count; ++j)
          accumulate<false>(into + j * channels, taps + j * p_.stride_w * out_per_group,
                            event.level, out_per_group);
      }
      acs += span.count * out_per_group;
    }
  }
  // [OW][C] to one row per channel; the accumulator row is in L1.
  for (std::size_t o = 0; o < channels; ++o) {
    float* to = out + o * channel_stride;
    for (std::size_t ox = 0; ox < out_width_; ++ox)
      to[ox] = amplitude * accumulator[ox * channels + o] + bias_[o];
  }
  return acs;
}

std::uint64_t Conv2d::event_accumulates(const SpikeTrain& s) const {
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  std::uint64_t acs = 0;
  for (std::size_t f = 0; f < s.frames(); ++f) {
    for_each_pixel_event(s, f, height_, width_,
                         [&](std::uint64_t, std::size_t, std::size_t row, std::size_t column) {
                           acs += std::uint64_t{rows_reached_[row]} * column_spans_[column].count *
                                  out_per_group;
                         });
  }
  return acs;
}

SNNSIM_VECTOR_CLONES void Conv2d::forward_depthwise(const float* in, Value& y) const {
  const std::size_t channels = p_.out_channels, plane = height_ * width_;
  const std::size_t out_plane = out_height_ * out_width_;
  const long pad_w = static_cast<long>(p_.padding_w), pad_h = static_cast<long>(p_.padding_h);
#pragma omp parallel for schedule(dynamic, 4)
  for (std::size_t item = 0; item < y.frames() * channels; ++item) {
    const std::size_t c = item % channels;
    const float* source = in + item * plane;
    float* out = y.dense.data() + item * out_plane;
    const float* w = weight_.data() + c * p_.kernel_h * p_.kernel_w;
    std::fill_n(out, out_plane, bias_[c]);
    for (std::size_t oy = 0; oy < out_height_; ++oy) {
      float* __restrict to = out + oy * out_width_;
      for (std::size_t ky = 0; ky < p_.kernel_h; ++ky) {
        const long iy = static_cast<long>(oy * p_.stride_h + ky) - pad_h;
        if (iy < 0 || iy >= static_cast<long>(height_)) continue;
        const float* __restrict row = source + iy * width_;
        for (std::size_t kx = 0; kx < p_.kernel_w; ++kx) {
          const float tap = w[ky * p_.kernel_w + kx];
          // Outputs ox whose input column ox * stride + kx - padding lies in the row.
          const long shift = static_cast<long>(kx) - pad_w;
          const long stride = static_cast<long>(p_.stride_w);
          const long first = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
          const long last = std::min(static_cast<long>(out_width_) - 1,
                                     (static_cast<long>(width_) - 1 - shift) / stride);
          if (stride == 1) {
            for (long ox = first; ox <= last; ++ox)
              to[ox] += tap * row[ox + shift];
          } else {
            for (long ox = first; ox <= last; ++ox)
              to[ox] += tap * row[ox * stride + shift];
          }
        }
      }
    }
  }
}

void Conv2d::im2col(const float* channel, std::size_t i, float* matrix) const {
  const std::size_t out_plane = out_height_ * out_width_;
  for (std::size_t ky = 0; ky < p_.kernel_h; ++ky) {
    for (std::size_t kx = 0; kx < p_.kernel_w; ++kx) {
      float* row = matrix + ((i * p_.kernel_h + ky) * p_.kernel_w + kx) * out_plane;
      for (std::size_t oy = 0; oy < out_height_; ++oy) {
        const long iy = static_cast<long>(oy * p_.stride_h + ky) - static_cast<long>(p_.padding_h);
        for (std::size_t ox = 0; ox < out_width_; ++ox) {
          const long ix =
              static_cast<long>(ox * p_.stride_w + kx) - static_cast<long>(p_.padding_w);
          const bool inside = iy >= 0 && iy < static_cast<long>(height_) && ix >= 0 &&
                              ix < static_cast<long>(width_);
          row[oy * out_width_ + ox] = inside ? channel[iy * width_ + ix] : 0.0f;
        }
      }
    }
  }
}

void Conv2d::forward_dense(const Value& x, Value& y, OpCounts& counts) const {
  const std::size_t in_per_group = p_.in_channels / p_.groups;
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  const std::size_t patch = in_per_group * p_.kernel_h * p_.kernel_w;
  const std::size_t out_plane = out_height_ * out_width_, plane = height_ * width_;
  const std::size_t in_frame = p_.in_channels * plane, out_frame = p_.out_channels * out_plane;
  // out[o] = bias[o] + W[o] x (group g's patch matrix), for `rows` output channels from o.
  const auto product = [&](std::size_t f, std::size_t o, std::size_t rows, const float* matrix) {
    float* out = y.dense.data() + f * out_frame + o * out_plane;
    for (std::size_t r = 0; r < rows; ++r)
      std::fill_n(out + r * out_plane, out_plane, bias_[o + r]);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows),
                static_cast<int>(out_plane), static_cast<int>(patch), 1.0f,
                weight_.data() + o * patch, static_cast<int>(patch), matrix,
                static_cast<int>(out_plane), 1.0f, out, static_cast<int>(out_plane));
  };
  // A 1x1 convolution of stride 1 without padding reads its input as the patch matrix.
  const bool pointwise = patch == in_per_group && p_.stride_h == 1 && p_.stride_w == 1 &&
                         p_.padding_h == 0 && p_.padding_w == 0;
  const auto input_matrix = [&](std::size_t f, std::size_t g) {
    return x.dense.data() + f * in_frame + g * in_per_group * plane;
  };
  const std::size_t threads = static_cast<std::size_t>(omp_get_max_threads());
  if (x.frames() >= threads) {
    // Threads share out the frames, each with a patch matrix of its own.
#pragma omp parallel
    {
      std::vector<float> columns(pointwise ? 0 : patch * out_plane);
#pragma omp for schedule(dynamic, 1)
      for (std::size_t f = 0; f < x.frames(); ++f) {
        for (std::size_t g = 0; g < p_.groups; ++g) {
          if (pointwise) {
            product(f, g * out_per_group, out_per_group, input_matrix(f, g));
            continue;
          }
          for (std::size_t i = 0; i < in_per_group; ++i)
            im2col(x.dense.data() + f * in_frame + (g * in_per_group + i) * plane, i,
                   columns.data());
          product(f, g * out_per_group, out_per_group, columns.data());
        }
      }
    }
  } else {
    // Fewer frames than threads (a batch of one run step by step): each frame's patch matrices
    // are built first, then every product is cut by its output channels so that every thread
    // has work. OpenBLAS, called inside a parallel region, runs one thread per call.
    const std::size_t blocks = std::min(out_per_group, (threads + x.frames() - 1) / x.frames());
    const std::size_t block_rows = (out_per_group + blocks - 1) / blocks;
    std::vector<float> columns(pointwise ? 0 : x.frames() * p_.groups * patch * out_plane);
#pragma omp parallel
    {
#pragma omp for schedule(dynamic, 1)
      for (std::size_t c = 0; c < (pointwise ? 0 : x.frames() * p_.in_channels); ++c) {
        const std::size_t f = c / p_.in_channels, g = c % p_.in_channels / in_per_group;
        im2col(x.dense.data() + c * plane, c % in_per_group,
               columns.data() + (f * p_.groups + g) * patch * out_plane);
      }
#pragma omp for schedule(dynamic, 1)
      for (std::size_t item = 0; item < x.frames() * p_.groups * blocks; ++item) {
        const std::size_t f = item / (p_.groups * blocks), g = item / blocks % p_.groups;
        const std::size_t first = item % blocks * block_rows;
        if (first >= out_per_group) continue;
        product(f, g * out_per_group + first, std::min(block_rows, out_per_group - first),
                pointwise ? input_matrix(f, g)
                          : columns.data() + (f * p_.groups + g) * patch * out_plane);
      }
    }
  }
  counts.macs += x.frames() * out_frame * patch;
}

}  // namespace snnsim
