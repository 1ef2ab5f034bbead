// The plain structs one GEMM launch of the CUDA kernel receives: the phase
// table (PhaseDesc, PhaseTable) and the per-launch arguments (GemmArgs).
//
// Kept apart from the kernels so that the host-side planning
// (phase_planning.h) and its plain-g++ unit test can build the same structs
// without CUDA: this header includes nothing but <cstdint>. Everything is
// passed to the kernels by value, so no constant-memory state is shared
// between concurrent launches.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_KERNEL_ARGS_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_KERNEL_ARGS_H_

#include <cstdint>

// Host and device code under nvcc; plain inline code for g++ (the emulation
// build and the host-only unit tests).
#if defined(__CUDACC__)
#define TFCO_HOST_DEVICE_INLINE __host__ __device__ __forceinline__
#else
#define TFCO_HOST_DEVICE_INLINE inline
#endif

namespace tf_custom_op {
namespace gpu {

constexpr int kMaxPhasesPerLaunch = 32;
// Spatial sizes, strides, dilations and tap offsets stay below this, so the
// kernels' 32-bit index arithmetic cannot overflow.
constexpr int64_t kMaxDim = int64_t{1} << 29;

struct PhaseDesc {
  int32_t a, b;              // row / column phase
  int32_t rows, cols;        // dx rows / columns in the phase
  int32_t row_taps, col_taps;
  int32_t row_off0, col_off0;  // dy offset of the first tap
  int32_t r0, s0;            // first filter row / column of the phase
  int32_t tile_begin;        // first blockIdx.x of the phase
  int64_t m;                 // batch * rows * cols
};

struct PhaseTable {
  int32_t count;
  PhaseDesc phase[kMaxPhasesPerLaunch];
};

// The phase that thread block `block` (its blockIdx.x) works on: the last
// phase whose first tile is at or before it. A phase without rows has no
// tiles and shares its tile_begin with the next one, so it is never chosen.
TFCO_HOST_DEVICE_INLINE int PhaseOfBlock(const PhaseTable& table,
                                         int32_t block) {
  int ph = 0;
  for (int q = 1; q < table.count; ++q) {
    if (block >= table.phase[q].tile_begin) {
      ph = q;
    }
  }
  return ph;
}

template <typename T>
struct GemmArgs {
  const T* dy;  // NHWC [N, P, Q, K]
  const T* w;   // HWIO [R, S, Cg, K]
  T* dx;        // NHWC [N, H, W, C]
  int32_t H, W, C, P, Q, K;
  int32_t Cg, Kg;
  int32_t sh, sw;
  int32_t row_off_step, col_off_step;  // dy offset change between taps
  int32_t k_chunks;                    // ceil(Kg / BK)
  int32_t group_begin;
  int64_t filter_row_stride, filter_col_stride;  // S*Cg*K, Cg*K
  int64_t row_tap_stride, col_tap_stride;  // filter offset between taps
  // Device flag set when the filter holds Inf or NaN (non_finite_guard.h):
  // the kernel then leaves dx to the direct gather. nullptr: never skip.
  const int32_t* skip_if_flagged;
  PhaseTable table;
};

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_KERNEL_ARGS_H_
