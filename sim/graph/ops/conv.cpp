#include "sim/graph/ops/conv.h"

#include <cblas.h>

#include <algorithm>

#include "sim/vector_clones.h"

namespace snnsim {
namespace {

/// For each input position along one axis, the (kernel tap, output position) pairs it reaches:
/// output o sees input o * stride - padding + tap. Computed once, so the event path needs no
/// divisions.
std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> taps_of(std::size_t size,
                                                                          std::size_t kernel,
                                                                          std::size_t stride,
                                                                          std::size_t padding,
                                                                          std::size_t out_size) {
  std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> taps(size);
  for (std::size_t o = 0; o < out_size; ++o) {
    for (std::size_t tap = 0; tap < kernel; ++tap) {
      const std::size_t shifted = o * stride + tap;
      if (shifted < padding || shifted - padding >= size) continue;
      taps[shifted - padding].emplace_back(static_cast<std::uint32_t>(tap),
                                           static_cast<std::uint32_t>(o));
    }
  }
  return taps;
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
  row_taps_ = taps_of(height_, p_.kernel_h, p_.stride_h, p_.padding_h, out_height_);
  column_taps_ = taps_of(width_, p_.kernel_w, p_.stride_w, p_.padding_w, out_width_);
  bias_.assign(p_.out_channels, 0.0f);
  return {p_.out_channels, out_height_, out_width_};
}

std::vector<WeightSpec> Conv2d::weight_specs() const {
  std::vector<WeightSpec> specs{
      {"weight", {p_.out_channels, p_.in_channels / p_.groups, p_.kernel_h, p_.kernel_w}}};
  if (p_.bias) specs.push_back({"bias", {p_.out_channels}});
  return specs;
}

void Conv2d::set_weight(const std::string& name, std::vector<float> values) {
  if (name == "bias") {
    bias_ = std::move(values);
    return;
  }
  weight_ = std::move(values);
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
      for (std::size_t tap = 0; tap < taps; ++tap) {
        scatter_[(channel * taps + tap) * out_per_group + local] =
            weight_[(o * in_per_group + i) * taps + tap];
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
  if (x.is_spikes()) {
    forward_events(*x.spikes, y, counts);
  } else {
    forward_dense(x, y, counts);
  }
  return y;
}

void Conv2d::forward_events(const SpikeTrain& s, Value& y, OpCounts& counts) const {
  std::uint64_t acs = 0;
#pragma omp parallel reduction(+ : acs)
  {
    std::vector<float> accumulator(out_height_ * out_width_ * p_.out_channels);
#pragma omp for schedule(dynamic, 2)
    for (std::size_t f = 0; f < s.frames(); ++f)
      acs += scatter_frame(s, f, accumulator.data(),
                           y.dense.data() + f * out_height_ * out_width_ * p_.out_channels);
  }
  counts.acs += acs;
}

SNNSIM_VECTOR_CLONES std::uint64_t Conv2d::scatter_frame(const SpikeTrain& s, std::size_t f,
                                                         float* accumulator, float* out) const {
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  const std::size_t in_per_group = p_.in_channels / p_.groups;
  const std::size_t plane = height_ * width_, out_plane = out_height_ * out_width_;
  std::fill_n(accumulator, out_plane * p_.out_channels, 0.0f);
  std::uint64_t acs = 0;
  for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k) {
    const std::size_t index = s.indices[k];
    const std::size_t channel = index / plane;
    const std::size_t row = (index % plane) / width_, column = index % width_;
    const std::size_t first_output = (channel / in_per_group) * out_per_group;
    const float level = static_cast<float>(s.level(k));
    for (const auto& [ky, oy] : row_taps_[row]) {
      for (const auto& [kx, ox] : column_taps_[column]) {
        const float* __restrict taps =
            scatter_.data() + ((channel * p_.kernel_h + ky) * p_.kernel_w + kx) * out_per_group;
        float* __restrict into =
            accumulator + (oy * out_width_ + ox) * p_.out_channels + first_output;
        // Binary spikes add their kernel taps; levels scale them.
        if (level == 1.0f) {
          for (std::size_t o = 0; o < out_per_group; ++o)
            into[o] += taps[o];
        } else {
          for (std::size_t o = 0; o < out_per_group; ++o)
            into[o] += level * taps[o];
        }
        acs += out_per_group;
      }
    }
  }
  const float amplitude = s.scale(f / s.batch);
  // [OH][OW][C] to [C][OH][OW] in tiles of 16 pixels: the tile's reads are contiguous and its
  // writes go to one cache line per channel, which stay in L1 until the tile is done.
  constexpr std::size_t kTile = 16;
  for (std::size_t first = 0; first < out_plane; first += kTile) {
    const std::size_t last = std::min(first + kTile, out_plane);
    for (std::size_t o = 0; o < p_.out_channels; ++o) {
      for (std::size_t pixel = first; pixel < last; ++pixel)
        out[o * out_plane + pixel] =
            amplitude * accumulator[pixel * p_.out_channels + o] + bias_[o];
    }
  }
  return acs;
}

void Conv2d::forward_dense(const Value& x, Value& y, OpCounts& counts) const {
  const std::size_t in_per_group = p_.in_channels / p_.groups;
  const std::size_t out_per_group = p_.out_channels / p_.groups;
  const std::size_t taps = p_.kernel_h * p_.kernel_w;
  const std::size_t patch = in_per_group * taps, out_plane = out_height_ * out_width_;
  const std::size_t in_frame = p_.in_channels * height_ * width_;
  const std::size_t out_frame = p_.out_channels * out_plane;
#pragma omp parallel
  {
    std::vector<float> columns(patch * out_plane);
#pragma omp for schedule(dynamic, 1)
    for (std::size_t f = 0; f < x.frames(); ++f) {
      const float* in = x.dense.data() + f * in_frame;
      float* out = y.dense.data() + f * out_frame;
      for (std::size_t g = 0; g < p_.groups; ++g) {
        // im2col: row (i, ky, kx) of the patch matrix holds, per output pixel, the input there.
        for (std::size_t i = 0; i < in_per_group; ++i) {
          const float* channel = in + (g * in_per_group + i) * height_ * width_;
          for (std::size_t ky = 0; ky < p_.kernel_h; ++ky) {
            for (std::size_t kx = 0; kx < p_.kernel_w; ++kx) {
              float* row = columns.data() + ((i * p_.kernel_h + ky) * p_.kernel_w + kx) * out_plane;
              for (std::size_t oy = 0; oy < out_height_; ++oy) {
                const long iy =
                    static_cast<long>(oy * p_.stride_h + ky) - static_cast<long>(p_.padding_h);
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
        float* out_group = out + g * out_per_group * out_plane;
        for (std::size_t o = 0; o < out_per_group; ++o)
          std::fill_n(out_group + o * out_plane, out_plane, bias_[g * out_per_group + o]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(out_per_group),
                    static_cast<int>(out_plane), static_cast<int>(patch), 1.0f,
                    weight_.data() + g * out_per_group * patch, static_cast<int>(patch),
                    columns.data(), static_cast<int>(out_plane), 1.0f, out_group,
                    static_cast<int>(out_plane));
      }
    }
  }
  counts.macs += x.frames() * out_frame * patch;
}

}  // namespace snnsim
