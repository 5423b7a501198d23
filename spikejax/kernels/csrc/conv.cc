// 2-D convolutions on the CPU whose cost follows the nonzero entries of a sparse operand, as XLA
// FFI handlers. Layouts: input x [N, H, W, C] (any zero padding already applied), kernel
// [KH, KW, C, O], output and its cotangent g [N, HO, WO, O], strides (sh, sw) as attributes,
// HO = (H - KH) / sh + 1 (likewise WO). A window position is (i, j, c) for i < KH, j < KW, c < C.
//
//   SpikejaxEventConvF32(x, w [KH, KW, C, O]) -> y [N, HO, WO, O]
//       y[n, p, q, :] = sum over (i, j, c) ascending with x[n, sh p + i, sw q + j, c] != 0
//                       of x[n, sh p + i, sw q + j, c] * w[i, j, c, :]
//   SpikejaxEventConvWgradF32(x, g) -> dw [KH, KW, C, O]
//       dw[i, j, c, :] = sum over (n, p, q) ascending with x[n, sh p + i, sw q + j, c] != 0
//                        of x[n, sh p + i, sw q + j, c] * g[n, p, q, :]
//   SpikejaxConvKernelGradF32(x, g) -> dw [KH, KW, C, O]
//       dw[i, j, c, o] = sum over (n, p, q) ascending with g[n, p, q, o] != 0
//                        of g[n, p, q, o] * x[n, sh p + i, sw q + j, c]
//   SpikejaxConvInputGradF32(g, wt [O, KH, KW, C]) -> dx [N, H, W, C]
//       d[n, p, q, :]  = sum over o ascending with g[n, p, q, o] != 0 of g[n, p, q, o] * wt[o, :]
//       dx[n, y, x, c] = sum over (p, q) ascending with y = sh p + i, x = sw q + j
//                        of d[n, p, q, (i, j, c)]
//
// Products are summed from 0 in the order stated, one fused multiply-add per term where the CPU
// has one; the kernel gradients sum fixed blocks of images separately, then add the blocks' sums
// in order (`wgrad_blocks`). Work is cut into chunks of whole images or of those blocks; a chunk
// writes only its own part of the output, so the results do not depend on the threads.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace spikejax {

namespace {

using Tensor4 = ffi::Buffer<ffi::F32, 4>;
using Tensor4Result = ffi::ResultBuffer<ffi::F32, 4>;

struct Shape {
  int64_t n, h, w, c, kh, kw, o, ho, wo, sh, sw;
};

// The nonzero entries of one image, row by row: row y's entries are [start[y], start[y + 1]) of
// (column, channel, value), in ascending (column, channel).
struct ImageEvents {
  std::vector<int64_t> start;
  std::vector<int32_t> column, channel;
  std::vector<float> value;

  void list(const float* image, int64_t h, int64_t w, int64_t c, std::vector<int32_t>& pos) {
    const int64_t row_size = w * c;
    start.assign(h + 1, 0);
    column.clear();
    channel.clear();
    value.clear();
    pos.resize(row_size);
    for (int64_t y = 0; y < h; ++y) {
      const float* row = image + y * row_size;
      const int64_t count = list_nonzero(row, row_size, pos.data());
      for (int64_t k = 0; k < count; ++k) {
        column.push_back(int32_t(pos[k] / c));
        channel.push_back(int32_t(pos[k] % c));
        value.push_back(row[pos[k]]);
      }
      start[y + 1] = start[y] + count;
    }
  }
};

// Kernel-shaped arrays in "reversed" layout [KH, C, KW, O] with j reversed: entry
// (i, c, KW - 1 - j, o) holds (i, j, c, o). An event at input column x reaches the outputs q
// with sw q + j = x, j < KW; with unit stride those are consecutive, and so are the kernel rows
// they need in this layout: one long multiply-add instead of KW short ones.
inline int64_t reversed_row(const Shape& s, int64_t i, int64_t c, int64_t j) {
  return (i * s.c + c) * s.kw + (s.kw - 1 - j);
}

void to_reversed(const float* __restrict__ w, float* __restrict__ r, const Shape& s) {
  for (int64_t i = 0; i < s.kh; ++i) {
    for (int64_t j = 0; j < s.kw; ++j) {
      for (int64_t c = 0; c < s.c; ++c) {
        const float* from = w + ((i * s.kw + j) * s.c + c) * s.o;
        std::copy_n(from, s.o, r + reversed_row(s, i, c, j) * s.o);
      }
    }
  }
}

// For an event at input column x of kernel row i and channel c, the outputs q it reaches and the
// kernel position each one uses: calls add(q, reversed row) per contiguous run, with the run's
// length in outputs. With unit stride that is one run, q from max(0, x - KW + 1) to
// min(x, WO - 1); otherwise one output at a time.
template <typename Add>
inline void for_outputs(const Shape& s, int64_t i, int64_t c, int64_t x, Add add) {
  if (s.sw == 1) {
    const int64_t q0 = std::max<int64_t>(0, x - s.kw + 1), q1 = std::min<int64_t>(x, s.wo - 1);
    if (q0 <= q1) add(q0, reversed_row(s, i, c, x - q0), q1 - q0 + 1);
    return;
  }
  for (int64_t j = 0; j < s.kw && j <= x; ++j) {
    const int64_t t = x - j;
    if (t % s.sw == 0 && t / s.sw < s.wo) add(t / s.sw, reversed_row(s, i, c, j), int64_t(1));
  }
}

// Output row p of one image: each event of the window's input rows (i ascending, then the row's
// events in ascending column and channel) is added onto the outputs whose window holds it. For
// every output the terms then arrive in ascending (i, j, c), the order stated above.
void event_conv_row(const ImageEvents& events, const float* __restrict__ wr,
                    float* __restrict__ out, const Shape& s, int64_t p) {
  std::fill(out, out + s.wo * s.o, 0.0f);
  for (int64_t i = 0; i < s.kh; ++i) {
    const int64_t y = s.sh * p + i;
    for (int64_t k = events.start[y]; k < events.start[y + 1]; ++k) {
      const float v = events.value[k];
      const auto add = [&](int64_t q, int64_t r, int64_t n) {
        add_scaled(out + q * s.o, wr + r * s.o, v, n * s.o);
      };
      for_outputs(s, i, events.channel[k], events.column[k], add);
    }
  }
}

void input_grad_image(const float* __restrict__ g, const float* __restrict__ wt,
                      float* __restrict__ dx, const Shape& s, std::vector<int32_t>& idx,
                      std::vector<float>& val, std::vector<float>& d) {
  const int64_t window_row = s.kw * s.c, window = s.kh * window_row;
  std::fill(dx, dx + s.h * s.w * s.c, 0.0f);
  for (int64_t p = 0; p < s.ho; ++p) {
    for (int64_t q = 0; q < s.wo; ++q) {
      const float* gr = g + (p * s.wo + q) * s.o;
      const int64_t n_events = list_nonzero(gr, s.o, idx.data());
      if (n_events == 0) continue;  // its d is zero: adding it changes nothing
      for (int64_t k = 0; k < n_events; ++k) val[k] = gr[idx[k]];
      sum_rows(idx.data(), val.data(), n_events, wt, window, d.data());
      for (int64_t i = 0; i < s.kh; ++i) {
        float* to = dx + ((s.sh * p + i) * s.w + s.sw * q) * s.c;
        const float* from = d.data() + i * window_row;
        for (int64_t e = 0; e < window_row; ++e) to[e] += from[e];  // the window's row
      }
    }
  }
}

// Adds one image's part of dw (reversed layout), every kernel position: for each output position
// (p, q) in ascending order, the events of its window. dw stays in cache, and so does the
// image's g.
void wgrad_image(const ImageEvents& events, const float* __restrict__ g, float* __restrict__ dwr,
                 const Shape& s) {
  for (int64_t p = 0; p < s.ho; ++p) {
    const float* gp = g + p * s.wo * s.o;
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t y = s.sh * p + i;
      for (int64_t k = events.start[y]; k < events.start[y + 1]; ++k) {
        const float v = events.value[k];
        const auto add = [&](int64_t q, int64_t r, int64_t n) {
          add_scaled(dwr + r * s.o, gp + q * s.o, v, n * s.o);
        };
        for_outputs(s, i, events.channel[k], events.column[k], add);
      }
    }
  }
}

// Images are summed in kWgradBlocks consecutive blocks (fewer for few images or a large dw),
// each block's partial dw from 0 in ascending (n, p, q); the partial sums are then added in block
// order. The blocks depend on the shapes only, not on the threads.
constexpr int64_t kWgradBlocks = 16;
constexpr int64_t kWgradPartialBytes = int64_t(64) << 20;

int64_t wgrad_blocks(const Shape& s) {
  const int64_t dw_bytes = std::max<int64_t>(1, s.kh * s.kw * s.c * s.o * int64_t(sizeof(float)));
  return std::max<int64_t>(1, std::min({s.n, kWgradBlocks, kWgradPartialBytes / dw_bytes}));
}

// partial[0:size] += the later blocks' partial sums, in block order.
void add_blocks_in_order(float* partial, int64_t blocks, int64_t size) {
  for (int64_t b = 1; b < blocks; ++b) {
    const float* part = partial + b * size;
    for (int64_t e = 0; e < size; ++e) partial[e] += part[e];
  }
}

// Positions of the kernel gradient from g's nonzeros are taken kBlockPositions at a time: their
// windows of x are copied into a block of patch rows, g's events bucketed per output channel, and
// each channel's row of dw^T (layout [O, KH, KW, C]) updated tile by tile in registers.
constexpr int64_t kBlockPositions = 64;

struct PatchBlock {
  std::vector<float> rows;  // [kBlockPositions, KH * KW * C]
  std::vector<int32_t> bucket_rows, count;
  std::vector<float> bucket_values;
  std::vector<int32_t> idx;

  explicit PatchBlock(const Shape& s)
      : rows(kBlockPositions * s.kh * s.kw * s.c), bucket_rows(s.o * kBlockPositions),
        count(s.o), bucket_values(s.o * kBlockPositions), idx(s.o) {}
};

void copy_window(const float* __restrict__ image, float* __restrict__ row, const Shape& s,
                 int64_t p, int64_t q) {
  const int64_t window_row = s.kw * s.c;
  for (int64_t i = 0; i < s.kh; ++i) {  // a window's row is contiguous in the image
    const float* from = image + ((s.sh * p + i) * s.w + s.sw * q) * s.c;
    std::copy_n(from, window_row, row + i * window_row);
  }
}

// Adds images [n0, n1)'s part of dw^T [O, K] from the nonzero entries of g.
void kernel_grad_images(const float* __restrict__ x, const float* __restrict__ g,
                        float* __restrict__ dwt, const Shape& s, int64_t n0, int64_t n1,
                        PatchBlock& block) {
  const int64_t window = s.kh * s.kw * s.c, per_image = s.ho * s.wo;
  const int64_t first = n0 * per_image, last = n1 * per_image;
  for (int64_t b0 = first; b0 < last; b0 += kBlockPositions) {
    std::fill(block.count.begin(), block.count.end(), 0);
    const int64_t b1 = std::min(last, b0 + kBlockPositions);
    for (int64_t r = b0; r < b1; ++r) {
      const float* gr = g + r * s.o;
      const int64_t n_events = list_nonzero(gr, s.o, block.idx.data());
      if (n_events == 0) continue;
      const int64_t n = r / per_image, pq = r % per_image;
      copy_window(x + n * s.h * s.w * s.c, block.rows.data() + (r - b0) * window, s,
                  pq / s.wo, pq % s.wo);
      for (int64_t k = 0; k < n_events; ++k) {
        const int64_t o = block.idx[k];
        const int64_t slot = o * kBlockPositions + block.count[o]++;
        block.bucket_rows[slot] = int32_t(r - b0);
        block.bucket_values[slot] = gr[o];
      }
    }
    for (int64_t o = 0; o < s.o; ++o) {
      if (block.count[o] == 0) continue;
      accumulate_rows(block.bucket_rows.data() + o * kBlockPositions,
                      block.bucket_values.data() + o * kBlockPositions, block.count[o],
                      block.rows.data(), window, dwt + o * window);
    }
  }
}

Shape shape_of(const Tensor4& x, int64_t kh, int64_t kw, int64_t o, int64_t sh, int64_t sw) {
  const auto d = x.dimensions();
  Shape s{d[0], d[1], d[2], d[3], kh, kw, o, 0, 0, sh, sw};
  if (sh > 0 && sw > 0) {  // else `check` refuses the call
    s.ho = (s.h - kh) / sh + 1;
    s.wo = (s.w - kw) / sw + 1;
  }
  return s;
}

ffi::Error check(const Shape& s, int64_t n, int64_t ho, int64_t wo, int64_t o, const char* what) {
  if (s.sh < 1 || s.sw < 1 || s.h < s.kh || s.w < s.kw) {
    return ffi::Error::InvalidArgument(std::string(what) + ": bad strides or kernel size");
  }
  if (n != s.n || ho != s.ho || wo != s.wo || o != s.o) {
    return ffi::Error::InvalidArgument(std::string(what) + ": shapes do not match");
  }
  return ffi::Error::Success();
}

ffi::Error EventConv(ffi::ThreadPool pool, Tensor4 x, Tensor4 w, Tensor4Result y, int64_t sh,
                     int64_t sw) {
  const auto wd = w.dimensions(), yd = y->dimensions();
  const Shape s = shape_of(x, wd[0], wd[1], wd[3], sh, sw);
  if (wd[2] != s.c) return ffi::Error::InvalidArgument("event conv: x and w differ in channels");
  ffi::Error error = check(s, yd[0], yd[1], yd[2], yd[3], "event conv");
  if (error.failure()) return error;
  const float* xp = x.typed_data();
  const float* wp = w.typed_data();
  float* yp = y->typed_data();
  std::vector<float> reversed(s.kh * s.kw * s.c * s.o);
  to_reversed(wp, reversed.data(), s);
  const float* wr = reversed.data();
  run_chunks(pool, s.n, [=](int64_t n) {
    ImageEvents events;
    std::vector<int32_t> pos;
    events.list(xp + n * s.h * s.w * s.c, s.h, s.w, s.c, pos);
    for (int64_t p = 0; p < s.ho; ++p) {
      event_conv_row(events, wr, yp + (n * s.ho + p) * s.wo * s.o, s, p);
    }
  });
  return ffi::Error::Success();
}

ffi::Error EventConvWgrad(ffi::ThreadPool pool, Tensor4 x, Tensor4 g, Tensor4Result dw,
                          int64_t sh, int64_t sw) {
  const auto gd = g.dimensions(), dd = dw->dimensions();
  const Shape s = shape_of(x, dd[0], dd[1], dd[3], sh, sw);
  if (dd[2] != s.c) return ffi::Error::InvalidArgument("event conv wgrad: dw and x channels");
  ffi::Error error = check(s, gd[0], gd[1], gd[2], gd[3], "event conv wgrad");
  if (error.failure()) return error;
  const float* xp = x.typed_data();
  const float* gp = g.typed_data();
  float* dp = dw->typed_data();
  const int64_t size = s.kh * s.kw * s.c * s.o, blocks = wgrad_blocks(s);
  std::vector<float> partial(blocks * size, 0.0f);
  float* pp = partial.data();
  run_chunks(pool, blocks, [=](int64_t b) {
    ImageEvents events;
    std::vector<int32_t> pos;
    for (int64_t n = b * s.n / blocks; n < (b + 1) * s.n / blocks; ++n) {
      events.list(xp + n * s.h * s.w * s.c, s.h, s.w, s.c, pos);
      wgrad_image(events, gp + n * s.ho * s.wo * s.o, pp + b * size, s);
    }
  });
  add_blocks_in_order(pp, blocks, size);
  for (int64_t i = 0; i < s.kh; ++i) {  // back from the reversed layout
    for (int64_t j = 0; j < s.kw; ++j) {
      for (int64_t c = 0; c < s.c; ++c) {
        const float* from = pp + reversed_row(s, i, c, j) * s.o;
        std::copy_n(from, s.o, dp + ((i * s.kw + j) * s.c + c) * s.o);
      }
    }
  }
  return ffi::Error::Success();
}

ffi::Error ConvKernelGrad(ffi::ThreadPool pool, Tensor4 x, Tensor4 g, Tensor4Result dw,
                          int64_t sh, int64_t sw) {
  const auto gd = g.dimensions(), dd = dw->dimensions();
  const Shape s = shape_of(x, dd[0], dd[1], dd[3], sh, sw);
  if (dd[2] != s.c) return ffi::Error::InvalidArgument("conv kernel grad: dw and x channels");
  ffi::Error error = check(s, gd[0], gd[1], gd[2], gd[3], "conv kernel grad");
  if (error.failure()) return error;
  const float* xp = x.typed_data();
  const float* gp = g.typed_data();
  float* dp = dw->typed_data();
  const int64_t window = s.kh * s.kw * s.c, size = window * s.o, blocks = wgrad_blocks(s);
  std::vector<float> partial(blocks * size, 0.0f);  // each block's dw^T [O, KH * KW * C]
  float* pp = partial.data();
  run_chunks(pool, blocks, [=](int64_t b) {
    PatchBlock block(s);
    kernel_grad_images(xp, gp, pp + b * size, s, b * s.n / blocks, (b + 1) * s.n / blocks, block);
  });
  add_blocks_in_order(pp, blocks, size);
  for (int64_t o = 0; o < s.o; ++o) {  // [O, K] -> [K, O]
    for (int64_t k = 0; k < window; ++k) dp[k * s.o + o] = pp[o * window + k];
  }
  return ffi::Error::Success();
}

ffi::Error ConvInputGrad(ffi::ThreadPool pool, Tensor4 g, Tensor4 wt, Tensor4Result dx,
                         int64_t sh, int64_t sw) {
  const auto td = wt.dimensions(), gd = g.dimensions();
  const Shape s = shape_of(*dx, td[1], td[2], td[0], sh, sw);
  if (td[3] != s.c) return ffi::Error::InvalidArgument("conv input grad: wt and dx channels");
  ffi::Error error = check(s, gd[0], gd[1], gd[2], gd[3], "conv input grad");
  if (error.failure()) return error;
  const float* gp = g.typed_data();
  const float* tp = wt.typed_data();
  float* dp = dx->typed_data();
  run_chunks(pool, s.n, [=](int64_t n) {
    std::vector<int32_t> idx(s.o);
    std::vector<float> val(s.o), d(s.kh * s.kw * s.c);
    input_grad_image(gp + n * s.ho * s.wo * s.o, tp, dp + n * s.h * s.w * s.c, s, idx, val, d);
  });
  return ffi::Error::Success();
}

}  // namespace
}  // namespace spikejax

using spikejax::ConvInputGrad;
using spikejax::ConvKernelGrad;
using spikejax::EventConv;
using spikejax::EventConvWgrad;
using Tensor4F32 = xla::ffi::Buffer<xla::ffi::F32, 4>;

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxEventConvF32, EventConv,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Tensor4F32>()
                                  .Arg<Tensor4F32>()
                                  .Ret<Tensor4F32>()
                                  .Attr<int64_t>("stride_h")
                                  .Attr<int64_t>("stride_w"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxEventConvWgradF32, EventConvWgrad,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Tensor4F32>()
                                  .Arg<Tensor4F32>()
                                  .Ret<Tensor4F32>()
                                  .Attr<int64_t>("stride_h")
                                  .Attr<int64_t>("stride_w"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxConvInputGradF32, ConvInputGrad,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Tensor4F32>()
                                  .Arg<Tensor4F32>()
                                  .Ret<Tensor4F32>()
                                  .Attr<int64_t>("stride_h")
                                  .Attr<int64_t>("stride_w"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxConvKernelGradF32, ConvKernelGrad,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Tensor4F32>()
                                  .Arg<Tensor4F32>()
                                  .Ret<Tensor4F32>()
                                  .Attr<int64_t>("stride_h")
                                  .Attr<int64_t>("stride_w"));
