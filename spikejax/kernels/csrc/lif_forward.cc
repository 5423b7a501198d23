// The forward pass of spikejax.neurons.LIF over T steps on the CPU, as XLA FFI handlers:
//
//   SpikejaxLifForwardF32(x [T, M], v0 [M], beta [M], theta [M]; reset) -> s [T, M], v [M]
//   SpikejaxLifForwardStatesF32(same) -> s [T, M], v [M], v_in [T, M]
//
// For each neuron m (its parameters broadcast to one value per neuron) and step t, the
// arithmetic of LIF.step without input resistance, leak or decayed input:
//
//   h = beta * v + x[t]                 one fused multiply-add where the CPU has one, as XLA
//   s[t] = (h - theta >= 0) ? 1 : 0     Θ(0) = 1 (not strict)
//   v = h - s[t] * theta                reset 0: subtract
//     | h * (1 - s[t])                  reset 1: to zero
//     | h                               reset 2: none
//
// v_in[t] is the membrane entering step t (what the backward pass recomputes each step from).
// This is the one copy of a neuron's update outside spikejax/neurons: tests/test_native_lif.py
// compares it bit for bit with LIF.step, and spikejax.kernels.KERNEL_LIF_FIELDS makes it refuse
// an LIF with an option it was not written for.
// Neurons are independent: chunks of them run on XLA's intra-op thread pool, each over all T.

#include <algorithm>
#include <cstdint>

#include "common.h"

namespace spikejax {
namespace {

constexpr int64_t kNeuronsPerChunk = 512;

enum Reset : int64_t { kSubtract = 0, kZero = 1, kNone = 2 };

template <Reset kReset, bool kStates>
void lif_neurons(const float* __restrict__ x, const float* __restrict__ beta,
                 const float* __restrict__ theta, float* __restrict__ v, float* __restrict__ s,
                 float* __restrict__ v_in, int64_t steps, int64_t n, int64_t m0, int64_t m1) {
  // The buffers never overlap (XLA hands each its own): restrict lets the loop vectorize.
  for (int64_t t = 0; t < steps; ++t) {
    const float* __restrict__ xt = x + t * n;
    float* __restrict__ st = s + t * n;
    float* __restrict__ vt = kStates ? v_in + t * n : nullptr;
    for (int64_t m = m0; m < m1; ++m) {
      if (kStates) vt[m] = v[m];
      const float h = multiply_add(beta[m], v[m], xt[m]);
      const float spike = (h - theta[m] >= 0.0f) ? 1.0f : 0.0f;
      st[m] = spike;
      if (kReset == kSubtract) v[m] = h - spike * theta[m];
      if (kReset == kZero) v[m] = h * (1.0f - spike);
      if (kReset == kNone) v[m] = h;
    }
  }
}

template <bool kStates>
ffi::Error LifForward(ffi::ThreadPool pool, Matrix x, Vector v0, Vector beta, Vector theta,
                      int64_t reset, MatrixResult s, VectorResult v, float* v_in) {
  const int64_t steps = x.dimensions()[0], n = x.dimensions()[1];
  if (v0.dimensions()[0] != n || beta.dimensions()[0] != n || theta.dimensions()[0] != n) {
    return ffi::Error::InvalidArgument("LIF forward: v0, beta and theta must have M entries");
  }
  if (reset < kSubtract || reset > kNone) {
    return ffi::Error::InvalidArgument("LIF forward: reset must be 0, 1 or 2");
  }
  const float* xp = x.typed_data();
  const float* bp = beta.typed_data();
  const float* tp = theta.typed_data();
  float* sp = s->typed_data();
  float* vp = v->typed_data();
  std::copy(v0.typed_data(), v0.typed_data() + n, vp);
  run_chunks(pool, (n + kNeuronsPerChunk - 1) / kNeuronsPerChunk, [=](int64_t c) {
    const int64_t m0 = c * kNeuronsPerChunk, m1 = std::min(n, m0 + kNeuronsPerChunk);
    auto run = [&](auto kernel) { kernel(xp, bp, tp, vp, sp, v_in, steps, n, m0, m1); };
    if (reset == kSubtract) run(lif_neurons<kSubtract, kStates>);
    if (reset == kZero) run(lif_neurons<kZero, kStates>);
    if (reset == kNone) run(lif_neurons<kNone, kStates>);
  });
  return ffi::Error::Success();
}

ffi::Error LifForwardOnly(ffi::ThreadPool pool, Matrix x, Vector v0, Vector beta, Vector theta,
                          int64_t reset, MatrixResult s, VectorResult v) {
  return LifForward<false>(pool, x, v0, beta, theta, reset, s, v, nullptr);
}

ffi::Error LifForwardStates(ffi::ThreadPool pool, Matrix x, Vector v0, Vector beta, Vector theta,
                            int64_t reset, MatrixResult s, VectorResult v, MatrixResult v_in) {
  return LifForward<true>(pool, x, v0, beta, theta, reset, s, v, v_in->typed_data());
}

}  // namespace
}  // namespace spikejax

using spikejax::LifForwardOnly;
using spikejax::LifForwardStates;
using spikejax::Matrix;
using spikejax::Vector;

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxLifForwardF32, LifForwardOnly,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Matrix>()
                                  .Arg<Vector>()
                                  .Arg<Vector>()
                                  .Arg<Vector>()
                                  .Attr<int64_t>("reset")
                                  .Ret<Matrix>()
                                  .Ret<Vector>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxLifForwardStatesF32, LifForwardStates,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Matrix>()
                                  .Arg<Vector>()
                                  .Arg<Vector>()
                                  .Arg<Vector>()
                                  .Attr<int64_t>("reset")
                                  .Ret<Matrix>()
                                  .Ret<Vector>()
                                  .Ret<Matrix>());
