// Run-time choice of micro-kernel from the CPU's features. Compiled with the
// baseline flags: nothing here may execute an AVX instruction.
#include <cstdlib>
#include <cstring>

#include "cc/kernels/cpu/half_convert.h"
#include "cc/kernels/cpu/micro_kernel.h"

namespace tf_custom_op {
namespace {

// TF_CUSTOM_OP_ISA=portable forces the portable kernels (used by the tests to
// check every path on one machine).
bool PortableForced() {
  const char* isa = std::getenv("TF_CUSTOM_OP_ISA");
  return isa != nullptr && std::strcmp(isa, "portable") == 0;
}

bool HasAvx2Fma() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool HasF16c() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

}  // namespace

const HalfConverter* SelectHalfConverter() {
  static const HalfConverter* chosen = []() -> const HalfConverter* {
#if defined(__x86_64__) || defined(_M_X64)
    if (!PortableForced() && HasF16c()) return &kF16cHalfConverter;
#endif
    return nullptr;
  }();
  return chosen;
}

const MicroKernel<float>& SelectFloatKernel() {
  static const MicroKernel<float>* chosen = [] {
#if defined(__x86_64__) || defined(_M_X64)
    if (!PortableForced() && HasAvx2Fma()) return &kAvx2FloatKernel;
#endif
    return &kPortableFloatKernel;
  }();
  return *chosen;
}

const MicroKernel<double>& SelectDoubleKernel() {
  static const MicroKernel<double>* chosen = [] {
#if defined(__x86_64__) || defined(_M_X64)
    if (!PortableForced() && HasAvx2Fma()) return &kAvx2DoubleKernel;
#endif
    return &kPortableDoubleKernel;
  }();
  return *chosen;
}

const MicroKernel<int32_t>& SelectInt32Kernel() {
  return kPortableInt32Kernel;
}

}  // namespace tf_custom_op
