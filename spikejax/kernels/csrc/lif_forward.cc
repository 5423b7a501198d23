// The forward pass of spikejax.neurons.LIF over T steps on the CPU, as XLA FFI handlers:
//
//   SpikejaxLifForwardF32(x [P, T, M], v0 [P, M], beta [P, M], theta [P, M]; reset)
//       -> s [P, T, M], v [P, M]
//   SpikejaxLifForwardStatesF32(same) -> s [P, T, M], v [P, M], v_in [P, T, M]
//
// P independent layers of M neurons (P = 1 for one layer; a vmapped call passes its batch as P,
// in the layout vmap gives it). For each neuron m of layer p (its parameters broadcast to one
// value per neuron) and step t, the
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
// Neurons are independent: chunks of one layer's neurons run on XLA's intra-op thread pool, each
// over all T.

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
ffi::Error LifForward(ffi::ThreadPool pool, Tensor3 x, Matrix v0, Matrix beta, Matrix theta,
                      int64_t reset, Tensor3Result s, MatrixResult v, float* v_in) {
  const int64_t layers = x.dimensions()[0], steps = x.dimensions()[1], n = x.dimensions()[2];
  for (auto* p : {&v0, &beta, &theta}) {
    if (p->dimensions()[0] != layers || p->dimensions()[1] != n) {
      return ffi::Error::InvalidArgument("LIF forward: v0, beta and theta must be [P, M]");
    }
  }
  if (reset < kSubtract || reset > kNone) {
    return ffi::Error::InvalidArgument("LIF forward: reset must be 0, 1 or 2");
  }
  const float* xp = x.typed_data();
  const float* bp = beta.typed_data();
  const float* tp = theta.typed_data();
  float* sp = s->typed_data();
  float* vp = v->typed_data();
  std::copy(v0.typed_data(), v0.typed_data() + layers * n, vp);
  const int64_t per_layer = (n + kNeuronsPerChunk - 1) / kNeuronsPerChunk;
  run_chunks(pool, layers * per_layer, [=](int64_t c) {
    const int64_t p = c / per_layer;
    const int64_t m0 = (c % per_layer) * kNeuronsPerChunk;
    const int64_t m1 = std::min(n, m0 + kNeuronsPerChunk);
    const int64_t series = p * steps * n, neurons = p * n;
    float* states = kStates ? v_in + series : nullptr;
    auto run = [&](auto kernel) {
      kernel(xp + series, bp + neurons, tp + neurons, vp + neurons, sp + series, states, steps,
             n, m0, m1);
    };
    if (reset == kSubtract) run(lif_neurons<kSubtract, kStates>);
    if (reset == kZero) run(lif_neurons<kZero, kStates>);
    if (reset == kNone) run(lif_neurons<kNone, kStates>);
  });
  return ffi::Error::Success();
}

ffi::Error LifForwardOnly(ffi::ThreadPool pool, Tensor3 x, Matrix v0, Matrix beta, Matrix theta,
                          int64_t reset, Tensor3Result s, MatrixResult v) {
  return LifForward<false>(pool, x, v0, beta, theta, reset, s, v, nullptr);
}

ffi::Error LifForwardStates(ffi::ThreadPool pool, Tensor3 x, Matrix v0, Matrix beta, Matrix theta,
                            int64_t reset, Tensor3Result s, MatrixResult v, Tensor3Result v_in) {
  return LifForward<true>(pool, x, v0, beta, theta, reset, s, v, v_in->typed_data());
}

}  // namespace
}  // namespace spikejax

using spikejax::LifForwardOnly;
using spikejax::LifForwardStates;
using spikejax::Matrix;
using spikejax::Tensor3;

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxLifForwardF32, LifForwardOnly,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Tensor3>()
                                  .Arg<Matrix>()
                                  .Arg<Matrix>()
                                  .Arg<Matrix>()
                                  .Attr<int64_t>("reset")
                                  .Ret<Tensor3>()
                                  .Ret<Matrix>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SpikejaxLifForwardStatesF32, LifForwardStates,
                              xla::ffi::Ffi::Bind()
                                  .Ctx<xla::ffi::ThreadPool>()
                                  .Arg<Tensor3>()
                                  .Arg<Matrix>()
                                  .Arg<Matrix>()
                                  .Arg<Matrix>()
                                  .Attr<int64_t>("reset")
                                  .Ret<Tensor3>()
                                  .Ret<Matrix>()
                                  .Ret<Tensor3>());
