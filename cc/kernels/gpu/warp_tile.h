// Warp tiles of the tensor-core kernel (tensor_core_kernel.h): FM x FN
// fragments of 16 x 16 with fp32 accumulation, computed from the kernel's
// shared tiles (A row-major [m][k], B col-major [c][k], both with leading
// dimension ld) and stored fragment by fragment to a float staging buffer.
//
// WmmaWarpTile uses the tensor cores; ScalarWarpTile computes the same
// fragments with scalar fp32 arithmetic where WMMA is unavailable (the host
// emulation, and bfloat16 on sm_75). WarpTileFor picks one per element type
// and architecture.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_WARP_TILE_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_WARP_TILE_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "cc/kernels/gpu/device_math.h"

namespace tf_custom_op {
namespace gpu {

#if defined(TFCO_CUDA_EMULATION)
template <typename E>
void CheckWmmaPointer(const E* p, int ld) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0 ||
      (ld * static_cast<int>(sizeof(E))) % 16 != 0) {
    std::fprintf(stderr, "WMMA contract violated: pointer %p, ldm %d\n",
                 static_cast<const void*>(p), ld);
    std::abort();
  }
}
#endif

// Scalar warp tile: the same warp tile from the same shared buffers, fp32
// accumulation; lane l owns row l/2, columns (l%2)*8 .. +8 of every fragment,
// which is where it puts them in the epilogue's staging buffer.
template <typename T, int FM, int FN, int BK>
struct ScalarWarpTile {
  float acc[FM][FN][8];

  __device__ __forceinline__ void Zero() {
    TFCO_UNROLL
    for (int i = 0; i < FM; ++i) {
      TFCO_UNROLL
      for (int j = 0; j < FN; ++j) {
        TFCO_UNROLL
        for (int e = 0; e < 8; ++e) acc[i][j][e] = 0.0f;
      }
    }
  }
  // a: the warp's first A row (row-major, ld); b: its first B column ([c][k]).
  __device__ __forceinline__ void Mma(const T* a, const T* b, int ld,
                                      int lane) {
#if defined(TFCO_CUDA_EMULATION)
    // The contract load_matrix_sync has on a GPU: 32-byte aligned fragment
    // pointers, ldm a multiple of 16 bytes. Checked here, where WMMA is not.
    for (int kk = 0; kk < BK; kk += 16) {
      for (int i = 0; i < FM; ++i) CheckWmmaPointer(a + i * 16 * ld + kk, ld);
      for (int j = 0; j < FN; ++j) CheckWmmaPointer(b + j * 16 * ld + kk, ld);
    }
#endif
    const int lr = lane >> 1;
    const int lc = (lane & 1) * 8;
    for (int k = 0; k < BK; ++k) {
      TFCO_UNROLL
      for (int i = 0; i < FM; ++i) {
        const float av = ToFloat(a[(i * 16 + lr) * ld + k]);
        TFCO_UNROLL
        for (int j = 0; j < FN; ++j) {
          TFCO_UNROLL
          for (int e = 0; e < 8; ++e) {
            acc[i][j][e] += av * ToFloat(b[(j * 16 + lc + e) * ld + k]);
          }
        }
      }
    }
  }
  // Writes fragment (i, j) to a 16 x 16 row-major float buffer.
  __device__ __forceinline__ void Store(int i, int j, float* out, int ld,
                                        int lane) const {
#if defined(TFCO_CUDA_EMULATION)
    CheckWmmaPointer(out, ld);
#endif
    const int lr = lane >> 1;
    const int lc = (lane & 1) * 8;
    TFCO_UNROLL
    for (int e = 0; e < 8; ++e) out[lr * ld + lc + e] = acc[i][j][e];
  }
};

#if !defined(TFCO_CUDA_EMULATION) && defined(__CUDA_ARCH__)
template <typename T, int FM, int FN, int BK>
struct WmmaWarpTile {
  nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float>
      acc[FM][FN];

  __device__ __forceinline__ void Zero() {
    TFCO_UNROLL
    for (int i = 0; i < FM; ++i) {
      TFCO_UNROLL
      for (int j = 0; j < FN; ++j) nvcuda::wmma::fill_fragment(acc[i][j], 0.0f);
    }
  }
  __device__ __forceinline__ void Mma(const T* a, const T* b, int ld,
                                      int /*lane*/) {
    using namespace nvcuda;
    TFCO_UNROLL
    for (int kk = 0; kk < BK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa[FM];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb[FN];
      TFCO_UNROLL
      for (int i = 0; i < FM; ++i) {
        wmma::load_matrix_sync(fa[i], a + i * 16 * ld + kk, ld);
      }
      TFCO_UNROLL
      for (int j = 0; j < FN; ++j) {
        wmma::load_matrix_sync(fb[j], b + j * 16 * ld + kk, ld);
      }
      TFCO_UNROLL
      for (int i = 0; i < FM; ++i) {
        TFCO_UNROLL
        for (int j = 0; j < FN; ++j) {
          wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
      }
    }
  }
  __device__ __forceinline__ void Store(int i, int j, float* out, int ld,
                                        int /*lane*/) const {
    nvcuda::wmma::store_matrix_sync(out, acc[i][j], ld,
                                    nvcuda::wmma::mem_row_major);
  }
};
#endif

template <typename T, int FM, int FN, int BK>
struct WarpTileFor {
  using type = ScalarWarpTile<T, FM, FN, BK>;
};
#if TFCO_WMMA_HALF
template <int FM, int FN, int BK>
struct WarpTileFor<__half, FM, FN, BK> {
  using type = WmmaWarpTile<__half, FM, FN, BK>;
};
#endif
#if TFCO_WMMA_BF16
template <int FM, int FN, int BK>
struct WarpTileFor<__nv_bfloat16, FM, FN, BK> {
  using type = WmmaWarpTile<__nv_bfloat16, FM, FN, BK>;
};
#endif

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_WARP_TILE_H_
