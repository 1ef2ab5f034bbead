// Inf and NaN in the filter.
//
// The GEMM kernels load a zero for every tap that falls outside dy and
// multiply it like any other element of the tile. That is exact while the
// filter is finite; with an Inf or NaN weight, 0 * Inf = NaN lands in dx
// elements that TensorFlow's reference kernel (which never visits those
// taps) computes as finite numbers. So, without a round trip to the host:
//   1. FlagNonFiniteKernel scans the filter (small next to dy and dx) and
//      sets a device flag if any weight is not finite;
//   2. the GEMM kernels return at once when the flag is set
//      (GemmArgs::skip_if_flagged);
//   3. DirectGatherKernel, launched after them, returns at once when it is
//      clear, and otherwise computes every dx element by visiting only the
//      taps that land inside dy: slow, but only for a filter that already
//      holds Inf or NaN.
// int32 has no such values and skips all three.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_NON_FINITE_GUARD_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_NON_FINITE_GUARD_H_

#include <cstdint>

#include "cc/kernels/gpu/device_math.h"

namespace tf_custom_op {
namespace gpu {

// The accumulation type of each element type (as in the GEMM kernels).
template <typename T>
struct AccumulatorOf {
  using type = T;
};
template <>
struct AccumulatorOf<__half> {
  using type = float;
};
template <>
struct AccumulatorOf<__nv_bfloat16> {
  using type = float;
};

__device__ __forceinline__ float ToAccumulator(__half v) { return ToFloat(v); }
__device__ __forceinline__ float ToAccumulator(__nv_bfloat16 v) { return ToFloat(v); }
__device__ __forceinline__ float ToAccumulator(float v) { return v; }
__device__ __forceinline__ double ToAccumulator(double v) { return v; }
// Instantiated for int32 but never launched for it (no Inf or NaN there).
__device__ __forceinline__ int32_t ToAccumulator(int32_t v) { return v; }

template <typename T>
__device__ __forceinline__ T FromAccumulator(typename AccumulatorOf<T>::type v) {
  return v;
}
template <>
__device__ __forceinline__ __half FromAccumulator<__half>(float v) {
  return FromFloat<__half>(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromAccumulator<__nv_bfloat16>(float v) {
  return FromFloat<__nv_bfloat16>(v);
}

// Sets *flag to 1 if any of w[0, n) is Inf or NaN (x - x is 0 exactly for
// finite x). Every writer stores the same value: no atomics needed.
template <typename T>
__global__ void __launch_bounds__(256)
    FlagNonFiniteKernel(const T* w, int64_t n, int32_t* flag) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += step) {
    const auto v = ToAccumulator(w[e]);
    if (!(v - v == decltype(v)(0))) *flag = 1;
  }
}

// What DirectGatherKernel needs of the problem (NHWC dy and dx, HWIO w).
struct DirectArgs {
  int64_t N, H, W, C, P, Q, K;
  int64_t R, S, Cg, Kg;
  int64_t sh, sw, dh, dw;
  int64_t pad_top, pad_left;
};

// One dx element per thread (grid-stride): the sum over the taps that land
// inside dy, as TensorFlow's reference kernel defines it. Runs only when
// *flag is set.
template <typename T>
__global__ void __launch_bounds__(256)
    DirectGatherKernel(const DirectArgs a, const T* dy, const T* w, T* dx,
                       const int32_t* flag) {
  if (*flag == 0) return;
  using Acc = typename AccumulatorOf<T>::type;
  const int64_t total = a.N * a.H * a.W * a.C;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const int64_t c = e % a.C;
    const int64_t x = (e / a.C) % a.W;
    const int64_t h = (e / (a.C * a.W)) % a.H;
    const int64_t n = e / (a.C * a.W * a.H);
    const int64_t g = c / a.Cg, cg = c % a.Cg;
    Acc sum = Acc(0);
    for (int64_t r = 0; r < a.R; ++r) {
      const int64_t hr = h + a.pad_top - r * a.dh;
      if (hr < 0 || hr % a.sh != 0 || hr / a.sh >= a.P) continue;
      for (int64_t s = 0; s < a.S; ++s) {
        const int64_t xs = x + a.pad_left - s * a.dw;
        if (xs < 0 || xs % a.sw != 0 || xs / a.sw >= a.Q) continue;
        const T* dy_row = dy + ((n * a.P + hr / a.sh) * a.Q + xs / a.sw) * a.K + g * a.Kg;
        const T* w_row = w + ((r * a.S + s) * a.Cg + cg) * a.K + g * a.Kg;
        for (int64_t k = 0; k < a.Kg; ++k) {
          sum = MulAdd(ToAccumulator(dy_row[k]), ToAccumulator(w_row[k]), sum);
        }
      }
    }
    dx[e] = FromAccumulator<T>(sum);
  }
}

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_NON_FINITE_GUARD_H_
