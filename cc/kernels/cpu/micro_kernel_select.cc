// The kernel tables and the run-time choice from them. Compiled with the
// baseline flags: nothing here may execute an AVX instruction.
//
// To add a kernel: its translation unit with its ISA flags
// (build_tools/sources.py) and one line in the table of its accumulation
// type below, above the kernels it beats.
#include "cc/kernels/cpu/half_convert.h"
#include "cc/kernels/cpu/isa_tier.h"
#include "cc/kernels/cpu/micro_kernel.h"

namespace tf_custom_op {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
#define TFCO_X86 1
#else
#define TFCO_X86 0
#endif

const KernelEntry<float> kFloatTable[] = {
#if TFCO_X86
    {IsaTier::kAvx512, &kAvx512FloatKernel},  // micro_kernel_avx512.cc, 6x32
    {IsaTier::kAvx2, &kAvx2FloatKernel},  // micro_kernel_avx2.cc, 6x16
#endif
    {IsaTier::kPortable, &kPortableFloatKernel},  // micro_kernel_portable.cc
};

const KernelEntry<double> kDoubleTable[] = {
#if TFCO_X86
    {IsaTier::kAvx512, &kAvx512DoubleKernel},  // micro_kernel_avx512.cc, 6x16
    {IsaTier::kAvx2, &kAvx2DoubleKernel},  // micro_kernel_avx2.cc, 6x8
#endif
    {IsaTier::kPortable, &kPortableDoubleKernel},  // micro_kernel_portable.cc
};

const KernelEntry<int32_t> kInt32Table[] = {
    {IsaTier::kPortable, &kPortableInt32Kernel},  // micro_kernel_portable.cc
};

template <typename Acc, int N>
KernelTable<Acc> TableOf(const KernelEntry<Acc> (&entries)[N]) {
  return KernelTable<Acc>{entries, N};
}

template <typename Acc>
const MicroKernel<Acc>* FirstUsable(KernelTable<Acc> table) {
  const IsaTier usable = MaxUsableTier();
  for (int i = 0; i < table.size; ++i) {
    if (table.entries[i].tier <= usable) return table.entries[i].kernel;
  }
  return table.entries[table.size - 1].kernel;  // the portable one
}

}  // namespace

KernelTable<float> FloatKernels() { return TableOf(kFloatTable); }
KernelTable<double> DoubleKernels() { return TableOf(kDoubleTable); }
KernelTable<int32_t> Int32Kernels() { return TableOf(kInt32Table); }

const MicroKernel<float>& SelectFloatKernel() {
  static const MicroKernel<float>* chosen = FirstUsable(FloatKernels());
  return *chosen;
}

const MicroKernel<double>& SelectDoubleKernel() {
  static const MicroKernel<double>* chosen = FirstUsable(DoubleKernels());
  return *chosen;
}

const MicroKernel<int32_t>& SelectInt32Kernel() {
  static const MicroKernel<int32_t>* chosen = FirstUsable(Int32Kernels());
  return *chosen;
}

const HalfConverter* SelectHalfConverter() {
  static const HalfConverter* chosen = []() -> const HalfConverter* {
#if TFCO_X86
    if (MaxUsableTier() >= IsaTier::kAvx2) return &kF16cHalfConverter;
#endif
    return nullptr;
  }();
  return chosen;
}

}  // namespace tf_custom_op
