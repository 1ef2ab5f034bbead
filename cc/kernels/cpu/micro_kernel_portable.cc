// Portable C++ micro-kernels: the path for any CPU (aarch64 included) and the
// only one for int32. Written so that the compiler can keep the tile in
// registers and vectorise the NR loop with the baseline instruction set.
#include <cstdint>
#include <cstring>

#include "cc/kernels/cpu/micro_kernel.h"

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

template <typename Acc, int MR, int NR>
void PortableKernel(int64_t taps, int64_t depth, const Acc* const* rows,
                    const Acc* packed, Acc* out, int64_t out_pixel_stride,
                    int m_valid, int n_valid) {
  using A = Arith<Acc>;
  using Work = typename A::Work;
  Work acc[MR][NR] = {};
  for (int64_t t = 0; t < taps; ++t) {
    const Acc* const* tap_rows = rows + t * MR;
    for (int64_t k = 0; k < depth; ++k) {
      const Acc* w = packed + (t * depth + k) * NR;
      Work wv[NR];
      for (int n = 0; n < NR; ++n) wv[n] = A::From(w[n]);
      for (int m = 0; m < MR; ++m) {
        const Work a = A::From(tap_rows[m][k]);
        for (int n = 0; n < NR; ++n) acc[m][n] += a * wv[n];
      }
    }
  }
  for (int m = 0; m < m_valid; ++m) {
    Acc* dst = out + m * out_pixel_stride;
    for (int n = 0; n < n_valid; ++n) dst[n] = A::To(acc[m][n]);
  }
}

}  // namespace

const MicroKernel<float> kPortableFloatKernel = {
    4, 8, &PortableKernel<float, 4, 8>, "portable-f32-4x8"};
const MicroKernel<double> kPortableDoubleKernel = {
    4, 4, &PortableKernel<double, 4, 4>, "portable-f64-4x4"};
const MicroKernel<int32_t> kPortableInt32Kernel = {
    4, 8, &PortableKernel<int32_t, 4, 8>, "portable-i32-4x8"};

}  // namespace tf_custom_op
