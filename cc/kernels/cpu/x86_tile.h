// The register-tiled x86 micro-kernel, written once for every vector width.
//
// Included by each ISA's translation unit (micro_kernel_avx2.cc,
// micro_kernel_avx512.cc, micro_kernel_avx512_bf16.cc), which compiles it with
// its own flags and supplies the vector traits `Vec`:
//   T       the accumulation (and output) type: float or double
//   Elem    the type of dy rows and packed weights: T, or bfloat16 bits
//   kPack   consecutive k one step consumes: 1, or 2 for bfloat16 pairs
//           (the packed panel then holds each channel's pair side by side)
//   V, kLanes            the accumulator register and its lanes
//   W, A                 a step's weight vector and broadcast dy value(s)
//   Zero() LoadW(p) Broadcast(p) BroadcastLast(p) Dot(acc, a, w) Store(p, v)
//   Stream(p, v)         a non-temporal store (only for StreamingKernel)
// BroadcastLast reads the single element left when depth is odd (kPack 2):
// it pairs it with a zero, whose packed weight is zero as well. Everything
// here is in an anonymous namespace, so each translation unit gets its own
// copy, compiled for its own instruction set.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_X86_TILE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_X86_TILE_H_

#include <cstdint>
#include <utility>

namespace tf_custom_op {
namespace {

// Tiles are kMR = 6 pixels x kVectors = 2 vectors: 12 accumulators, two
// filter vectors and one broadcast per two FMAs (within AVX2's 16 registers;
// AVX-512 has 32, and 12 independent accumulators already cover its FMA
// latency).
constexpr int kMR = 6;
constexpr int kVectors = 2;

// The reduction loop (one step per k) is unrolled twice: half the loop
// overhead per FMA. On Zen 1 (build/cpu_engine_bench, best of 5-6 runs
// alternating with the former build): resnet3x3_56 37.1 -> 37.5-37.8
// GFLOP/s, resnet1x1_56 35.1 -> 36.0, dcgan_up4x4s2 38.5 -> 38.9, others
// equal. Prefetching the weights 16 steps ahead as well gained as much in
// the engine but cost 8% with everything in L1 (the `peak` mode), so the
// hardware prefetcher is left to it.

// The full traits of a float or double tile from an ISA's basic vector
// operations (T, V, kLanes, Zero, Load, Broadcast, Fma, Store): elements are
// the accumulation type, one k per step.
template <typename Ops>
struct PlainTraits : Ops {
  using Elem = typename Ops::T;
  using W = typename Ops::V;
  using A = typename Ops::V;
  static constexpr int kPack = 1;
  static W LoadW(const Elem* p) { return Ops::Load(p); }
  static A BroadcastLast(const Elem* p) { return Ops::Broadcast(p); }
  static typename Ops::V Dot(typename Ops::V acc, A a, W w) { return Ops::Fma(a, w, acc); }
};

// One step of the reduction: kPack values of k for every pixel and vector.
template <typename Vec, int M, int NV, bool kLast>
inline void Step(const typename Vec::Elem* const* r, int64_t k,
                 const typename Vec::Elem* w, typename Vec::V (&acc)[M][NV]) {
  typename Vec::W wv[NV];
  _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) {
    wv[v] = Vec::LoadW(w + v * Vec::kLanes * Vec::kPack);
  }
  _Pragma("GCC unroll 16") for (int m = 0; m < M; ++m) {
    const typename Vec::A a = kLast ? Vec::BroadcastLast(r[m] + k) : Vec::Broadcast(r[m] + k);
    _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) acc[m][v] = Vec::Dot(acc[m][v], a, wv[v]);
  }
}

// An M x (NV vectors) tile with M and NV known at compile time: every loop
// below is unrolled, so the accumulators live in registers (a runtime index
// into them would force GCC to keep them in memory). Pixel and channel tails
// get their own instantiation instead of computing padding.
template <typename Vec, int M, int NV, bool kStream = false, int kTileMR = kMR>
void Tile(int64_t taps, int64_t depth, const typename Vec::Elem* const* rows,
          const typename Vec::Elem* packed, typename Vec::T* out,
          int64_t out_pixel_stride, int n_valid, int64_t taps_per_run, int64_t run_stride) {
  using T = typename Vec::T;
  using Elem = typename Vec::Elem;
  using V = typename Vec::V;
  constexpr int kNR = kVectors * Vec::kLanes;  // packing width in channels
  constexpr int kStep = kNR * Vec::kPack;      // packed elements per step
  const int64_t whole = depth - depth % Vec::kPack;
  V acc[M][NV];
  _Pragma("GCC unroll 16") for (int m = 0; m < M; ++m) {
    _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) acc[m][v] = Vec::Zero();
  }
  const Elem* w = packed;
  for (int64_t t = 0; t < taps; ++t) {
    if (t % taps_per_run == 0) w = packed + (t / taps_per_run) * run_stride;
    const Elem* r[M];
    _Pragma("GCC unroll 16") for (int m = 0; m < M; ++m) r[m] = rows[t * kTileMR + m];
    _Pragma("GCC unroll 2") for (int64_t k = 0; k < whole; k += Vec::kPack, w += kStep) {
      Step<Vec, M, NV, false>(r, k, w, acc);
    }
    if (Vec::kPack > 1 && whole < depth) {
      Step<Vec, M, NV, true>(r, whole, w, acc);
      w += kStep;
    }
  }
  if (n_valid == NV * Vec::kLanes) {
    _Pragma("GCC unroll 16") for (int m = 0; m < M; ++m) {
      _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) {
        if constexpr (kStream) {
          Vec::Stream(out + m * out_pixel_stride + v * Vec::kLanes, acc[m][v]);
        } else {
          Vec::Store(out + m * out_pixel_stride + v * Vec::kLanes, acc[m][v]);
        }
      }
    }
    return;
  }
  // Channel tail: spill each pixel's vectors and copy the valid channels
  // (never write past the tile's channels).
  alignas(64) T spill[NV * Vec::kLanes];
  _Pragma("GCC unroll 16") for (int m = 0; m < M; ++m) {
    _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) Vec::Store(spill + v * Vec::kLanes, acc[m][v]);
    T* dst = out + m * out_pixel_stride;
    for (int n = 0; n < n_valid; ++n) dst[n] = spill[n];
  }
}

// kStream: the caller checked that the tile holds whole channel blocks on
// whole cache lines (StreamingKernel), so it is stored with Vec::Stream.
template <typename Vec, int M, bool kStream, int kTileMR>
void TileForChannels(int64_t taps, int64_t depth,
                     const typename Vec::Elem* const* rows,
                     const typename Vec::Elem* packed, typename Vec::T* out,
                     int64_t out_pixel_stride, int n_valid, int64_t taps_per_run,
                     int64_t run_stride) {
  if (!kStream && n_valid <= Vec::kLanes) {
    // Half the packing width is padding: skip its FMAs. The packed panel
    // keeps its full width, so the loop still strides by a full step.
    Tile<Vec, M, 1, false, kTileMR>(taps, depth, rows, packed, out, out_pixel_stride, n_valid,
                                    taps_per_run, run_stride);
  } else {
    Tile<Vec, M, kVectors, kStream, kTileMR>(taps, depth, rows, packed, out, out_pixel_stride,
                                             n_valid, taps_per_run, run_stride);
  }
}

template <typename Vec, bool kStream, int kTileMR, int... kWidths>
void DispatchWidth(std::integer_sequence<int, kWidths...>, int64_t taps, int64_t depth,
                   const typename Vec::Elem* const* rows, const typename Vec::Elem* packed,
                   typename Vec::T* out, int64_t out_pixel_stride, int m_valid, int n_valid,
                   int64_t taps_per_run, int64_t run_stride) {
  using Fn = void (*)(int64_t, int64_t, const typename Vec::Elem* const*,
                      const typename Vec::Elem*, typename Vec::T*, int64_t, int, int64_t,
                      int64_t);
  // One instantiation per tile width 1..kTileMR (index m_valid - 1).
  static constexpr Fn kByWidth[] = {&TileForChannels<Vec, kWidths + 1, kStream, kTileMR>...};
  if (m_valid < 1 || m_valid > kTileMR) return;
  kByWidth[m_valid - 1](taps, depth, rows, packed, out, out_pixel_stride, n_valid, taps_per_run,
                        run_stride);
}

// A tile of m_valid pixels (1..kTileMR; the indirection holds kTileMR
// pointers per tap) x n_valid channels.
template <typename Vec, bool kStream = false, int kTileMR = kMR>
void Kernel(int64_t taps, int64_t depth, const typename Vec::Elem* const* rows,
            const typename Vec::Elem* packed, typename Vec::T* out,
            int64_t out_pixel_stride, int m_valid, int n_valid, int64_t taps_per_run,
            int64_t run_stride) {
  DispatchWidth<Vec, kStream, kTileMR>(std::make_integer_sequence<int, kTileMR>(), taps, depth,
                                       rows, packed, out, out_pixel_stride, m_valid, n_valid,
                                       taps_per_run, run_stride);
}

// Kernel, except that a tile of whole channel blocks whose pixels start on
// cache lines is written with non-temporal stores: for a dx larger than the
// caches, which the tile writes once and never reads back, this saves the
// read of every dx line before its first write (the 1x1 kernel writing a
// 25 MB dx on Zen 1: +5%). Any other tile takes Kernel's stores, so it is
// correct for every output; the caller fences (GatherEngine::ComputeRows).
template <typename Vec, int kTileMR = kMR>
void StreamingKernel(int64_t taps, int64_t depth, const typename Vec::Elem* const* rows,
                     const typename Vec::Elem* packed, typename Vec::T* out,
                     int64_t out_pixel_stride, int m_valid, int n_valid, int64_t taps_per_run,
                     int64_t run_stride) {
  constexpr int kNR = kVectors * Vec::kLanes;
  constexpr uintptr_t kLine = 64;
  const uintptr_t bytes = reinterpret_cast<uintptr_t>(out) |
                          static_cast<uintptr_t>(out_pixel_stride) * sizeof(*out);
  if (n_valid == kNR && (kNR * sizeof(*out)) % kLine == 0 && bytes % kLine == 0) {
    return Kernel<Vec, true, kTileMR>(taps, depth, rows, packed, out, out_pixel_stride, m_valid,
                                      n_valid, taps_per_run, run_stride);
  }
  return Kernel<Vec, false, kTileMR>(taps, depth, rows, packed, out, out_pixel_stride, m_valid,
                                     n_valid, taps_per_run, run_stride);
}

}  // namespace
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_X86_TILE_H_
