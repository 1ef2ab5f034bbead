// Register-tiled micro-kernels of the CPU engine.
//
// A micro-kernel computes an MR x NR tile of dx (MR pixels of one phase row,
// NR channels of one group) as a sum over taps x out_depth_per_group:
//   out[m][n] = sum_t sum_k rows[t * MR + m][k] * weights(t)[PackedIndex(0, k, n)]
// The taps come in runs of `taps_per_run` whose weights lie one after another;
// run r starts at packed + r * run_stride (so a tile can leave out the column
// taps that read only padding: TapRuns in gather_engine.cc). One run of all
// taps is the packed panel itself.
// `rows` is the per-tile indirection table (a pointer per tap and pixel, to
// the dy row it reads or to a shared zero row), `packed` the filter panel of
// the tile's channel block (layout: filter_packing.h, PackedIndex). Rows and
// weights hold the element type Elem, the tile is accumulated and stored in
// Acc (element_types.h). Each tile is stored once: no read-modify-write of
// dx, so results do not depend on how the work is split between threads.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_MICRO_KERNEL_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_MICRO_KERNEL_H_

#include <cstdint>

#include "cc/kernels/cpu/element_types.h"
#include "cc/kernels/cpu/isa_tier.h"
#include "cc/kernels/cpu/pixel_tile.h"
#include "cc/kernels/cpu/winograd_kernel.h"

namespace tf_custom_op {

template <typename Acc, typename Elem = Acc>
using MicroKernelFn = void (*)(int64_t taps, int64_t depth,
                               const Elem* const* rows, const Elem* packed,
                               Acc* out, int64_t out_pixel_stride,
                               int m_valid, int n_valid, int64_t taps_per_run,
                               int64_t run_stride);

// Where tap t's weights start (runs of taps_per_run contiguous taps, each
// tap_elements long, run r at packed + r * run_stride).
template <typename Elem>
inline const Elem* TapWeights(const Elem* packed, int64_t t, int64_t taps_per_run,
                              int64_t run_stride, int64_t tap_elements) {
  return packed + (t / taps_per_run) * run_stride + (t % taps_per_run) * tap_elements;
}

template <typename Acc, typename Elem = Acc>
struct MicroKernel {
  int mr;  // pixels per tile
  int nr;  // channels per tile (the packing width)
  MicroKernelFn<Acc, Elem> fn;
  const char* name;
  int k_pack = 1;  // consecutive k packed side by side per channel (2: pairs)
  // The same kernel writing whole, line-aligned tiles with non-temporal
  // stores (x86_tile.h, StreamingKernel), or nullptr. The engine uses it for
  // a dx too large to stay in the caches, and fences once it is done.
  MicroKernelFn<Acc, Elem> stream_fn = nullptr;
};

// One line of a kernel table: the instruction-set tier a kernel needs.
template <typename Acc, typename Elem = Acc>
struct KernelEntry {
  IsaTier tier;
  const MicroKernel<Acc, Elem>* kernel;
};

// The kernel table of one (accumulation, element) type, fastest first
// (defined in micro_kernel_select.cc, one line per kernel).
template <typename Acc, typename Elem = Acc>
struct KernelTable {
  const KernelEntry<Acc, Elem>* entries;
  int size;
};
KernelTable<float> FloatKernels();
KernelTable<double> DoubleKernels();
KernelTable<int32_t> Int32Kernels();
// Kernels that read bfloat16 rows and weights themselves (float accumulation).
KernelTable<float, BFloat16Bits> Bf16Kernels();
// Float kernels for few channels per group (C_g <= kFewChannels): vectors
// over k instead of over channels.
KernelTable<float> FewChannelFloatKernels();
constexpr int64_t kFewChannels = 4;

// A table of per-tier kernels built on first use (pixel tiles, Winograd
// transforms), fastest first; its last line is the portable one.
template <typename Kernel>
struct TierEntry {
  IsaTier tier;
  const Kernel& (*kernel)();
};
template <typename Kernel>
struct TierTable {
  const TierEntry<Kernel>* entries;
  int size;
};

// Pixel-vector kernels (pixel_tile.h) for grouped layers with few channels
// per group (pixel_engine.h).
using PixelKernelEntry = TierEntry<PixelKernel>;
using PixelKernelTable = TierTable<PixelKernel>;
PixelKernelTable FloatPixelKernels();

// Winograd transforms (winograd_tile.h) for the Winograd engine
// (winograd_engine.h).
using WinogradKernelEntry = TierEntry<WinogradKernel>;
using WinogradKernelTable = TierTable<WinogradKernel>;
WinogradKernelTable FloatWinogradKernels();

// The first kernel of the table whose tier is usable here (TierIsUsable:
// what the CPU supports, capped by TF_CUSTOM_OP_ISA), chosen once.
const MicroKernel<float>& SelectFloatKernel();
const MicroKernel<double>& SelectDoubleKernel();
const MicroKernel<int32_t>& SelectInt32Kernel();
// The bfloat16 kernel, or nullptr when none is usable here: bfloat16 then
// runs on the float kernel with its rows widened to float.
const MicroKernel<float, BFloat16Bits>* SelectBf16Kernel();
// The few-channel float kernel, or nullptr when none is usable here.
const MicroKernel<float>* SelectFewChannelFloatKernel();

// The pixel-vector kernel of the best usable tier (the portable one at least).
const PixelKernel& SelectFloatPixelKernel();
// The Winograd transforms of the best usable tier (the portable ones at least).
const WinogradKernel& SelectFloatWinogradKernel();

// Portable kernels (micro_kernel_portable.cc), always available.
const PixelKernel& PortablePixelKernel();
const WinogradKernel& PortableWinogradKernel();
extern const MicroKernel<float> kPortableFloatKernel;
extern const MicroKernel<double> kPortableDoubleKernel;
extern const MicroKernel<int32_t> kPortableInt32Kernel;

#if defined(__x86_64__) || defined(_M_X64)
// AVX2 + FMA kernels (micro_kernel_avx2.cc, compiled with -mavx2 -mfma).
extern const MicroKernel<float> kAvx2FloatKernel;
extern const MicroKernel<double> kAvx2DoubleKernel;
// AVX-512F kernels (micro_kernel_avx512.cc, compiled with the AVX-512 flags).
extern const MicroKernel<float> kAvx512FloatKernel;
extern const MicroKernel<double> kAvx512DoubleKernel;
const PixelKernel& Avx2PixelKernel();
const PixelKernel& Avx512PixelKernel();
const WinogradKernel& Avx2WinogradKernel();
const WinogradKernel& Avx512WinogradKernel();
// AVX-512F kernel for C_g <= kFewChannels (micro_kernel_avx512_kvec.cc).
extern const MicroKernel<float> kAvx512FewChannelsKernel;
// AVX512_BF16 kernel (micro_kernel_avx512_bf16.cc): VDPBF16PS on pairs.
extern const MicroKernel<float, BFloat16Bits> kAvx512Bf16Kernel;
// AMX-BF16 kernel (micro_kernel_amx.cc): TDPBF16PS on 16 x 32 tiles.
extern const MicroKernel<float, BFloat16Bits> kAmxBf16Kernel;
#endif

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_MICRO_KERNEL_H_
