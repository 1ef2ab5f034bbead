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

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_FMA_PEAK_H_
