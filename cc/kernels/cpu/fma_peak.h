// The float FMA peak of one core at each x86 vector width, measured with
// independent FMA chains in registers (no memory traffic): the ceiling the
// benchmark draws and compares our micro-kernels with. Each function lives in
// its ISA's translation unit (micro_kernel_avx2.cc, micro_kernel_avx512.cc),
// compiled with that ISA's flags; call one only where the CPU has the ISA.
// The library exports the widest one (kernel_report.cc).
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_FMA_PEAK_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_FMA_PEAK_H_

#include <algorithm>
#include <chrono>

namespace tf_custom_op {

double Avx2FmaPeakGflops();
double Avx512FmaPeakGflops();

// The best of three timings of fn(), in seconds.
template <typename Fn>
double TimeSeconds(Fn fn) {
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count());
  }
  return best;
}

// kChains independent FMA chains of the ISA's float vectors (Ops: V, kLanes,
// Broadcast(const float*), Fma(a, b, c), Store(float*, V): the traits each
// micro-kernel file already has), all in registers. Every chain feeds the
// result, and floating-point FMAs are not reassociated: nothing is dropped.
template <typename Ops, int kChains>
__attribute__((noinline)) void FmaChains(long iterations, float* sink) {
  const float a_value = 0.999999f, b_value = 1e-7f;
  typename Ops::V acc[kChains];
  // Distinct starting values: identical chains could be computed once.
  _Pragma("GCC unroll 32") for (int i = 0; i < kChains; ++i) {
    const float start = static_cast<float>(i);
    acc[i] = Ops::Broadcast(&start);
  }
  const typename Ops::V a = Ops::Broadcast(&a_value), b = Ops::Broadcast(&b_value);
  for (long it = 0; it < iterations; ++it) {
    _Pragma("GCC unroll 32") for (int i = 0; i < kChains; ++i) acc[i] = Ops::Fma(acc[i], a, b);
  }
  _Pragma("GCC unroll 32") for (int i = 1; i < kChains; ++i) acc[0] = Ops::Fma(acc[0], a, acc[i]);
  Ops::Store(sink, acc[0]);
}

// GFLOP/s of FmaChains: the float FMA peak of this core at Ops' width, given
// chains enough to cover the FMA latency of both ports.
template <typename Ops, int kChains>
double MeasureFmaPeakGflops() {
  constexpr long kIterations = 4000000;
  float sink[Ops::kLanes];
  const double seconds = TimeSeconds([&sink] { FmaChains<Ops, kChains>(kIterations, sink); });
  const double flops = 2.0 * Ops::kLanes * kChains * static_cast<double>(kIterations);
  return seconds > 0 && sink[0] != 12345.0f ? flops / seconds / 1e9 : 0.0;
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_FMA_PEAK_H_
