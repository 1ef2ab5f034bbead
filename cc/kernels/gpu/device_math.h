// Element arithmetic of the CUDA kernels: zero, float conversion and
// multiply-add per element type, and the build switches every kernel header
// relies on.
//
// This is the one header that chooses between the real CUDA headers (nvcc)
// and cuda_emulation.h (g++ with TFCO_CUDA_EMULATION: the kernels run as host
// code in tests/gpu_emulation), and the one that defines the TFCO_* macros:
//   TFCO_UNROLL      #pragma unroll on the device, nothing elsewhere;
//   TFCO_WMMA_HALF   WMMA on half is available (sm_70+ device code);
//   TFCO_WMMA_BF16   WMMA on bfloat16 is available (sm_80+ device code).
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_DEVICE_MATH_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_DEVICE_MATH_H_

#include <cstdint>

#if defined(TFCO_CUDA_EMULATION)
#include "cc/kernels/gpu/cuda_emulation.h"
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>
#endif

#if defined(__CUDA_ARCH__) && !defined(TFCO_CUDA_EMULATION)
#define TFCO_UNROLL _Pragma("unroll")
#define TFCO_WMMA_HALF (__CUDA_ARCH__ >= 700)
#define TFCO_WMMA_BF16 (__CUDA_ARCH__ >= 800)
#else
#define TFCO_UNROLL
#define TFCO_WMMA_HALF 0
#define TFCO_WMMA_BF16 0
#endif

namespace tf_custom_op {
namespace gpu {

template <typename T>
__device__ __forceinline__ T ZeroOf() {
  return T(0);
}
template <>
__device__ __forceinline__ __half ZeroOf<__half>() {
  return __float2half_rn(0.0f);
}
template <>
__device__ __forceinline__ __nv_bfloat16 ZeroOf<__nv_bfloat16>() {
  return __float2bfloat16_rn(0.0f);
}

__device__ __forceinline__ float ToFloat(__half v) { return __half2float(v); }
__device__ __forceinline__ float ToFloat(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <typename T>
__device__ __forceinline__ T FromFloat(float v);
template <>
__device__ __forceinline__ __half FromFloat<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

__device__ __forceinline__ float MulAdd(float a, float b, float c) {
  return a * b + c;
}
__device__ __forceinline__ double MulAdd(double a, double b, double c) {
  return a * b + c;
}
// int32 wraps like TensorFlow's (two's complement), without signed overflow.
__device__ __forceinline__ int32_t MulAdd(int32_t a, int32_t b, int32_t c) {
  return static_cast<int32_t>(static_cast<uint32_t>(c) +
                              static_cast<uint32_t>(a) *
                                  static_cast<uint32_t>(b));
}

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_DEVICE_MATH_H_
