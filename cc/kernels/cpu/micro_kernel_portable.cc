// Portable C++ micro-kernels: the path for any CPU (aarch64 included) and the
// only one for int32. Written so that the compiler can keep the tile in
// registers and vectorise the NR loop with the baseline instruction set.
#include <cstdint>
#include <cstring>

#include "cc/kernels/cpu/winograd_tile.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/pixel_tile.h"

namespace tf_custom_op {
namespace {

// int32 must wrap like TensorFlow's kernels do; signed overflow is undefined
// behaviour in C++, so multiply-accumulate in uint32 (same bits).
template <typename Acc>
struct Arith {
  using Work = Acc;
  static Work From(Acc v) { return v; }
  static Acc To(Work v) { return v; }
};
template <>
struct Arith<int32_t> {
  using Work = uint32_t;
  static Work From(int32_t v) { return static_cast<uint32_t>(v); }
  static int32_t To(Work v) {
    int32_t out;
    std::memcpy(&out, &v, sizeof(out));
    return out;
  }
};

// int32 (and any type without a vector path): a plain scalar tile.
template <typename Acc, int MR, int NR>
void PortableKernel(int64_t taps, int64_t depth, const Acc* const* rows,
                    const Acc* packed, Acc* out, int64_t out_pixel_stride,
                    int m_valid, int n_valid, int64_t taps_per_run, int64_t run_stride) {
  using A = Arith<Acc>;
  using Work = typename A::Work;
  Work acc[MR][NR] = {};
  for (int64_t t = 0; t < taps; ++t) {
    const Acc* const* tap_rows = rows + t * MR;
    const Acc* tap_w = TapWeights(packed, t, taps_per_run, run_stride, depth * NR);
    for (int64_t k = 0; k < depth; ++k) {
      const Acc* w = tap_w + k * NR;
      for (int m = 0; m < MR; ++m) {
        const Work a = A::From(tap_rows[m][k]);
        for (int n = 0; n < NR; ++n) acc[m][n] += a * A::From(w[n]);
      }
    }
  }
  for (int m = 0; m < m_valid; ++m) {
    Acc* dst = out + m * out_pixel_stride;
    for (int n = 0; n < n_valid; ++n) dst[n] = A::To(acc[m][n]);
  }
}

// float and double: GCC/Clang generic 16-byte vectors, which become SSE2 on
// any x86-64 and NEON on aarch64 without ISA-specific code. 4 pixels x 2
// vectors: 8 accumulators held in named registers (an array indexed at run
// time would be kept in memory).
template <typename Acc>
void VectorKernel4x2(int64_t taps, int64_t depth, const Acc* const* rows,
                     const Acc* packed, Acc* out, int64_t out_pixel_stride,
                     int m_valid, int n_valid, int64_t taps_per_run, int64_t run_stride) {
  typedef Acc V __attribute__((vector_size(16)));
  constexpr int kLanes = 16 / sizeof(Acc);
  constexpr int kNR = 2 * kLanes;
  V c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {},
    c31 = {};
  const Acc* w = packed;
  for (int64_t t = 0; t < taps; ++t) {
    if (t % taps_per_run == 0) w = packed + (t / taps_per_run) * run_stride;
    const Acc *r0 = rows[t * 4], *r1 = rows[t * 4 + 1], *r2 = rows[t * 4 + 2],
              *r3 = rows[t * 4 + 3];
    for (int64_t k = 0; k < depth; ++k, w += kNR) {
      V w0, w1;
      std::memcpy(&w0, w, sizeof(V));
      std::memcpy(&w1, w + kLanes, sizeof(V));
      c00 += w0 * r0[k];
      c01 += w1 * r0[k];
      c10 += w0 * r1[k];
      c11 += w1 * r1[k];
      c20 += w0 * r2[k];
      c21 += w1 * r2[k];
      c30 += w0 * r3[k];
      c31 += w1 * r3[k];
    }
  }
  const V tile[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  for (int m = 0; m < m_valid; ++m) {
    Acc values[kNR];
    std::memcpy(values, &tile[m][0], sizeof(V));
    std::memcpy(values + kLanes, &tile[m][1], sizeof(V));
    Acc* dst = out + m * out_pixel_stride;
    for (int n = 0; n < n_valid; ++n) dst[n] = values[n];
  }
}

// Generic 16-byte float vectors as pixel_tile.h's vector traits.
struct PortableF32x4 {
  typedef float V __attribute__((vector_size(16)));
  static constexpr int kLanes = 4;
  static V Zero() { return V{}; }
  static V Load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  static V Broadcast(const float* p) { return V{} + *p; }
  static V Fma(V a, V b, V c) { return a * b + c; }
  static void Store(float* p, V v) { std::memcpy(p, &v, sizeof(V)); }
};

}  // namespace

// Pixel-vector tiles (pixel_tile.h) for any CPU: 16 registers, as AVX2.
const PixelKernel& PortablePixelKernel() {
  static const PixelKernel kernel =
      MakePixelKernel<PortableF32x4, 6, 4, 2, 1>("portable-f32-pixels");
  return kernel;
}

// Winograd transforms (winograd_tile.h) over 4 channels per vector.
const WinogradKernel& PortableWinogradKernel() {
  static const WinogradKernel kernel = MakeWinogradKernel<PortableF32x4>("portable-f32-winograd");
  return kernel;
}

const MicroKernel<float> kPortableFloatKernel = {
    4, 8, &VectorKernel4x2<float>, "portable-f32-4x8"};
const MicroKernel<double> kPortableDoubleKernel = {
    4, 4, &VectorKernel4x2<double>, "portable-f64-4x4"};
const MicroKernel<int32_t> kPortableInt32Kernel = {
    4, 8, &PortableKernel<int32_t, 4, 8>, "portable-i32-4x8"};

}  // namespace tf_custom_op
