// The kernel tables and the run-time choice from them. Compiled with the
// baseline flags: nothing here may execute an AVX instruction.
//
// To add a kernel: its translation unit with its ISA flags
// (build_tools/sources.py) and one line in the table of its accumulation and
// element types below, above the kernels it beats.
#include "cc/kernels/cpu/bfloat16_convert.h"
#include "cc/kernels/cpu/float_transpose.h"
#include "cc/kernels/cpu/half_convert.h"
#include "cc/kernels/cpu/isa_tier.h"
#include "cc/kernels/cpu/kernel_calibration.h"
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
    {IsaTier::kAvx512, &kAvx512FloatKernel},  // micro_kernel_avx512.cc, 12x32
    {IsaTier::kAvx2, &kAvx2FloatKernel},  // micro_kernel_avx2.cc, 6x16
#endif
    {IsaTier::kPortable, &kPortableFloatKernel},  // micro_kernel_portable.cc
};

const KernelEntry<double> kDoubleTable[] = {
#if TFCO_X86
    {IsaTier::kAvx512, &kAvx512DoubleKernel},  // micro_kernel_avx512.cc, 12x16
    {IsaTier::kAvx2, &kAvx2DoubleKernel},  // micro_kernel_avx2.cc, 6x8
#endif
    {IsaTier::kPortable, &kPortableDoubleKernel},  // micro_kernel_portable.cc
};

const KernelEntry<int32_t> kInt32Table[] = {
    {IsaTier::kPortable, &kPortableInt32Kernel},  // micro_kernel_portable.cc
};

// bfloat16 read as bfloat16 (pairs of k). Below AVX512_BF16, bfloat16 rows
// are widened to float once per staged row and use the float table: an AVX2
// kernel that split the pairs itself ran at 48 GFLOP/s against the float
// path's 67 on resnet3x3_56 (Zen 1, docs/BENCHMARKS.md), its shifts and
// masks competing with the FMAs for the same ports.
const KernelEntry<float, BFloat16Bits> kBf16Table[] = {
#if TFCO_X86
    {IsaTier::kAmx, &kAmxBf16Kernel},  // micro_kernel_amx.cc, 16x32
    {IsaTier::kAvx512Bf16, &kAvx512Bf16Kernel},  // micro_kernel_avx512_bf16.cc, 12x32
#endif
    {IsaTier::kPortable, nullptr},  // none: the float table instead
};

// Few channels per group (C_g <= kFewChannels): used instead of the float
// table where a kernel is usable; otherwise the float table serves.
const KernelEntry<float> kFewChannelFloatTable[] = {
#if TFCO_X86
    {IsaTier::kAvx512, &kAvx512FewChannelsKernel},  // micro_kernel_avx512_kvec.cc, 6x4
#endif
    {IsaTier::kPortable, nullptr},  // none: the float table instead
};

// Pixel-vector tiles (pixel_tile.h), one line per tier.
const PixelKernelEntry kFloatPixelTable[] = {
#if TFCO_X86
    {IsaTier::kAvx512, &Avx512PixelKernel},  // micro_kernel_avx512.cc
    {IsaTier::kAvx2, &Avx2PixelKernel},  // micro_kernel_avx2.cc
#endif
    {IsaTier::kPortable, &PortablePixelKernel},  // micro_kernel_portable.cc
};

// Winograd transforms (winograd_tile.h), one line per tier.
const WinogradKernelEntry kFloatWinogradTable[] = {
#if TFCO_X86
    {IsaTier::kAvx512, &Avx512WinogradKernel},  // micro_kernel_avx512.cc
    {IsaTier::kAvx2, &Avx2WinogradKernel},  // micro_kernel_avx2.cc
#endif
    {IsaTier::kPortable, &PortableWinogradKernel},  // micro_kernel_portable.cc
};

template <typename Acc, typename Elem, int N>
KernelTable<Acc, Elem> TableOf(const KernelEntry<Acc, Elem> (&entries)[N]) {
  // A closing nullptr line says "no kernel below the lines above it".
  const int size = entries[N - 1].kernel == nullptr ? N - 1 : N;
  return KernelTable<Acc, Elem>{entries, size};
}

// The first usable kernel of the table, or nullptr when none is usable.
template <typename Acc, typename Elem>
const MicroKernel<Acc, Elem>* FirstUsable(KernelTable<Acc, Elem> table) {
  for (int i = 0; i < table.size; ++i) {
    if (TierIsUsable(table.entries[i].tier)) return table.entries[i].kernel;
  }
  return nullptr;
}

template <typename Kernel, int N>
TierTable<Kernel> TierTableOf(const TierEntry<Kernel> (&entries)[N]) {
  return TierTable<Kernel>{entries, N};
}

// The kernel of the first usable tier; the last line (portable) otherwise.
template <typename Kernel>
const Kernel& BestUsable(TierTable<Kernel> table) {
  for (int i = 0; i + 1 < table.size; ++i) {
    if (TierIsUsable(table.entries[i].tier)) return table.entries[i].kernel();
  }
  return table.entries[table.size - 1].kernel();
}

}  // namespace

KernelTable<float> FloatKernels() { return TableOf(kFloatTable); }
KernelTable<double> DoubleKernels() { return TableOf(kDoubleTable); }
KernelTable<int32_t> Int32Kernels() { return TableOf(kInt32Table); }
KernelTable<float, BFloat16Bits> Bf16Kernels() { return TableOf(kBf16Table); }
KernelTable<float> FewChannelFloatKernels() { return TableOf(kFewChannelFloatTable); }
PixelKernelTable FloatPixelKernels() { return TierTableOf(kFloatPixelTable); }
WinogradKernelTable FloatWinogradKernels() { return TierTableOf(kFloatWinogradTable); }

const PixelKernel& SelectFloatPixelKernel() {
  static const PixelKernel& chosen = BestUsable(FloatPixelKernels());
  return chosen;
}

const WinogradKernel& SelectFloatWinogradKernel() {
  static const WinogradKernel& chosen = BestUsable(FloatWinogradKernels());
  return chosen;
}

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

const MicroKernel<float, BFloat16Bits>* SelectBf16Kernel() {
  static const MicroKernel<float, BFloat16Bits>* chosen = []() {
    const MicroKernel<float, BFloat16Bits>* first = FirstUsable(Bf16Kernels());
    // AMX is an order of magnitude ahead; AVX512_BF16 is not always ahead of
    // the float kernel (kernel_calibration.h). Emulated kernels are kept:
    // the tester runs them to check them, not for speed.
    if (first == nullptr || TierIsUsable(IsaTier::kAmx) ||
        TierIsEmulated(IsaTier::kAvx512Bf16)) {
      return first;
    }
    return Bf16KernelBeatsFloat(*first, SelectFloatKernel()) ? first : nullptr;
  }();
  return chosen;
}

const MicroKernel<float>* SelectFewChannelFloatKernel() {
  static const MicroKernel<float>* chosen = FirstUsable(FewChannelFloatKernels());
  return chosen;
}

const HalfConverter* SelectHalfConverter() {
  static const HalfConverter* chosen = []() -> const HalfConverter* {
#if TFCO_X86
    if (TierIsUsable(IsaTier::kAvx2)) return &kF16cHalfConverter;
#endif
    return nullptr;
  }();
  return chosen;
}

const Bfloat16Converter& SelectBfloat16Converter() {
  static const Bfloat16Converter kPortable = {&WidenBfloat16, &NarrowToBfloat16};
  static const Bfloat16Converter* chosen = []() -> const Bfloat16Converter* {
#if TFCO_X86
    if (TierIsUsable(IsaTier::kAvx2)) return &kAvx2Bfloat16Converter;
#endif
    return &kPortable;
  }();
  return *chosen;
}

FloatTransposeFn SelectFloatTranspose() {
  static const FloatTransposeFn chosen = []() -> FloatTransposeFn {
#if TFCO_X86
    if (TierIsUsable(IsaTier::kAvx2)) return &TransposeFloatsAvx2;
#endif
    return &TransposeFloatsPortable;
  }();
  return chosen;
}

}  // namespace tf_custom_op
