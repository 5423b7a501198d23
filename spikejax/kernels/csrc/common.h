// What the C++ CPU kernels share: vector lanes, fused multiply-add as XLA rounds it, listing a
// row's nonzero entries, adding up selected rows of a matrix, and a runner of independent chunks
// on XLA's intra-op thread pool.
#ifndef SPIKEJAX_KERNELS_COMMON_H_
#define SPIKEJAX_KERNELS_COMMON_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "xla/ffi/api/ffi.h"

namespace spikejax {

namespace ffi = xla::ffi;
using Matrix = ffi::Buffer<ffi::F32, 2>;
using Tensor3 = ffi::Buffer<ffi::F32, 3>;
using MatrixResult = ffi::ResultBuffer<ffi::F32, 2>;
using Tensor3Result = ffi::ResultBuffer<ffi::F32, 3>;
using AnyShape = ffi::Buffer<ffi::F32>;  // any rank
using Int32Scalar = ffi::Buffer<ffi::S32, 0>;

// Eight float lanes; the compiler maps it to the widest vector registers the target has.
typedef float Lanes __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;
constexpr int64_t kTileVectors = 8;  // one tile of 64 outputs held in 8 vector registers
constexpr int64_t kTile = kLanes * kTileVectors;

inline Lanes load(const float* p) {
  Lanes v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

inline void store(float* p, Lanes v) { __builtin_memcpy(p, &v, sizeof(v)); }

// c + a * b for one float, rounded as the kernels' vector expressions `c + a * b` are: once, by a
// fused multiply-add, where the CPU has the instruction (the build contracts such expressions:
// -ffp-contract=fast for the machine's CPU), as XLA's own loops compute it there. Written out
// for scalars, which the compiler does not always contract.
inline float multiply_add(float a, float b, float c) {
#ifdef __FP_FAST_FMAF
  return __builtin_fmaf(a, b, c);
#else
  return c + a * b;
#endif
}

// Positions of the nonzero entries of x[0:n] in ascending order, written to idx; returns their
// number. Sixteen entries are tested at a time, then their set bits are visited.
inline int64_t list_nonzero(const float* x, int64_t n, int32_t* idx) {
  int64_t count = 0;
  for (int64_t start = 0; start < n; start += 16) {
    const int64_t width = std::min<int64_t>(16, n - start);
    uint32_t mask = 0;
    for (int64_t j = 0; j < width; ++j) mask |= uint32_t(x[start + j] != 0.0f) << j;
    while (mask) {
      idx[count++] = int32_t(start + __builtin_ctz(mask));
      mask &= mask - 1;
    }
  }
  return count;
}

// out[0:n_out] += sum over k < n_events, ascending, of val[k] * w[idx[k], 0:n_out] (w row-major
// with rows of n_out), one fused multiply-add per term onto the running sum. A tile of 64
// outputs is summed in registers, what is left one vector, then one float, at a time.
inline void accumulate_rows(const int32_t* __restrict__ idx, const float* __restrict__ val,
                            int64_t n_events, const float* __restrict__ w, int64_t n_out,
                            float* __restrict__ out) {
  int64_t o0 = 0;
  for (; o0 + kTile <= n_out; o0 += kTile) {
    Lanes acc[kTileVectors];
    for (int64_t v = 0; v < kTileVectors; ++v) acc[v] = load(out + o0 + v * kLanes);
    for (int64_t k = 0; k < n_events; ++k) {
      const Lanes a = Lanes{} + val[k];
      const float* wk = w + int64_t(idx[k]) * n_out + o0;
      for (int64_t v = 0; v < kTileVectors; ++v) acc[v] = acc[v] + a * load(wk + v * kLanes);
    }
    for (int64_t v = 0; v < kTileVectors; ++v) store(out + o0 + v * kLanes, acc[v]);
  }
  for (; o0 + kLanes <= n_out; o0 += kLanes) {
    for (int64_t k = 0; k < n_events; ++k) {
      const Lanes a = Lanes{} + val[k];
      store(out + o0, load(out + o0) + a * load(w + int64_t(idx[k]) * n_out + o0));
    }
  }
  for (; o0 < n_out; ++o0) {
    for (int64_t k = 0; k < n_events; ++k) {
      out[o0] = multiply_add(val[k], w[int64_t(idx[k]) * n_out + o0], out[o0]);
    }
  }
}

// accumulate_rows onto zeros: out[0:n_out] = the sum alone.
inline void sum_rows(const int32_t* __restrict__ idx, const float* __restrict__ val,
                     int64_t n_events, const float* __restrict__ w, int64_t n_out,
                     float* __restrict__ out) {
  std::fill(out, out + n_out, 0.0f);
  accumulate_rows(idx, val, n_events, w, n_out, out);
}

// dst[0:n] += a * src[0:n], each element by one fused multiply-add where the CPU has one.
inline void add_scaled(float* __restrict__ dst, const float* __restrict__ src, float a,
                       int64_t n) {
  const Lanes av = Lanes{} + a;
  int64_t o = 0;
  for (; o + kLanes <= n; o += kLanes) store(dst + o, load(dst + o) + av * load(src + o));
  for (; o < n; ++o) dst[o] = multiply_add(a, src[o], dst[o]);
}

// Chunks 0..n_chunks-1 run by the calling thread and by up to num_threads pool workers, each
// taking the next unclaimed chunk until none is left. The caller then waits only for chunks
// already being run, so a busy pool cannot deadlock it (unstarted workers find nothing to do).
struct Chunks {
  std::atomic<int64_t> next{0};
  int64_t total = 0;
  int64_t done = 0;
  std::mutex mutex;
  std::condition_variable all_done;
};

template <typename Work>
inline void run_chunks(ffi::ThreadPool& pool, int64_t n_chunks, Work work) {
  if (n_chunks <= 0) return;
  auto chunks = std::make_shared<Chunks>();
  chunks->total = n_chunks;
  auto drain = [chunks, work]() {
    for (;;) {
      const int64_t c = chunks->next.fetch_add(1);
      if (c >= chunks->total) return;
      work(c);
      std::lock_guard<std::mutex> lock(chunks->mutex);
      if (++chunks->done == chunks->total) chunks->all_done.notify_all();
    }
  };
  const int64_t helpers = std::min<int64_t>(pool.num_threads(), n_chunks - 1);
  for (int64_t k = 0; k < helpers; ++k) pool.Schedule([drain]() { drain(); });
  drain();
  std::unique_lock<std::mutex> lock(chunks->mutex);
  chunks->all_done.wait(lock, [&] { return chunks->done == chunks->total; });
}

}  // namespace spikejax

#endif  // SPIKEJAX_KERNELS_COMMON_H_
