#pragma once
// Kernel bodies of layer graphs on a device (sim/graph/device_graph.h), written in the
// kernels/grid.h vocabulary so that each runs as a CUDA kernel and, unchanged, on the CPU under
// emulation, where the tests compare it with the CPU operators.
//
// Every value is a dense float buffer [T][B][features] (spikes as level x amplitude, 0
// elsewhere). Each body is one thread per output element (per (sample, feature) for neuron
// layers, which loop over the T steps in registers), in grid-stride loops. Where the CPU
// operator computes the same thing on dense values (pooling, neuron layers, element-wise ops),
// the body repeats its floating-point operations in the same order, so the results are the same
// bits: with spikes equal in, spikes equal out.
//
// Counts (spikes per step, accumulates of spike-driven layers) are integer sums: each thread
// adds up what its elements give, then does one atomic add, so a reduction costs one atomic per
// thread (per step for spike counts), not one per element.
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/grid.h"

namespace snnsim {

/// torch.round: half to even, the default rounding mode (as sim/graph/neurons.cpp).
SNN_HD float round_half_even(float x) {
#ifdef __CUDA_ARCH__
  return rintf(x);
#else
  return std::nearbyint(x);
#endif
}

/// out[k] = values[(k / inner) % count] for k < size: biases broadcast over the pixels of a
/// channel (inner = pixels) or over the rows of a linear layer (inner = 1).
struct BroadcastChannelsKernel {
  const float* values;
  std::uint64_t inner, count;
  float* out;
  std::uint64_t size;

  SNN_HD void operator()(GridIndex g) const {
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride())
      out[k] = values[(k / inner) % count];
  }
};

/// The geometry of a convolution or pooling window over [C, H, W] frames.
struct WindowGeometry {
  std::uint64_t channels, height, width;
  std::uint64_t kernel_h, kernel_w, stride_h, stride_w, padding_h, padding_w;
  std::uint64_t out_height, out_width;

  SNN_HD std::uint64_t plane() const { return height * width; }
  SNN_HD std::uint64_t out_plane() const { return out_height * out_width; }
  /// The input row of output row `oy` at tap `ky` (negative or >= height: padding).
  SNN_HD std::int64_t input_row(std::uint64_t oy, std::uint64_t ky) const {
    return static_cast<std::int64_t>(oy * stride_h + ky) - static_cast<std::int64_t>(padding_h);
  }
  SNN_HD std::int64_t input_column(std::uint64_t ox, std::uint64_t kx) const {
    return static_cast<std::int64_t>(ox * stride_w + kx) - static_cast<std::int64_t>(padding_w);
  }
  SNN_HD bool inside(std::int64_t y, std::int64_t x) const {
    return y >= 0 && x >= 0 && y < static_cast<std::int64_t>(height) &&
           x < static_cast<std::int64_t>(width);
  }
};

/// im2col of `frames` frames: columns[f][c][ky][kx][oy][ox] = the input under tap (ky, kx) of
/// output pixel (oy, ox), 0 in the padding. Rows (c, ky, kx) of one group are contiguous, so
/// group g's patch matrix is one block of the frame's (the CPU's per-group layout).
struct Im2colKernel {
  const float* input;  ///< [frames][C][H][W]
  float* columns;      ///< [frames][C kH kW][OH OW]
  WindowGeometry w;
  std::uint64_t frames;

  SNN_HD void operator()(GridIndex g) const {
    const std::uint64_t taps = w.kernel_h * w.kernel_w, rows = w.channels * taps;
    const std::uint64_t out_plane = w.out_plane(), size = frames * rows * out_plane;
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride()) {
      const std::uint64_t pixel = k % out_plane, row = (k / out_plane) % rows;
      const std::uint64_t f = k / (out_plane * rows);
      const std::uint64_t c = row / taps, ky = (row % taps) / w.kernel_w, kx = row % w.kernel_w;
      const std::int64_t y = w.input_row(pixel / w.out_width, ky);
      const std::int64_t x = w.input_column(pixel % w.out_width, kx);
      columns[k] =
          w.inside(y, x) ? input[(f * w.channels + c) * w.plane() + y * w.width + x] : 0.0f;
    }
  }
};

/// How many (tap, output position) pairs input position `position` reaches along one axis:
/// output o sees input o * stride - padding + tap.
SNN_HD std::uint64_t taps_reaching(std::uint64_t position, std::uint64_t kernel,
                                   std::uint64_t stride, std::uint64_t padding,
                                   std::uint64_t out_size) {
  std::uint64_t reached = 0;
  for (std::uint64_t tap = 0; tap < kernel; ++tap) {
    const std::uint64_t shifted = position + padding;
    if (shifted < tap || (shifted - tap) % stride != 0) continue;
    if ((shifted - tap) / stride < out_size) ++reached;
  }
  return reached;
}

/// The accumulates the CPU's event-driven convolution does for these spikes: per spike, its
/// kernel taps inside the output times the output channels of its group. Adds the sum into
/// *total.
struct ConvolutionAccumulatesKernel {
  const float* input;  ///< [frames][C][H][W], spikes
  WindowGeometry w;
  std::uint64_t frames, outputs_per_group;
  std::uint64_t* total;

  SNN_HD void operator()(GridIndex g) const {
    const std::uint64_t size = frames * w.channels * w.plane();
    std::uint64_t sum = 0;
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride()) {
      if (input[k] == 0.0f) continue;
      const std::uint64_t pixel = k % w.plane();
      sum += taps_reaching(pixel / w.width, w.kernel_h, w.stride_h, w.padding_h, w.out_height) *
             taps_reaching(pixel % w.width, w.kernel_w, w.stride_w, w.padding_w, w.out_width) *
             outputs_per_group;
    }
    if (sum != 0) atomic_add(total, sum);
  }
};

enum class PoolOperation : std::uint8_t { max, average, sum };

/// Max, average or sum pooling, one thread per output element, in the CPU operator's order.
/// Padding counts as -inf for max and as zero for sums (PyTorch's count_include_pad). Max
/// pooling of non-negative spikes starts from 0 instead of -inf: the CPU's event-driven path
/// raises windows from 0, and the maximum of levels is the output spike's level.
struct Pool2dKernel {
  const float* input;
  float* output;
  WindowGeometry w;
  std::uint64_t frames;
  PoolOperation operation;
  bool spikes;

  SNN_HD void operator()(GridIndex g) const {
    const std::uint64_t out_plane = w.out_plane(), size = frames * w.channels * out_plane;
    const float window = static_cast<float>(w.kernel_h * w.kernel_w);
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride()) {
      const std::uint64_t pixel = k % out_plane, plane_index = k / out_plane;
      const float* plane = input + plane_index * w.plane();
      const std::uint64_t oy = pixel / w.out_width, ox = pixel % w.out_width;
      float best = spikes ? 0.0f : -std::numeric_limits<float>::infinity(), sum = 0.0f;
      for (std::uint64_t ky = 0; ky < w.kernel_h; ++ky) {
        const std::int64_t y = w.input_row(oy, ky);
        for (std::uint64_t kx = 0; kx < w.kernel_w; ++kx) {
          const std::int64_t x = w.input_column(ox, kx);
          if (!w.inside(y, x)) continue;
          const float v = plane[y * w.width + x];
          best = best < v ? v : best;  // std::max(best, v)
          sum += v;
        }
      }
      output[k] = operation == PoolOperation::max   ? best
                  : operation == PoolOperation::sum ? sum
                                                    : sum / window;
    }
  }
};

/// [C, H, W] -> [C]: one thread per (frame, channel) summing its plane in order.
struct GlobalAveragePoolKernel {
  const float* input;
  float* output;
  std::uint64_t planes, plane;  ///< planes = frames x channels

  SNN_HD void operator()(GridIndex g) const {
    for (std::uint64_t k = g.global_thread(); k < planes; k += g.thread_stride()) {
      const float* values = input + k * plane;
      float sum = 0.0f;
      for (std::uint64_t i = 0; i < plane; ++i)
        sum += values[i];
      output[k] = sum / static_cast<float>(plane);
    }
  }
};

/// Nearest-neighbour upsampling by an integer factor, one thread per output element.
struct UpsampleKernel {
  const float* input;
  float* output;
  std::uint64_t planes, height, width, scale;  ///< planes = frames x channels

  SNN_HD void operator()(GridIndex g) const {
    const std::uint64_t out_w = width * scale, out_plane = height * scale * out_w;
    const std::uint64_t size = planes * out_plane;
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride()) {
      const std::uint64_t pixel = k % out_plane, plane_index = k / out_plane;
      const std::uint64_t oy = pixel / out_w, ox = pixel % out_w;
      output[k] = input[plane_index * height * width + (oy / scale) * width + ox / scale];
    }
  }
};

struct AddKernel {
  const float *a, *b;
  float* output;
  std::uint64_t size;

  SNN_HD void operator()(GridIndex g) const {
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride())
      output[k] = a[k] + b[k];
  }
};

/// x scale[c] (a channel scale), or x scale[c] + shift[c] (an unfolded BatchNorm), with c the
/// channel of element k: (k % features) / per_channel.
struct ChannelAffineKernel {
  const float* input;
  float* output;
  const float* scale;
  const float* shift;  ///< null: none
  std::uint64_t size, features, per_channel;

  SNN_HD void operator()(GridIndex g) const {
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride()) {
      const std::uint64_t c = (k % features) / per_channel;
      output[k] = shift == nullptr ? input[k] * scale[c] : input[k] * scale[c] + shift[c];
    }
  }
};

enum class LifCharge : std::uint8_t { integrate, decay_input, decay_membrane };

/// LIF and IF layers, one thread per (sample, feature) stepping through the T timesteps with
/// its membrane in a register: spikingjelly's charge, fire, reset, in the order of operations
/// of sim/graph/neurons.cpp (charge_fire_reset). Writes 1 where it fires, 0 elsewhere.
struct LifLayerKernel {
  const float* input;        ///< [T][B][n]
  float* output;             ///< [T][B][n]
  std::uint64_t frame_size;  ///< B x n: one timestep
  std::uint64_t steps;
  LifCharge charge;
  float tau, threshold, reset;  ///< reset: v_reset, or 0 (the rest) with a soft reset
  bool hard;

  SNN_HD void operator()(GridIndex g) const {
    for (std::uint64_t i = g.global_thread(); i < frame_size; i += g.thread_stride()) {
      float v = reset;
      for (std::uint64_t t = 0; t < steps; ++t) {
        const float x = input[t * frame_size + i];
        float h;
        if (charge == LifCharge::integrate) {
          h = v + x;
        } else if (charge == LifCharge::decay_input) {
          h = v + (x - (v - reset)) / tau;
        } else {
          h = v - (v - reset) / tau + x;
        }
        const bool spike = h >= threshold;
        const float after = hard ? reset : h - threshold;
        v = spike ? after : h;
        output[t * frame_size + i] = spike ? 1.0f : 0.0f;
      }
    }
  }
};

/// Threshold (levels 1) and multi-level (levels D) layers: round(clamp(u, 0, D)), as the CPU's.
struct ThresholdLayerKernel {
  const float* input;
  float* output;
  std::uint64_t size;
  float top;  ///< D

  SNN_HD void operator()(GridIndex g) const {
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride()) {
      const float u = input[k];
      const float clamped = u < 0.0f ? 0.0f : (top < u ? top : u);  // std::clamp(u, 0, top)
      output[k] = static_cast<float>(static_cast<int>(round_half_even(clamped)));
    }
  }
};

/// Spikes (non-zero elements) per timestep into counts[t]; elements of a thread's grid-stride
/// loop come in increasing timesteps, so it adds once per timestep it visits.
struct CountSpikesPerStepKernel {
  const float* values;  ///< [T][frame_size]
  std::uint64_t frame_size, steps;
  std::uint64_t* counts;  ///< [T], zeroed

  SNN_HD void operator()(GridIndex g) const {
    const std::uint64_t size = frame_size * steps;
    std::uint64_t step = 0, count = 0;
    for (std::uint64_t k = g.global_thread(); k < size; k += g.thread_stride()) {
      const std::uint64_t t = k / frame_size;
      if (t != step) {
        if (count != 0) atomic_add(counts + step, count);
        step = t;
        count = 0;
      }
      count += values[k] != 0.0f;
    }
    if (count != 0) atomic_add(counts + step, count);
  }
};

}  // namespace snnsim
