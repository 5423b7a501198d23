// Event-driven products for binary or sparse inputs on the CPU, as XLA FFI handlers.
//
//   SpikejaxEventMatmulF32(x [rows, in], w [in, out]) -> y [rows, out]
//       y[r, :] = sum over c ascending with x[r, c] != 0 of x[r, c] * w[c, :]
//   SpikejaxEventWgradF32(x [rows, in], g [rows, out]) -> dw [in, out]
//       dw[c, :] = sum over r ascending with x[r, c] != 0 of x[r, c] * g[r, :]
//   SpikejaxCountNonzeroF32(x [any shape]) -> count [] (int32)
//       the number of entries of x that are not 0 (NaN counts, -0 does not): what decides
//       between the events and the dense product, in one pass without an intermediate array
//
// Each sum starts at 0 and adds its terms one at a time in the order stated, in float32, each
// term by a fused multiply-add where the CPU has one (built for the machine's CPU): the order and
// rounding of XLA's loop in spikejax.layers.event_matmul's "loop" method, so that the two agree
// bit for bit. The work is cut into chunks run on XLA's intra-op thread pool; a chunk writes only
// its own rows of the output, so the result does not depend on the threads.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common.h"

namespace spikejax {

namespace {

// Rows [r0, r1) of y = x @ w from the nonzero inputs of each row.
void matmul_rows(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y,
                 int64_t r0, int64_t r1, int64_t n_in, int64_t n_out) {
  std::vector<int32_t> idx(n_in);
  std::vector<float> val(n_in);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * n_in;
    const int64_t n_events = list_nonzero(xr, n_in, idx.data());
    for (int64_t k = 0; k < n_events; ++k) val[k] = xr[idx[k]];
    sum_rows(idx.data(), val.data(), n_events, w, n_out, y + r * n_out);
  }
}

// Rows [c0, c1) of dw = x^T @ g. Rows of x are taken in blocks of kBlockRows (their rows of g
// stay in cache: 256 KB at 256 outputs); within a block, each input's events are bucketed, and
// then each input's row of dw is updated tile by tile in registers: loaded, added to in ascending
// row order, stored. The larger the block, the more events share one load and store of a row of
// dw (at 5 % activity, 13 instead of 3 with blocks of 64 rows).
constexpr int64_t kBlockRows = 256;

void wgrad_rows(const float* __restrict__ x, const float* __restrict__ g, float* __restrict__ dw,
                int64_t rows, int64_t c0, int64_t c1, int64_t n_in, int64_t n_out) {
  const int64_t width = c1 - c0;
  std::fill(dw + c0 * n_out, dw + c1 * n_out, 0.0f);
  std::vector<int32_t> idx(width), count(width);
  std::vector<int32_t> bucket_rows(width * kBlockRows);
  std::vector<float> bucket_values(width * kBlockRows);
  for (int64_t b0 = 0; b0 < rows; b0 += kBlockRows) {
    std::fill(count.begin(), count.end(), 0);
    for (int64_t r = b0; r < std::min(rows, b0 + kBlockRows); ++r) {
      const float* xr = x + r * n_in + c0;
      const int64_t n_events = list_nonzero(xr, width, idx.data());
      for (int64_t k = 0; k < n_events; ++k) {
        const int64_t slot = idx[k] * kBlockRows + count[idx[k]]++;
        bucket_rows[slot] = int32_t(r);
        bucket_values[slot] = xr[idx[k]];
      }
    }
    for (int64_t c = 0; c < width; ++c) {
      const int64_t n_events = count[c];
      if (n_events == 0) continue;
      const int32_t* rs = bucket_rows.data() + c * kBlockRows;
      const float* vs = bucket_values.data() + c * kBlockRows;
      accumulate_rows(rs, vs, n_events, g, n_out, dw + (c0 + c) * n_out);
    }
  }
}

ffi::Error EventMatmul(ffi::ThreadPool pool, Matrix x, Matrix w, MatrixResult y) {
  const int64_t rows = x.dimensions()[0], n_in = x.dimensions()[1], n_out = w.dimensions()[1];
  if (w.dimensions()[0] != n_in) {
    return ffi::Error::InvalidArgument("event matmul: x and w do not chain");
  }
  constexpr int64_t kRowsPerChunk = 32;
  const float* xp = x.typed_data();
  const float* wp = w.typed_data();
  float* yp = y->typed_data();
  run_chunks(pool, (rows + kRowsPerChunk - 1) / kRowsPerChunk, [=](int64_t c) {
    const int64_t r0 = c * kRowsPerChunk;
    matmul_rows(xp, wp, yp, r0, std::min(rows, r0 + kRowsPerChunk), n_in, n_out);
  });
  return ffi::Error::Success();
}

ffi::Error EventWgrad(ffi::ThreadPool pool, Matrix x, Matrix g, MatrixResult dw) {
  const int64_t rows = x.dimensions()[0], n_in = x.dimensions()[1], n_out = g.dimensions()[1];
  if (g.dimensions()[0] != rows) {
    return ffi::Error::InvalidArgument("event weight gradient: x and g differ in rows");
  }
  // One chunk of inputs (rows of dw) per thread: each chunk reads all of g once, so fewer
  // chunks read it fewer times (11 chunks of 64 inputs took 2.5x as long at 700 x 256).
  const int64_t n_threads = std::max<int64_t>(1, pool.num_threads());
  const int64_t per_chunk = std::max<int64_t>(16, (n_in + n_threads - 1) / n_threads);
  const int64_t n_chunks = (n_in + per_chunk - 1) / per_chunk;
  const float* xp = x.typed_data();
  const float* gp = g.typed_data();
  float* dp = dw->typed_data();
  run_chunks(pool, n_chunks, [=](int64_t c) {
    const int64_t c0 = c * per_chunk;
    wgrad_rows(xp, gp, dp, rows, c0, std::min(n_in, c0 + per_chunk), n_in, n_out);
  });
  return ffi::Error::Success();
}

// Entries counted per chunk; the chunks' counts are added in order after all have run.
constexpr int64_t kCountChunk = int64_t(1) << 18;

ffi::Error CountNonzero(ffi::ThreadPool pool, AnyShape x, ffi::Result<Int32Scalar> count) {
  const int64_t n = x.element_count();
  if (n > INT32_MAX) {
    return ffi::Error::InvalidArgument("count nonzero: more than 2^31 - 1 entries");
  }
  const float* xp = x.typed_data();
  const int64_t n_chunks = (n + kCountChunk - 1) / kCountChunk;
  std::vector<int32_t> counts(n_chunks, 0);
  int32_t* cp = counts.data();
  run_chunks(pool, n_chunks, [=](int64_t c) {
    const int64_t end = std::min(n, (c + 1) * kCountChunk);
    int32_t k = 0;  // a plain loop: the compiler turns it into vector compares and adds
    for (int64_t i = c * kCountChunk; i < end; ++i) k += xp[i] != 0.0f;
    cp[c] = k;
  });
  int32_t total = 0;
  for (int64_t c = 0; c < n_chunks; ++c) total += counts[c];
  *count->typed_data() = total;
  return ffi::Error::Success();
}

}  // namespace
}  // namespace spikejax

using spikejax::AnyShape;
using spikejax::CountNonzero;
using spikejax::EventMatmul;
using spikejax::EventWgrad;
using spikejax::Int32Scalar;
using spikejax::Matrix;

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxEventMatmulF32, EventMatmul,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Matrix>()
                                  .Arg<Matrix>()
                                  .Ret<Matrix>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxEventWgradF32, EventWgrad,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Matrix>()
                                  .Arg<Matrix>()
                                  .Ret<Matrix>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxCountNonzeroF32, CountNonzero,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<AnyShape>()
                                  .Ret<Int32Scalar>());
