// What the C++ CPU kernels share: vector lanes, fused multiply-add as XLA rounds it, and a
// runner of independent chunks on XLA's intra-op thread pool.
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
