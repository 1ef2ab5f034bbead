// CUDA kernels of conv2d_backprop_input: a tiled shared-memory gather.
//
// The strided problem is split into its stride_rows * stride_cols phases
// (phase_plan.h): dx rows h = a + sh*i and columns x = b + sw*j see only the
// filter taps whose dy index is i + row_offset / j + col_offset, constant per
// tap. Each phase is then an implicit GEMM, per group g:
//   M = batch * rows(a) * cols(b) dx pixels, N = C_g channels,
//   K = row_taps(a) * col_taps(b) * K_g,
//   A[m, (t, k)] = dy[n, i + off_r(t), j + off_c(t), g*K_g + k]  (0 outside dy)
//   B[(t, k), c] = w[r(t), s(t), c, g*K_g + k]
// A thread block owns a BM x BN tile of (dx pixels of one phase) x (channels
// of one group); grid = (tiles over all phases, channel tiles, groups). Rows
// are decoded once at block start into shared tables; the main loop walks
// (row tap, col tap, k chunk) incrementally, so it has no division or modulo.
// dy and filter tiles go through double-buffered, padded shared memory (one
// barrier per K step). Every dx element is written once by its owner: no
// atomics, deterministic.
//
// fp32 / fp64 / int32: SIMT, TM x TN register tiles per thread.
// half / bfloat16: tensor cores (WMMA 16x16x16, fp32 accumulate), 8 warps in a
// 4 x 2 layout each owning 32 x 32; a scalar fallback computes the same warp
// tiles from the same shared buffers where WMMA is unavailable (the host
// emulation, and bfloat16 on sm_75).
// NCHW: device transposes around the NHWC core, through the workspace.
//
// Where each part lives (all headers of this one translation unit):
//   kernel_args.h         PhaseDesc, PhaseTable, GemmArgs: what a launch passes
//   device_math.h         CUDA or emulation headers, TFCO_* macros, element math
//   tile_loader.h         block setup (row decoding) and the global-load Fetcher
//   main_loop.h           the double-buffered main loop of both GEMM kernels
//   simt_kernel.h         the SIMT kernel (float, double, int32)
//   warp_tile.h           scalar and WMMA warp tiles of the tensor-core kernel
//   tensor_core_kernel.h  the tensor-core kernel (half, bfloat16)
//   transpose_kernel.h    the NCHW <-> NHWC transpose
//   non_finite_guard.h    Inf / NaN filters: a flag and a direct gather
//   phase_planning.h      host planning of phases and per-launch tables
// This file is the host side: launch configuration, tile shape per dtype and
// the exported launcher of conv_backprop_input_gpu.h.
//
// Compiles with nvcc, or with g++ as host code when TFCO_CUDA_EMULATION is
// defined (cuda_emulation.h).
#include "cc/kernels/gpu/conv_backprop_input_gpu.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cc/kernels/gpu/device_math.h"
#include "cc/kernels/gpu/kernel_args.h"
#include "cc/kernels/gpu/non_finite_guard.h"
#include "cc/kernels/gpu/phase_planning.h"
#include "cc/kernels/gpu/simt_kernel.h"
#include "cc/kernels/gpu/tensor_core_kernel.h"
#include "cc/kernels/gpu/transpose_kernel.h"

namespace tf_custom_op {
namespace gpu {
namespace {

// Launches kernel<<<grid, block, 0, stream>>>(args...) (cudaLaunchKernel), or
// runs it on the emulated grid.
template <typename... KArgs, typename... Args>
cudaError_t LaunchKernel(void (*kernel)(KArgs...), dim3 grid, dim3 block,
                         cudaStream_t stream, Args&&... args) {
#if defined(TFCO_CUDA_EMULATION)
  (void)stream;
  std::tuple<KArgs...> values(std::forward<Args>(args)...);
  tfco_emu::RunGrid(grid, block,
                    [&] { std::apply([&](auto&... v) { kernel(v...); }, values); });
  return cudaGetLastError();
#else
  std::tuple<KArgs...> values(std::forward<Args>(args)...);
  void* pointers[sizeof...(KArgs) > 0 ? sizeof...(KArgs) : 1];
  std::apply(
      [&](auto&... v) {
        int idx = 0;
        ((pointers[idx++] = static_cast<void*>(&v)), ...);
      },
      values);
  return cudaLaunchKernel(reinterpret_cast<const void*>(kernel), grid, block,
                          pointers, 0, stream);
#endif
}

constexpr GpuStatus kOkStatus{GpuError::kOk, nullptr};
constexpr GpuStatus kTooLarge{
    GpuError::kTooLarge,
    "Conv2DBackpropInput GPU kernel: a dimension is too large (spatial sizes "
    "and offsets must stay below 2^29, depths below 2^31)"};

GpuStatus BadArgument(const char* message) {
  return GpuStatus{GpuError::kBadArgument, message};
}

GpuStatus FromCuda(cudaError_t err) {
  return err == cudaSuccess
             ? kOkStatus
             : GpuStatus{GpuError::kLaunchFailed, cudaGetErrorString(err)};
}

template <typename U>
cudaError_t LaunchTranspose(const void* src, void* dst, int64_t rows,
                            int64_t cols, int64_t batch, cudaStream_t stream) {
  if (rows == 0 || cols == 0 || batch == 0) return cudaSuccess;
  const int64_t gx = std::min<int64_t>((cols + 31) / 32, 65535);
  const int64_t gy = std::min<int64_t>((rows + 31) / 32, 65535);
  const int64_t gz = std::min<int64_t>(batch, 65535);
  return LaunchKernel(&TransposeKernel<U>,
                      dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy),
                           static_cast<unsigned>(gz)),
                      dim3(32, 8, 1), stream, static_cast<const U*>(src),
                      static_cast<U*>(dst), rows, cols, batch);
}

cudaError_t Transpose(size_t elem_size, const void* src, void* dst,
                      int64_t rows, int64_t cols, int64_t batch,
                      cudaStream_t stream) {
  switch (elem_size) {
    case 2: return LaunchTranspose<uint16_t>(src, dst, rows, cols, batch, stream);
    case 4: return LaunchTranspose<uint32_t>(src, dst, rows, cols, batch, stream);
    default: return LaunchTranspose<uint64_t>(src, dst, rows, cols, batch, stream);
  }
}

// Launches the GEMM kernel over all phases (chunks of kMaxPhasesPerLaunch)
// and groups (chunks of 65535).
template <typename T, int BM, int BN, int BK>
GpuStatus LaunchGemm(void (*kernel)(GemmArgs<T>), int threads,
                     const ConvProblem& p, const PhasePlan& plan,
                     const T* dy, const T* w, T* dx, const int32_t* skip_flag,
                     cudaStream_t stream) {
  GemmArgs<T> args{};
  args.skip_if_flagged = skip_flag;
  args.dy = dy;
  args.w = w;
  args.dx = dx;
  args.H = static_cast<int32_t>(p.in_rows);
  args.W = static_cast<int32_t>(p.in_cols);
  args.C = static_cast<int32_t>(p.in_depth);
  args.P = static_cast<int32_t>(p.out_rows);
  args.Q = static_cast<int32_t>(p.out_cols);
  args.K = static_cast<int32_t>(p.out_depth);
  args.Cg = static_cast<int32_t>(p.filter_depth);
  args.Kg = static_cast<int32_t>(p.out_depth_per_group);
  args.sh = static_cast<int32_t>(p.stride_rows);
  args.sw = static_cast<int32_t>(p.stride_cols);
  args.row_off_step = plan.row_off_step;
  args.col_off_step = plan.col_off_step;
  args.k_chunks = static_cast<int32_t>((p.out_depth_per_group + BK - 1) / BK);
  args.filter_col_stride = p.filter_depth * p.out_depth;
  args.filter_row_stride = p.filter_cols * args.filter_col_stride;
  args.row_tap_stride = plan.row_tap_step * args.filter_row_stride;
  args.col_tap_stride = plan.col_tap_step * args.filter_col_stride;
  const int64_t channel_tiles = (p.filter_depth + BN - 1) / BN;
  if (channel_tiles > 65535) return kTooLarge;

  for (size_t first = 0; first < plan.phases.size();
       first += kMaxPhasesPerLaunch) {
    const int64_t tiles = FillPhaseTable(plan, first, BM, &args.table);
    if (tiles < 0) return kTooLarge;
    if (tiles == 0) continue;
    for (int64_t g0 = 0; g0 < p.groups; g0 += 65535) {
      args.group_begin = static_cast<int32_t>(g0);
      const int64_t gz = std::min<int64_t>(p.groups - g0, 65535);
      const GpuStatus status = FromCuda(LaunchKernel(
          kernel,
          dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(channel_tiles),
               static_cast<unsigned>(gz)),
          dim3(static_cast<unsigned>(threads), 1, 1), stream, args));
      if (!status.ok()) return status;
    }
  }
  return kOkStatus;
}

template <typename T, int BM, int BN, int BK, int TM, int TN>
GpuStatus LaunchSimt(const ConvProblem& p, const PhasePlan& plan,
                     const T* dy, const T* w, T* dx, const int32_t* skip_flag,
                     cudaStream_t stream) {
  return LaunchGemm<T, BM, BN, BK>(&SimtGatherKernel<T, BM, BN, BK, TM, TN>,
                                   (BM / TM) * (BN / TN), p, plan, dy, w, dx,
                                   skip_flag, stream);
}

template <typename T>
GpuStatus LaunchTensorCore(const ConvProblem& p,
                           const PhasePlan& plan, const T* dy, const T* w,
                           T* dx, const int32_t* skip_flag, cudaStream_t stream) {
  return LaunchGemm<T, kTcBM, kTcBN, kTcBK>(&TensorCoreGatherKernel<T>,
                                            kTcThreads, p, plan, dy, w, dx,
                                            skip_flag, stream);
}

// Tile shape by channels per group: narrow groups waste less of a wide tile.
template <typename T>
GpuStatus RunGemm(const ConvProblem& p, const PhasePlan& plan,
                  const T* dy, const T* w, T* dx, const int32_t* skip_flag,
                  cudaStream_t stream) {
  if (p.filter_depth > 64) {
    return LaunchSimt<T, 128, 128, 8, 8, 8>(p, plan, dy, w, dx, skip_flag, stream);
  }
  if (p.filter_depth > 32) {
    return LaunchSimt<T, 128, 64, 8, 8, 4>(p, plan, dy, w, dx, skip_flag, stream);
  }
  return LaunchSimt<T, 64, 32, 8, 4, 4>(p, plan, dy, w, dx, skip_flag, stream);
}
template <>
GpuStatus RunGemm<__half>(const ConvProblem& p,
                          const PhasePlan& plan, const __half* dy,
                          const __half* w, __half* dx, const int32_t* skip_flag,
                          cudaStream_t stream) {
  return LaunchTensorCore(p, plan, dy, w, dx, skip_flag, stream);
}
template <>
GpuStatus RunGemm<__nv_bfloat16>(const ConvProblem& p,
                                 const PhasePlan& plan,
                                 const __nv_bfloat16* dy,
                                 const __nv_bfloat16* w, __nv_bfloat16* dx,
                                 const int32_t* skip_flag, cudaStream_t stream) {
  return LaunchTensorCore(p, plan, dy, w, dx, skip_flag, stream);
}

size_t AlignUp(size_t v) { return (v + 255) & ~static_cast<size_t>(255); }

size_t ElementSize(GpuDtype dtype) {
  switch (dtype) {
#define TFCO_ELEMENT_SIZE(tf_type, attr_name, py_name, code, cuda_type, bytes) \
  case GpuDtype::code:                                                        \
    return bytes;
    TF_CUSTOM_OP_DTYPES(TFCO_ELEMENT_SIZE)
#undef TFCO_ELEMENT_SIZE
  }
  return 0;
}

// The workspace's first kFlagBytes hold the non-finite flag (floating
// dtypes); the NCHW staging buffers follow.
constexpr size_t kFlagBytes = 256;
bool HasFlag(GpuDtype dtype) { return dtype != GpuDtype::kInt32; }

// Steps 1 and 3 of non_finite_guard.h around the GEMM kernels.
template <typename T>
GpuStatus LaunchFlagNonFinite(const ConvProblem& p, const T* w, int32_t* flag,
                              cudaStream_t stream) {
  GpuStatus status = FromCuda(cudaMemsetAsync(flag, 0, sizeof(int32_t), stream));
  if (!status.ok()) return status;
  const int64_t n = p.filter_rows * p.filter_cols * p.filter_depth * p.out_depth;
  const int64_t blocks = std::min<int64_t>((n + 255) / 256, 1024);
  return FromCuda(LaunchKernel(&FlagNonFiniteKernel<T>,
                               dim3(static_cast<unsigned>(blocks), 1, 1), dim3(256, 1, 1),
                               stream, w, n, flag));
}

template <typename T>
GpuStatus LaunchDirectGather(const ConvProblem& p, const T* dy, const T* w, T* dx,
                             const int32_t* flag, cudaStream_t stream) {
  const DirectArgs a{p.batch,        p.in_rows,       p.in_cols,       p.in_depth,
                     p.out_rows,     p.out_cols,      p.out_depth,     p.filter_rows,
                     p.filter_cols,  p.filter_depth,  p.out_depth_per_group,
                     p.stride_rows,  p.stride_cols,   p.dilation_rows, p.dilation_cols,
                     p.pad_top,      p.pad_left};
  const int64_t total = p.batch * p.in_rows * p.in_cols * p.in_depth;
  // Few blocks: when the flag is clear (always, in practice) they only read it.
  const int64_t blocks = std::min<int64_t>((total + 255) / 256, 1024);
  return FromCuda(LaunchKernel(&DirectGatherKernel<T>,
                               dim3(static_cast<unsigned>(blocks), 1, 1), dim3(256, 1, 1),
                               stream, a, dy, w, dx, flag));
}

template <typename T>
GpuStatus RunTyped(const ConvProblem& p, bool nchw,
                   const void* filter, const void* out_backprop,
                   void* in_backprop, void* workspace, cudaStream_t stream) {
  PhasePlan plan;
  if (!MakePhasePlan(p, &plan)) return kTooLarge;
  const T* dy = static_cast<const T*>(out_backprop);
  T* dx = static_cast<T*>(in_backprop);
  const T* w = static_cast<const T*>(filter);
  T* dx_nhwc = dx;
  unsigned char* ws = static_cast<unsigned char*>(workspace);
  int32_t* flag = nullptr;
  if constexpr (!std::is_same_v<T, int32_t>) {
    flag = reinterpret_cast<int32_t*>(ws);
    ws += kFlagBytes;
  }
  if (nchw) {
    T* dy_nhwc = reinterpret_cast<T*>(ws);
    dx_nhwc = reinterpret_cast<T*>(
        ws + AlignUp(static_cast<size_t>(p.batch * p.out_rows * p.out_cols *
                                         p.out_depth) *
                     sizeof(T)));
    // dy: per image [K][P*Q] -> [P*Q][K].
    const GpuStatus status =
        FromCuda(Transpose(sizeof(T), dy, dy_nhwc, p.out_depth,
                           p.out_rows * p.out_cols, p.batch, stream));
    if (!status.ok()) return status;
    dy = dy_nhwc;
  }
  if (flag != nullptr) {
    const GpuStatus status = LaunchFlagNonFinite(p, w, flag, stream);
    if (!status.ok()) return status;
  }
  GpuStatus status = RunGemm<T>(p, plan, dy, w, dx_nhwc, flag, stream);
  if (!status.ok()) return status;
  if (flag != nullptr) {
    status = LaunchDirectGather(p, dy, w, dx_nhwc, flag, stream);
    if (!status.ok()) return status;
  }
  if (!nchw) return status;
  // dx: per image [H*W][C] -> [C][H*W].
  return FromCuda(Transpose(sizeof(T), dx_nhwc, dx, p.in_rows * p.in_cols,
                            p.in_depth, p.batch, stream));
}

}  // namespace

size_t ConvBackpropInputWorkspaceBytes(GpuDtype dtype,
                                       const ConvProblem& p,
                                       bool nchw) {
  const size_t flag_bytes = HasFlag(dtype) ? kFlagBytes : 0;
  if (!nchw) return flag_bytes;
  const size_t e = ElementSize(dtype);
  return flag_bytes + AlignUp(static_cast<size_t>(p.batch * p.out_rows * p.out_cols *
                                     p.out_depth) * e) +
         AlignUp(static_cast<size_t>(p.batch * p.in_rows * p.in_cols *
                                     p.in_depth) * e);
}

GpuStatus LaunchZeroFill(void* ptr, size_t bytes, void* stream) {
  if (bytes == 0) return kOkStatus;
  return FromCuda(
      cudaMemsetAsync(ptr, 0, bytes, static_cast<cudaStream_t>(stream)));
}

GpuStatus LaunchConvBackpropInput(GpuDtype dtype,
                                  const ConvProblem& p, bool nchw,
                                  const void* filter, const void* out_backprop,
                                  void* in_backprop, void* workspace,
                                  size_t workspace_bytes,
                                  void* stream_handle) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_handle);
  const int64_t dx_elems = p.batch * p.in_rows * p.in_cols * p.in_depth;
  if (dx_elems == 0) return kOkStatus;
  if (p.batch < 0 || p.in_rows < 0 || p.in_cols < 0 || p.in_depth < 0 ||
      p.filter_depth <= 0 || p.groups <= 0 || p.stride_rows <= 0 ||
      p.stride_cols <= 0 || p.dilation_rows <= 0 || p.dilation_cols <= 0 ||
      p.groups * p.filter_depth != p.in_depth ||
      p.groups * p.out_depth_per_group != p.out_depth) {
    return BadArgument("Conv2DBackpropInput GPU kernel: inconsistent parameters");
  }
  const size_t elem = ElementSize(dtype);
  if (elem == 0) {
    return BadArgument("Conv2DBackpropInput GPU kernel: unsupported dtype");
  }
  if (p.batch * p.out_rows * p.out_cols * p.out_depth == 0 ||
      p.filter_rows * p.filter_cols == 0) {
    return LaunchZeroFill(in_backprop, static_cast<size_t>(dx_elems) * elem,
                          stream_handle);
  }
  const int64_t dims[] = {p.in_rows, p.in_cols, p.out_rows, p.out_cols,
                          p.filter_rows, p.filter_cols, p.stride_rows,
                          p.stride_cols};
  for (int64_t v : dims) {
    if (v >= kMaxDim) return kTooLarge;
  }
  if (p.in_depth > INT32_MAX || p.out_depth > INT32_MAX ||
      p.dilation_rows >= kMaxDim || p.dilation_cols >= kMaxDim) {
    return kTooLarge;
  }
  if (workspace_bytes < ConvBackpropInputWorkspaceBytes(dtype, p, nchw)) {
    return BadArgument("Conv2DBackpropInput GPU kernel: workspace too small");
  }
  switch (dtype) {
#define TFCO_RUN_TYPED(tf_type, attr_name, py_name, code, cuda_type, bytes)                \
  case GpuDtype::code:                                                                    \
    return RunTyped<cuda_type>(p, nchw, filter, out_backprop, in_backprop, workspace, stream);
    TF_CUSTOM_OP_DTYPES(TFCO_RUN_TYPED)
#undef TFCO_RUN_TYPED
  }
  return BadArgument("Conv2DBackpropInput GPU kernel: unsupported dtype");
}

}  // namespace gpu
}  // namespace tf_custom_op
