#include "sim/graph/ops/conv.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "sim/nonzero_scan.h"
#include "sim/vector_clones.h"

namespace snnsim {
namespace {

/// Spike inputs with more events than this share of their elements take the dense path
/// (im2col and SGEMM): an event costs about four times a dense input element's multiply-adds
/// (T-RevSNN's 1 x 1 and 3 x 3 convolutions on one core: docs/performance.md), so the event
/// path wins below ~25 %. Maximum pooling of spikes, which raises Spikformer's SPS inputs to
/// 60-80 %, is far above it.
constexpr double kDenseAbove = 0.25;

/// For each input position along one axis, how many outputs it reaches: output o sees inputs
/// o * stride - padding + k, k < kernel. (The ACs of a spike there.)
std::vector<std::uint32_t> outputs_reached(std::size_t size, std::size_t kernel, std::size_t stride,
                                           std::size_t padding, std::size_t out_size) {
  std::vector<std::uint32_t> reached(size, 0);
  for (std::size_t o = 0; o < out_size; ++o) {
    for (std::size_t k = 0; k < kernel; ++k) {
      const std::size_t shifted = o * stride + k;
      if (shifted >= padding && shifted - padding < size) ++reached[shifted - padding];
    }
  }
  return reached;
}

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
  const std::vector<std::uint32_t> columns =
      outputs_reached(width_, p_.kernel_w, p_.stride_w, p_.padding_w, out_width_);
  const std::vector<std::uint32_t> rows =
      outputs_reached(height_, p_.kernel_h, p_.stride_h, p_.padding_h, out_height_);
  outputs_reached_.resize(height_ * width_);
  for (std::size_t y = 0; y < height_; ++y) {
    for (std::size_t x = 0; x < width_; ++x)
      outputs_reached_[y * width_ + x] = rows[y] * columns[x];
  }
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
    rebuild_event_weights();
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
  rebuild_event_weights();
}

void Conv2d::rebuild_event_weights() {
  if (gathers()) {
    pointwise_.assign(p_.in_channels, p_.out_channels, [&](std::size_t o, std::size_t i) {
      return weight_[o * p_.in_channels + i];
    });
    return;
  }
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
  rebuild_event_weights();
  return true;
}

Value Conv2d::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& x = *inputs[0];
  Value y = Value::analog({p_.out_channels, out_height_, out_width_}, x.steps, x.batch);
  if (depthwise()) {
    forward_depthwise(x, y);
  } else if (takes_event_path(x)) {
    forward_events(*x.spikes, y, counts);
    return y;
  } else {
    forward_dense(x, y.dense.data(), nullptr);
  }
  count_dense_work(x, counts);
  return y;
}

void Conv2d::count_dense_work(const Value& x, OpCounts& counts) const {
  if (x.is_spikes()) {
    counts.acs += event_accumulates(*x.spikes);
  } else {
    counts.macs += std::uint64_t{x.frames()} * p_.out_channels * out_height_ * out_width_ *
                   (p_.in_channels / p_.groups) * p_.kernel_h * p_.kernel_w;
  }
}

SpikeTrain Conv2d::forward_dense_into_threshold(const Value& x, OpCounts& counts) const {
  const std::size_t frames = x.frames(), bands = dense_bands(frames, true).second;
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  BandSpikes parts;
  parts.indices.resize(frames * p_.groups * bands);
  parts.channel_end.resize(parts.indices.size());
  forward_dense(x, nullptr, &parts);
  count_dense_work(x, counts);
  // Each frame's events channel by channel, each channel's band by band: ascending.
  SpikeTrain out;
  out.steps = x.steps;
  out.batch = x.batch;
  out.features = p_.out_channels * out_height_ * out_width_;
  std::size_t events = 0;
  for (const std::vector<std::uint32_t>& part : parts.indices)
    events += part.size();
  out.indices.reserve(events);  // as append_frames_in_parallel does
  for (std::size_t f = 0; f < frames; ++f) {
    for (std::size_t g = 0; g < p_.groups; ++g) {
      for (std::size_t o = 0; o < out_per_group; ++o) {
        for (std::size_t band = 0; band < bands; ++band) {
          const std::size_t item = (f * p_.groups + g) * bands + band;
          const std::vector<std::uint32_t>& ends = parts.channel_end[item];
          const auto begin = parts.indices[item].begin();
          out.indices.insert(out.indices.end(), begin + (o == 0 ? 0 : ends[o - 1]),
                             begin + ends[o]);
        }
      }
    }
    out.close_frame();
  }
  return out;
}

bool Conv2d::takes_event_path(const Value& x) const {
  return x.is_spikes() && !depthwise() &&
         static_cast<double>(x.spikes->events()) <=
             kDenseAbove * static_cast<double>(x.dense_elements());
}

void Conv2d::forward_events(const SpikeTrain& s, Value& y, OpCounts& counts) const {
  const std::size_t frames = s.frames(), channels = p_.out_channels;
  const std::size_t out_plane = out_height_ * out_width_;
  std::vector<FrameSpikes> sorted(frames);
  std::uint64_t acs = 0;
#pragma omp parallel
  {
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < frames; ++f)
      sorted[f] = sort_spikes(s, f);
    std::vector<std::uint64_t> bounds;
    std::vector<float> block(out_width_ * channels);
#pragma omp for schedule(dynamic, 4) reduction(+ : acs)
    for (std::size_t item = 0; item < frames * out_height_; ++item) {
      const std::size_t f = item / out_height_, oy = item % out_height_;
      acs += output_row(sorted[f], oy, s.scale(f / s.batch), bounds, block.data());
      // [OW][C] to one row per channel; the block is in L1.
      float* out = y.dense.data() + f * channels * out_plane + oy * out_width_;
      for (std::size_t o = 0; o < channels; ++o) {
        for (std::size_t ox = 0; ox < out_width_; ++ox)
          out[o * out_plane + ox] = block[ox * channels + o];
      }
    }
  }
  counts.acs += acs;
}

SpikeTrain Conv2d::forward_into_lif(const SpikeTrain& s, const LifLayer& lif,
                                    OpCounts& counts) const {
  const std::size_t frames = s.frames(), channels = p_.out_channels;
  const std::size_t out_plane = out_height_ * out_width_, features = channels * out_plane;
  const std::size_t row_size = channels * out_width_;  // one output row of every channel
  std::vector<FrameSpikes> sorted(frames);
  std::vector<std::uint8_t> fired(frames * features);
  std::vector<std::vector<std::uint32_t>> spiked(frames);
  std::uint64_t acs = 0;
#pragma omp parallel
  {
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < frames; ++f)
      sorted[f] = sort_spikes(s, f);
    std::vector<std::uint64_t> bounds;
    std::vector<float> drive(row_size), membrane(row_size);
    std::vector<std::uint8_t> row_fired(row_size);
#pragma omp for schedule(dynamic, 2) reduction(+ : acs)
    for (std::size_t item = 0; item < s.batch * out_height_; ++item) {
      const std::size_t b = item / out_height_, oy = item % out_height_;
      std::fill(membrane.begin(), membrane.end(), lif.rest());
      for (std::size_t t = 0; t < s.steps; ++t) {
        const std::size_t f = t * s.batch + b;
        acs += output_row(sorted[f], oy, s.scale(t), bounds, drive.data());
        lif.charge_fire_reset(drive.data(), membrane.data(), row_fired.data(), row_size);
        std::uint8_t* out = fired.data() + f * features + oy * out_width_;
        for (std::size_t o = 0; o < channels; ++o) {
          for (std::size_t ox = 0; ox < out_width_; ++ox)
            out[o * out_plane + ox] = row_fired[ox * channels + o];
        }
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

Conv2d::PixelSpikes Conv2d::spikes_by_pixel(const SpikeTrain& s, std::size_t f) const {
  const std::size_t plane = height_ * width_;
  const bool with_levels = s.kind != SpikeKind::binary;
  // A counting sort by pixel, in two passes over the spikes; channels ascend within a frame, so
  // they ascend at each pixel.
  PixelSpikes by_pixel;
  std::vector<std::uint32_t>& next = by_pixel.start;  // per pixel: where its next spike goes
  next.assign(plane + 1, 0);
  const std::span<const std::uint32_t> indices = s.frame_indices(f);
  const auto for_each_spike = [&](auto visit) {
    std::size_t channel = 0, channel_start = 0;
    for (std::size_t k = 0; k < indices.size(); ++k) {
      while (indices[k] >= channel_start + plane)
        ++channel, channel_start += plane;
      visit(k, channel, indices[k] - channel_start);
    }
  };
  for_each_spike([&](std::size_t, std::size_t, std::size_t pixel) { ++next[pixel + 1]; });
  for (std::size_t q = 1; q <= plane; ++q)
    next[q] += next[q - 1];
  by_pixel.channels.resize(indices.size());
  by_pixel.levels.resize(with_levels ? indices.size() : 0);
  const std::int8_t* levels = with_levels ? s.levels.data() + s.offsets[f] : nullptr;
  for_each_spike([&](std::size_t k, std::size_t channel, std::size_t pixel) {
    const std::uint32_t slot = next[pixel]++;
    by_pixel.channels[slot] = static_cast<std::uint32_t>(channel);
    if (levels) by_pixel.levels[slot] = levels[k];
  });
  // Each pixel's slot now points past its last spike, which is where the next pixel's start:
  // shift them back by one.
  std::copy_backward(next.begin(), next.end() - 1, next.end());
  next[0] = 0;
  return by_pixel;
}

Conv2d::FrameSpikes Conv2d::sort_spikes(const SpikeTrain& s, std::size_t f) const {
  FrameSpikes sorted;
  if (gathers()) {
    sorted.by_pixel = spikes_by_pixel(s, f);
  } else {
    sorted.by_row = bucket_by_row(s, f);
  }
  return sorted;
}

std::uint64_t Conv2d::output_row(const FrameSpikes& frame, std::size_t oy, float amplitude,
                                 std::vector<std::uint64_t>& bounds, float* block) const {
  return gathers() ? gather_row(frame.by_pixel, oy, amplitude, bounds, block)
                   : scatter_row(frame.by_row, oy, amplitude, block);
}

std::uint64_t Conv2d::gather_row(const PixelSpikes& frame, std::size_t oy, float amplitude,
                                 std::vector<std::uint64_t>& bounds, float* block) const {
  // Output pixel (oy, ox) reads input pixel (oy * stride - padding, ox * stride - padding):
  // its spikes, read where they are, are the row's events.
  const std::size_t stride = pointwise_.chunks() + 1;
  bounds.resize(out_width_ * stride);
  const std::size_t iy = oy * p_.stride_h;
  const bool row_inside = iy >= p_.padding_h && iy - p_.padding_h < height_;
  std::uint64_t events = 0;
  for (std::size_t ox = 0; ox < out_width_; ++ox) {
    const std::size_t ix = ox * p_.stride_w;
    std::uint64_t begin = 0, end = 0;
    if (row_inside && ix >= p_.padding_w && ix - p_.padding_w < width_) {
      const std::size_t q = (iy - p_.padding_h) * width_ + ix - p_.padding_w;
      begin = frame.start[q];
      end = frame.start[q + 1];
    }
    events += end - begin;
    pointwise_.chunk_bounds(frame.channels.data(), begin, end, 0, bounds.data() + ox * stride);
  }
  const EventMatrix::ChunkedRows rows{frame.channels.data(),
                                      frame.levels.empty() ? nullptr : frame.levels.data(),
                                      bounds.data(), nullptr, 0};
  for (std::size_t tile = 0; tile < pointwise_.tiles(); ++tile) {
    pointwise_.sum_rows(rows, out_width_, tile, amplitude, bias_.data(),
                        block + tile * EventMatrix::kTile, p_.out_channels);
  }
  return events * p_.out_channels;
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
                                                       float amplitude, float* accumulator) const {
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
  // The amplitude and the bias, in place.
  for (std::size_t ox = 0; ox < out_width_; ++ox) {
    for (std::size_t o = 0; o < channels; ++o)
      accumulator[ox * channels + o] = amplitude * accumulator[ox * channels + o] + bias_[o];
  }
  return acs;
}

void Conv2d::forward_depthwise(const Value& x, Value& y) const {
  const std::size_t channels = p_.out_channels, plane = height_ * width_;
  const std::size_t out_plane = out_height_ * out_width_;
  const std::size_t padded_width = width_ + 2 * p_.padding_w;
  const std::size_t padded_size = (height_ + 2 * p_.padding_h) * padded_width;
  // Outputs at stride 1 on the padded grid: rows of padded_width, the last kW - 1 of each junk.
  const std::size_t grid_rows = height_ + 2 * p_.padding_h - p_.kernel_h + 1;
  const std::size_t grid = grid_rows * padded_width;
#pragma omp parallel
  {
    // kW - 1 zeros past the end: the last grid row's junk outputs read them.
    std::vector<float> padded(padded_size + p_.kernel_w, 0.0f), sums(grid);
    std::vector<float> expanded(x.is_spikes() ? plane : 0);
#pragma omp for schedule(dynamic, 4)
    for (std::size_t item = 0; item < y.frames() * channels; ++item) {
      const std::size_t f = item / channels, c = item % channels;
      const float* source = x.dense.data() + item * plane;
      if (x.is_spikes()) {
        expand_rows(*x.spikes, f, c, 1, 0, height_, expanded.data());
        source = expanded.data();
      }
      float* interior = padded.data() + p_.padding_h * padded_width + p_.padding_w;
      for (std::size_t iy = 0; iy < height_; ++iy)
        std::copy_n(source + iy * width_, width_, interior + iy * padded_width);
      depthwise_plane(padded.data(), weight_.data() + c * p_.kernel_h * p_.kernel_w, bias_[c], grid,
                      padded_width, sums.data());
      float* out = y.dense.data() + item * out_plane;
      for (std::size_t oy = 0; oy < out_height_; ++oy) {
        const float* row = sums.data() + oy * p_.stride_h * padded_width;
        for (std::size_t ox = 0; ox < out_width_; ++ox)
          out[oy * out_width_ + ox] = row[ox * p_.stride_w];
      }
    }
  }
}

std::uint64_t Conv2d::event_accumulates(const SpikeTrain& s) const {
  const std::size_t plane = height_ * width_;
  std::uint64_t acs = 0;
  for (std::size_t f = 0; f < s.frames(); ++f) {
    std::size_t channel_start = 0;  // stepped forwards: no division, no branch per row
    for (const std::uint32_t index : s.frame_indices(f)) {
      while (index >= channel_start + plane)
        channel_start += plane;
      acs += outputs_reached_[index - channel_start];
    }
  }
  return acs * (p_.out_channels / p_.groups);
}

SNNSIM_VECTOR_CLONES void Conv2d::depthwise_plane(const float* padded, const float* taps,
                                                  float bias, std::size_t grid,
                                                  std::size_t padded_width, float* sums) const {
  // Each tap is one shift of the whole padded plane: one long loop, however narrow the rows
  // (14 at T-RevSNN's last levels, which a loop per row could not fill a vector with).
  std::fill_n(sums, grid, bias);
  for (std::size_t ky = 0; ky < p_.kernel_h; ++ky) {
    for (std::size_t kx = 0; kx < p_.kernel_w; ++kx) {
      const float tap = taps[ky * p_.kernel_w + kx];
      const float* __restrict from = padded + ky * padded_width + kx;
      float* __restrict to = sums;
      for (std::size_t i = 0; i < grid; ++i)
        to[i] += tap * from[i];
    }
  }
}

void Conv2d::im2col(const float* channel, long channel_row, std::size_t i, std::size_t first_row,
                    std::size_t rows, float* matrix) const {
  const std::size_t columns = rows * out_width_;  // of the band's matrix
  const long stride = static_cast<long>(p_.stride_w);
  for (std::size_t ky = 0; ky < p_.kernel_h; ++ky) {
    for (std::size_t kx = 0; kx < p_.kernel_w; ++kx) {
      float* row = matrix + ((i * p_.kernel_h + ky) * p_.kernel_w + kx) * columns;
      // Outputs ox whose input column ox * stride + shift lies inside: first .. last.
      const long shift = static_cast<long>(kx) - static_cast<long>(p_.padding_w);
      const long first = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
      const long last = std::min(static_cast<long>(out_width_) - 1,
                                 (static_cast<long>(width_) - 1 - shift) / stride);
      for (std::size_t r = 0; r < rows; ++r) {
        float* to = row + r * out_width_;
        const long iy =
            static_cast<long>((first_row + r) * p_.stride_h + ky) - static_cast<long>(p_.padding_h);
        if (iy < 0 || iy >= static_cast<long>(height_) || first > last) {
          std::fill_n(to, out_width_, 0.0f);
          continue;
        }
        const float* from = channel + (iy - channel_row) * static_cast<long>(width_);
        std::fill(to, to + first, 0.0f);
        if (stride == 1) {
          std::copy(from + first + shift, from + last + shift + 1, to + first);
        } else {
          for (long ox = first; ox <= last; ++ox)
            to[ox] = from[ox * stride + shift];
        }
        std::fill(to + last + 1, to + out_width_, 0.0f);
      }
    }
  }
}

void Conv2d::expand_rows(const SpikeTrain& s, std::size_t f, std::size_t first_channel,
                         std::size_t channels, std::size_t first_row, std::size_t rows,
                         float* dense) const {
  const std::size_t plane = height_ * width_, size = rows * width_;
  const std::span<const std::uint32_t> frame = s.frame_indices(f);
  const float amplitude = s.scale(f / s.batch);
  std::fill_n(dense, channels * size, 0.0f);
  auto from = frame.begin();
  for (std::size_t i = 0; i < channels; ++i) {
    const std::size_t start = (first_channel + i) * plane + first_row * width_;
    from = std::lower_bound(from, frame.end(), start);
    for (; from != frame.end() && *from < start + size; ++from) {
      dense[i * size + (*from - start)] =
          amplitude * static_cast<float>(s.level(s.offsets[f] + (from - frame.begin())));
    }
  }
}

std::pair<std::size_t, std::size_t> Conv2d::dense_bands(std::size_t frames, bool fused) const {
  const std::size_t patch = (p_.in_channels / p_.groups) * p_.kernel_h * p_.kernel_w;
  // Fused with neurons, the band's outputs must stay in cache too.
  const std::size_t column_bytes =
      (std::max(patch, fused ? p_.out_channels / p_.groups : 0)) * sizeof(float);
  // Bands of output rows whose patch matrix fits in a quarter of the L2 cache, next to the
  // SGEMM's packed weights: a whole frame's (21 MB for Spikformer's second SPS convolution)
  // went through memory. But at least 512 columns: narrower SGEMMs ran slower than the cache
  // misses they saved (Spikformer's SPS, one thread: 1.3x faster than whole frames with
  // both rules).
  constexpr std::size_t kBandBytes = std::size_t{512} << 10;
  constexpr std::size_t kMinColumns = 512;
  // And at least one band per thread: a batch of one, run column by column, has one frame.
  const std::size_t threads = static_cast<std::size_t>(omp_get_max_threads());
  const std::size_t per_frame = (threads + frames * p_.groups - 1) / (frames * p_.groups);
  const std::size_t band_rows =
      std::min({out_height_, (out_height_ + per_frame - 1) / per_frame,
                std::max({kBandBytes / (column_bytes * out_width_),
                          (kMinColumns + out_width_ - 1) / out_width_, std::size_t{1}})});
  return {band_rows, (out_height_ + band_rows - 1) / band_rows};
}

void Conv2d::forward_dense(const Value& x, float* out, BandSpikes* spikes) const {
  const std::size_t frames = x.frames();
  const std::size_t in_per_group = p_.in_channels / p_.groups;
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  const std::size_t patch = in_per_group * p_.kernel_h * p_.kernel_w;
  const std::size_t out_plane = out_height_ * out_width_, plane = height_ * width_;
  const std::size_t in_frame = p_.in_channels * plane, out_frame = p_.out_channels * out_plane;
  // A 1x1 convolution of stride 1 without padding reads its input as the patch matrix.
  const bool pointwise = patch == in_per_group && p_.stride_h == 1 && p_.stride_w == 1 &&
                         p_.padding_h == 0 && p_.padding_w == 0;
  // Not a structured binding: clang 14 (the fuzzers' compiler) cannot name one in an OpenMP
  // region.
  const std::pair<std::size_t, std::size_t> banding = dense_bands(frames, spikes != nullptr);
  const std::size_t band_rows = banding.first, bands = banding.second;
  // The input rows that a band of output rows reads: from first_input_row(its first row) on,
  // at most band_input_rows.
  const auto first_input_row = [&](std::size_t first_row) {
    return std::max(0L,
                    static_cast<long>(first_row * p_.stride_h) - static_cast<long>(p_.padding_h));
  };
  const std::size_t band_input_rows =
      std::min(height_, (band_rows - 1) * p_.stride_h + p_.kernel_h);
#pragma omp parallel
  {
    std::vector<float> matrix(pointwise ? 0 : patch * band_rows * out_width_);
    // Spikes are expanded band by band, the input rows each reads: the whole input expanded
    // at once (51 MB for T-RevSNN's pwconv2 at batch 16) had set a run's peak memory.
    std::vector<float> expanded(x.is_spikes() ? in_per_group * band_input_rows * width_ : 0);
    // The band's outputs, and its spikes as compacted, before they are copied at their size.
    std::vector<float> band(spikes ? out_per_group * band_rows * out_width_ : 0);
    std::vector<std::uint32_t> compacted(spikes ? band.size() + 16 : 0);
#pragma omp for schedule(dynamic, 1)
    for (std::size_t item = 0; item < frames * p_.groups * bands; ++item) {
      const std::size_t f = item / (p_.groups * bands), g = item / bands % p_.groups;
      const std::size_t first_row = item % bands * band_rows;
      const std::size_t rows = std::min(band_rows, out_height_ - first_row);
      const std::size_t columns = rows * out_width_, first_column = first_row * out_width_;
      // The group's input channels, channel_size apart, each from input row channel_row on.
      // (Spikes have no dense values to offset: their rows are expanded below.)
      const float* group_in = x.is_spikes()
                                  ? expanded.data()
                                  : x.dense.data() + f * in_frame + g * in_per_group * plane;
      std::size_t channel_size = plane;
      long channel_row = 0;
      if (x.is_spikes()) {
        channel_row = first_input_row(first_row);
        const std::size_t input_rows =
            std::min(height_ - static_cast<std::size_t>(channel_row), band_input_rows);
        channel_size = input_rows * width_;
        expand_rows(*x.spikes, f, g * in_per_group, in_per_group,
                    static_cast<std::size_t>(channel_row), input_rows, expanded.data());
      }
      const float* b = group_in + first_column - channel_row * static_cast<long>(width_);
      std::size_t ldb = channel_size;
      if (!pointwise) {
        for (std::size_t i = 0; i < in_per_group; ++i)
          im2col(group_in + i * channel_size, channel_row, i, first_row, rows, matrix.data());
        b = matrix.data();
        ldb = columns;
      }
      float* c =
          spikes ? band.data() : out + f * out_frame + g * out_per_group * out_plane + first_column;
      const std::size_t ldc = spikes ? columns : out_plane;
      for (std::size_t o = 0; o < out_per_group; ++o)
        std::fill_n(c + o * ldc, columns, bias_[g * out_per_group + o]);
      // OpenBLAS, called inside a parallel region, runs one thread per call.
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(out_per_group),
                  static_cast<int>(columns), static_cast<int>(patch), 1.0f,
                  weight_.data() + g * out_per_group * patch, static_cast<int>(patch), b,
                  static_cast<int>(ldb), 1.0f, c, static_cast<int>(ldc));
      if (spikes == nullptr) continue;
      std::vector<std::uint32_t>& ends = spikes->channel_end[item];
      ends.resize(out_per_group);
      std::size_t count = 0;
      for (std::size_t o = 0; o < out_per_group; ++o) {
        const std::size_t first = (g * out_per_group + o) * out_plane + first_column;
        count += compact_above(c + o * ldc, columns, ThresholdLayer::kBinaryAbove,
                               static_cast<std::uint32_t>(first), compacted.data() + count);
        ends[o] = static_cast<std::uint32_t>(count);
      }
      spikes->indices[item].assign(compacted.begin(), compacted.begin() + count);
    }
  }
}

}  // namespace snnsim
