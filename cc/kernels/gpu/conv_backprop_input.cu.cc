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
// Compiles with nvcc, or with g++ as host code when TFCO_CUDA_EMULATION is
// defined (cuda_emulation.h).
#include "cc/kernels/gpu/conv_backprop_input_gpu.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <utility>
#include <vector>

#include "cc/kernels/phase_plan.h"

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
namespace {

// ---------------------------------------------------------------------------
// Kernel parameters (passed by value: no constant-memory state shared between
// concurrent launches).

constexpr int kMaxPhasesPerLaunch = 32;
constexpr int32_t kInvalidRow = -(1 << 30);  // i + offset never lands in dy
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
  PhaseTable table;
};

// ---------------------------------------------------------------------------
// Element helpers.

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

// ---------------------------------------------------------------------------
// Block setup shared by both GEMM kernels.

// Finds this block's phase (a short scan at block start) and decodes the
// block's BM rows into shared tables: dx offset (-1 past the phase's end),
// dy offset of (n, i, j, group) and the phase-local (i, j). The only
// divisions of the kernels are here, once per row per block.
template <typename T, int BM, int NT>
__device__ __forceinline__ PhaseDesc DecodeBlockRows(const GemmArgs<T>& args,
                                                     int64_t* s_dx_off,
                                                     int64_t* s_dy_off,
                                                     int32_t* s_i,
                                                     int32_t* s_j) {
  int ph = 0;
  for (int q = 1; q < args.table.count; ++q) {
    if (static_cast<int32_t>(blockIdx.x) >= args.table.phase[q].tile_begin) {
      ph = q;
    }
  }
  const PhaseDesc d = args.table.phase[ph];
  const int64_t m_start =
      static_cast<int64_t>(static_cast<int32_t>(blockIdx.x) - d.tile_begin) *
      BM;
  const int64_t g = args.group_begin + static_cast<int64_t>(blockIdx.z);
  const int64_t plane = static_cast<int64_t>(d.rows) * d.cols;
  for (int t = static_cast<int>(threadIdx.x); t < BM; t += NT) {
    const int64_t m = m_start + t;
    if (m < d.m) {
      const int64_t n = m / plane;
      const int64_t rem = m - n * plane;
      const int64_t i = rem / d.cols;
      const int64_t j = rem - i * d.cols;
      const int64_t h = d.a + args.sh * i;
      const int64_t x = d.b + args.sw * j;
      s_dx_off[t] = ((n * args.H + h) * args.W + x) * args.C + g * args.Cg;
      s_dy_off[t] = ((n * args.P + i) * args.Q + j) * args.K + g * args.Kg;
      s_i[t] = static_cast<int32_t>(i);
      s_j[t] = static_cast<int32_t>(j);
    } else {
      s_dx_off[t] = -1;
      s_dy_off[t] = 0;
      s_i[t] = kInvalidRow;
      s_j[t] = kInvalidRow;
    }
  }
  return d;
}

// Global -> register part of the main loop. Thread `tid` loads kALen
// consecutive k of one dy row (A) and kBLen consecutive k of one filter
// column (B); both runs are contiguous in memory (NHWC dy, HWIO filter).
// Values outside dy, past K_g or past C_g load as zero.
template <typename T, int BM, int BN, int BK, int NT>
struct Fetcher {
  static constexpr int kAThreadsPerRow = NT / BM;
  static constexpr int kALen = BK / kAThreadsPerRow;
  static constexpr int kBThreadsPerCol = NT / BN;
  static constexpr int kBLen = BK / kBThreadsPerCol;
  static_assert(NT % BM == 0 && BK % kAThreadsPerRow == 0, "A loader shape");
  static_assert(NT % BN == 0 && BK % kBThreadsPerCol == 0, "B loader shape");

  int a_row, a_k, b_col, b_k;
  int32_t a_i, a_j;
  int64_t a_base;  // dy offset of (n, i, j, g * K_g)
  bool b_ok;
  int64_t b_base;  // filter offset of (0, 0, c, g * K_g)
  // Position in the (row tap, col tap, k chunk) walk.
  int32_t k0, tc, off_r, off_c;
  int64_t w_row, w_tap;  // filter offsets of (r, s0) and (r, s)
  T a_reg[kALen];
  T b_reg[kBLen];

  __device__ __forceinline__ void Init(const GemmArgs<T>& args,
                                       const PhaseDesc& d, int tid,
                                       int32_t c_start,
                                       const int64_t* s_dy_off,
                                       const int32_t* s_i,
                                       const int32_t* s_j) {
    a_row = tid / kAThreadsPerRow;
    a_k = (tid - a_row * kAThreadsPerRow) * kALen;
    b_col = tid / kBThreadsPerCol;
    b_k = (tid - b_col * kBThreadsPerCol) * kBLen;
    a_i = s_i[a_row];
    a_j = s_j[a_row];
    a_base = s_dy_off[a_row];
    const int32_t c = c_start + b_col;
    const int64_t g = args.group_begin + static_cast<int64_t>(blockIdx.z);
    b_ok = c < args.Cg;
    b_base = static_cast<int64_t>(c) * args.K + g * args.Kg;
    k0 = 0;
    tc = 0;
    off_r = d.row_off0;
    off_c = d.col_off0;
    w_row = d.r0 * args.filter_row_stride + d.s0 * args.filter_col_stride;
    w_tap = w_row;
  }

  __device__ __forceinline__ void Fetch(const GemmArgs<T>& args) {
    const bool a_ok =
        static_cast<uint32_t>(a_i + off_r) < static_cast<uint32_t>(args.P) &&
        static_cast<uint32_t>(a_j + off_c) < static_cast<uint32_t>(args.Q);
    const int64_t a_off =
        a_ok ? a_base + (static_cast<int64_t>(off_r) * args.Q + off_c) * args.K
             : 0;
    const T* a_src = args.dy + a_off + k0 + a_k;
    const int32_t a_left = args.Kg - k0 - a_k;  // valid k in this run
    TFCO_UNROLL
    for (int e = 0; e < kALen; ++e) {
      a_reg[e] = (a_ok && e < a_left) ? a_src[e] : ZeroOf<T>();
    }
    const T* b_src = args.w + (b_ok ? w_tap + b_base : 0) + k0 + b_k;
    const int32_t b_left = args.Kg - k0 - b_k;
    TFCO_UNROLL
    for (int e = 0; e < kBLen; ++e) {
      b_reg[e] = (b_ok && e < b_left) ? b_src[e] : ZeroOf<T>();
    }
  }

  // Next k chunk; at the end of K_g the next column tap; at the end of the
  // column taps the next row tap. Increments only.
  __device__ __forceinline__ void Advance(const GemmArgs<T>& args,
                                          const PhaseDesc& d) {
    k0 += BK;
    if (k0 >= args.Kg) {
      k0 = 0;
      ++tc;
      off_c -= args.col_off_step;
      w_tap += args.col_tap_stride;
      if (tc == d.col_taps) {
        tc = 0;
        off_c = d.col_off0;
        off_r -= args.row_off_step;
        w_row += args.row_tap_stride;
        w_tap = w_row;
      }
    }
  }
};

// ---------------------------------------------------------------------------
// SIMT kernel (float, double, int32): BM x BN block tile, BK deep K steps,
// TM x TN accumulators per thread. Thread (tx, ty) owns rows ty + i*(BM/TM)
// and channels tx + j*(BN/TN): the strided ownership makes both shared reads
// conflict-free (broadcast for A, consecutive words for B) and the stores
// coalesced along channels.
template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    SimtGatherKernel(const GemmArgs<T> args) {
  constexpr int NT = (BM / TM) * (BN / TN);
  constexpr int kPad = 4;
  constexpr int kRowThreads = BM / TM;
  constexpr int kColThreads = BN / TN;
  using Fetch = Fetcher<T, BM, BN, BK, NT>;

  __shared__ T As[2][BK][BM + kPad];
  __shared__ T Bs[2][BK][BN + kPad];
  __shared__ int64_t s_dx_off[BM];
  __shared__ int64_t s_dy_off[BM];
  __shared__ int32_t s_i[BM];
  __shared__ int32_t s_j[BM];

  const int tid = static_cast<int>(threadIdx.x);
  const PhaseDesc d =
      DecodeBlockRows<T, BM, NT>(args, s_dx_off, s_dy_off, s_i, s_j);
  const int32_t c_start = static_cast<int32_t>(blockIdx.y) * BN;
  __syncthreads();

  Fetch f;
  f.Init(args, d, tid, c_start, s_dy_off, s_i, s_j);
  const int tx = tid % kColThreads;
  const int ty = tid / kColThreads;

  T acc[TM][TN];
  TFCO_UNROLL
  for (int i = 0; i < TM; ++i) {
    TFCO_UNROLL
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);
  }

  const int total = d.row_taps * d.col_taps * args.k_chunks;
  if (total > 0) {
    f.Fetch(args);
    TFCO_UNROLL
    for (int e = 0; e < Fetch::kALen; ++e) As[0][f.a_k + e][f.a_row] = f.a_reg[e];
    TFCO_UNROLL
    for (int e = 0; e < Fetch::kBLen; ++e) Bs[0][f.b_k + e][f.b_col] = f.b_reg[e];
    __syncthreads();
  }
  int buf = 0;
  for (int it = 0; it < total; ++it) {
    const bool more = it + 1 < total;
    if (more) {
      f.Advance(args, d);
      f.Fetch(args);  // in flight while this step computes
    }
    TFCO_UNROLL
    for (int k = 0; k < BK; ++k) {
      T a[TM], b[TN];
      TFCO_UNROLL
      for (int i = 0; i < TM; ++i) a[i] = As[buf][k][ty + i * kRowThreads];
      TFCO_UNROLL
      for (int j = 0; j < TN; ++j) b[j] = Bs[buf][k][tx + j * kColThreads];
      TFCO_UNROLL
      for (int i = 0; i < TM; ++i) {
        TFCO_UNROLL
        for (int j = 0; j < TN; ++j) acc[i][j] = MulAdd(a[i], b[j], acc[i][j]);
      }
    }
    if (more) {
      // The other buffer was last read in the previous step, before the
      // barrier every thread passed since: one barrier per step suffices.
      const int nb = buf ^ 1;
      TFCO_UNROLL
      for (int e = 0; e < Fetch::kALen; ++e) As[nb][f.a_k + e][f.a_row] = f.a_reg[e];
      TFCO_UNROLL
      for (int e = 0; e < Fetch::kBLen; ++e) Bs[nb][f.b_k + e][f.b_col] = f.b_reg[e];
      __syncthreads();
      buf = nb;
    }
  }

  // Epilogue: each owned dx element written once.
  TFCO_UNROLL
  for (int i = 0; i < TM; ++i) {
    const int64_t off = s_dx_off[ty + i * kRowThreads];
    if (off < 0) continue;
    TFCO_UNROLL
    for (int j = 0; j < TN; ++j) {
      const int32_t c = c_start + tx + j * kColThreads;
      if (c < args.Cg) args.dx[off + c] = acc[i][j];
    }
  }
}

// ---------------------------------------------------------------------------
// Tensor-core kernel (half, bfloat16). Shared tiles: As[buf][m][k] (row-major
// matrix_a) and Bs[buf][c][k] (col-major matrix_b), rows padded by 8
// elements (16 bytes) so that the 16 rows of a fragment spread over the
// banks. 8 warps, 4 (rows) x 2 (channels), each 32 x 32 = 2 x 2 fragments.

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

constexpr int kTcBM = 128, kTcBN = 64, kTcBK = 32;
constexpr int kTcWarpsM = 4, kTcWarpsN = 2;
constexpr int kTcThreads = 32 * kTcWarpsM * kTcWarpsN;

template <typename T>
__global__ void __launch_bounds__(kTcThreads)
    TensorCoreGatherKernel(const GemmArgs<T> args) {
  constexpr int BM = kTcBM, BN = kTcBN, BK = kTcBK, NT = kTcThreads;
  constexpr int kWarpM = BM / kTcWarpsM;  // 32
  constexpr int kWarpN = BN / kTcWarpsN;  // 32
  constexpr int FM = kWarpM / 16, FN = kWarpN / 16;
  constexpr int kLd = BK + 8;  // elements; a multiple of 8 (16 bytes)
  constexpr int kABytes = 2 * BM * kLd * static_cast<int>(sizeof(T));
  constexpr int kBBytes = 2 * BN * kLd * static_cast<int>(sizeof(T));
  constexpr int kStageLd = 16 + 4;  // floats; a multiple of 4
  constexpr int kStageBytes = (NT / 32) * 16 * kStageLd * 4;
  constexpr int kSmemBytes =
      kABytes + kBBytes > kStageBytes ? kABytes + kBBytes : kStageBytes;
  using Fetch = Fetcher<T, BM, BN, BK, NT>;
  using WarpTile = typename WarpTileFor<T, FM, FN, BK>::type;
  struct alignas(128) Smem {
    unsigned char bytes[kSmemBytes];
  };

  __shared__ Smem smem;  // A and B tiles, then the epilogue's staging
  __shared__ int64_t s_dx_off[BM];
  __shared__ int64_t s_dy_off[BM];
  __shared__ int32_t s_i[BM];
  __shared__ int32_t s_j[BM];
  T* As = reinterpret_cast<T*>(smem.bytes);
  T* Bs = reinterpret_cast<T*>(smem.bytes + kABytes);

  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int wm = warp / kTcWarpsN;
  const int wn = warp % kTcWarpsN;
  const PhaseDesc d =
      DecodeBlockRows<T, BM, NT>(args, s_dx_off, s_dy_off, s_i, s_j);
  const int32_t c_start = static_cast<int32_t>(blockIdx.y) * BN;
  __syncthreads();

  Fetch f;
  f.Init(args, d, tid, c_start, s_dy_off, s_i, s_j);
  WarpTile tile;
  tile.Zero();

  const int total = d.row_taps * d.col_taps * args.k_chunks;
  if (total > 0) {
    f.Fetch(args);
    TFCO_UNROLL
    for (int e = 0; e < Fetch::kALen; ++e) As[f.a_row * kLd + f.a_k + e] = f.a_reg[e];
    TFCO_UNROLL
    for (int e = 0; e < Fetch::kBLen; ++e) Bs[f.b_col * kLd + f.b_k + e] = f.b_reg[e];
    __syncthreads();
  }
  int buf = 0;
  for (int it = 0; it < total; ++it) {
    const bool more = it + 1 < total;
    if (more) {
      f.Advance(args, d);
      f.Fetch(args);
    }
    const T* a = As + buf * BM * kLd + wm * kWarpM * kLd;
    const T* b = Bs + buf * BN * kLd + wn * kWarpN * kLd;
    tile.Mma(a, b, kLd, lane);
    if (more) {
      const int nb = buf ^ 1;
      T* an = As + nb * BM * kLd;
      T* bn = Bs + nb * BN * kLd;
      TFCO_UNROLL
      for (int e = 0; e < Fetch::kALen; ++e) an[f.a_row * kLd + f.a_k + e] = f.a_reg[e];
      TFCO_UNROLL
      for (int e = 0; e < Fetch::kBLen; ++e) bn[f.b_col * kLd + f.b_k + e] = f.b_reg[e];
      __syncthreads();
      buf = nb;
    }
  }

  // Epilogue: fragments go through a per-warp 16 x 16 float staging buffer
  // (aliasing the A/B tiles, hence the barrier) and out as T, once each.
  __syncthreads();
  float* stage = reinterpret_cast<float*>(smem.bytes) + warp * 16 * kStageLd;
  const int lr = lane >> 1;
  const int lc = (lane & 1) * 8;
  TFCO_UNROLL
  for (int i = 0; i < FM; ++i) {
    TFCO_UNROLL
    for (int j = 0; j < FN; ++j) {
      tile.Store(i, j, stage, kStageLd, lane);
      __syncwarp();
      const int64_t off = s_dx_off[wm * kWarpM + i * 16 + lr];
      const int32_t c0 = c_start + wn * kWarpN + j * 16 + lc;
      if (off >= 0) {
        TFCO_UNROLL
        for (int e = 0; e < 8; ++e) {
          if (c0 + e < args.Cg) {
            args.dx[off + c0 + e] = FromFloat<T>(stage[lr * kStageLd + lc + e]);
          }
        }
      }
      __syncwarp();
    }
  }
}

// ---------------------------------------------------------------------------
// Batched 2-D transpose for NCHW <-> NHWC: per image, src [rows][cols] ->
// dst [cols][rows], through a padded 32 x 33 shared tile. Works on the raw
// bits (U has the element's size). Block (32, 8).
template <typename U>
__global__ void __launch_bounds__(256)
    TransposeKernel(const U* src, U* dst, int64_t rows, int64_t cols,
                    int64_t batch) {
  __shared__ U tile[32][33];
  const int tx = static_cast<int>(threadIdx.x);
  const int ty = static_cast<int>(threadIdx.y);
  const int64_t image = rows * cols;
  for (int64_t n = blockIdx.z; n < batch; n += gridDim.z) {
    const U* s = src + n * image;
    U* t = dst + n * image;
    for (int64_t r0 = static_cast<int64_t>(blockIdx.y) * 32; r0 < rows;
         r0 += static_cast<int64_t>(gridDim.y) * 32) {
      for (int64_t c0 = static_cast<int64_t>(blockIdx.x) * 32; c0 < cols;
           c0 += static_cast<int64_t>(gridDim.x) * 32) {
        for (int k = ty; k < 32; k += 8) {
          const int64_t r = r0 + k, c = c0 + tx;
          if (r < rows && c < cols) tile[k][tx] = s[r * cols + c];
        }
        __syncthreads();
        for (int k = ty; k < 32; k += 8) {
          const int64_t c = c0 + k, r = r0 + tx;
          if (r < rows && c < cols) t[c * rows + r] = tile[tx][k];
        }
        __syncthreads();
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Host side.

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

constexpr const char* kTooLarge =
    "Conv2DBackpropInput GPU kernel: a dimension is too large (spatial sizes "
    "and offsets must stay below 2^29, depths below 2^31)";

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

// The phases of the problem with their taps, in the kernel's table format.
struct PhasePlan {
  std::vector<PhaseDesc> phases;  // tile_begin unset
  int32_t row_off_step = 0, col_off_step = 0;
  int32_t row_tap_step = 0, col_tap_step = 0;  // filter index between taps
};

int64_t Gcd(int64_t a, int64_t b) {
  while (b != 0) {
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Returns false when an offset does not fit the kernel's 32-bit arithmetic.
bool MakePhasePlan(const ConvBackpropInputParams& p, PhasePlan* out) {
  const AxisPlan rows = MakeAxisPlan(p.in_rows, p.filter_rows, p.stride_rows,
                                     p.dilation_rows, p.pad_top);
  const AxisPlan cols = MakeAxisPlan(p.in_cols, p.filter_cols, p.stride_cols,
                                     p.dilation_cols, p.pad_left);
  // Consecutive taps of a phase are stride/gcd(stride, dilation) filter
  // indices apart, and their dy offsets dilation/gcd apart.
  const int64_t gr = Gcd(p.stride_rows, p.dilation_rows);
  const int64_t gc = Gcd(p.stride_cols, p.dilation_cols);
  out->row_tap_step = static_cast<int32_t>(p.stride_rows / gr);
  out->col_tap_step = static_cast<int32_t>(p.stride_cols / gc);
  out->row_off_step = static_cast<int32_t>(p.dilation_rows / gr);
  out->col_off_step = static_cast<int32_t>(p.dilation_cols / gc);
  const auto fits = [](int64_t v) { return v > -kMaxDim && v < kMaxDim; };
  for (const AxisTap& t : rows.taps) {
    if (!fits(t.offset)) return false;
  }
  for (const AxisTap& t : cols.taps) {
    if (!fits(t.offset)) return false;
  }
  out->phases.clear();
  for (size_t a = 0; a < rows.phases.size(); ++a) {
    const AxisPhase& ra = rows.phases[a];
    for (size_t b = 0; b < cols.phases.size(); ++b) {
      const AxisPhase& cb = cols.phases[b];
      PhaseDesc d{};
      d.a = static_cast<int32_t>(a);
      d.b = static_cast<int32_t>(b);
      d.rows = static_cast<int32_t>(ra.count);
      d.cols = static_cast<int32_t>(cb.count);
      d.row_taps = static_cast<int32_t>(ra.num_taps);
      d.col_taps = static_cast<int32_t>(cb.num_taps);
      if (ra.num_taps > 0) {
        const AxisTap& t = rows.taps[static_cast<size_t>(ra.first_tap_slot)];
        d.r0 = static_cast<int32_t>(t.tap);
        d.row_off0 = static_cast<int32_t>(t.offset);
      }
      if (cb.num_taps > 0) {
        const AxisTap& t = cols.taps[static_cast<size_t>(cb.first_tap_slot)];
        d.s0 = static_cast<int32_t>(t.tap);
        d.col_off0 = static_cast<int32_t>(t.offset);
      }
      if (d.row_taps == 0 || d.col_taps == 0) d.row_taps = d.col_taps = 0;
      d.m = p.batch * ra.count * cb.count;
      out->phases.push_back(d);
    }
  }
  return true;
}

// Launches the GEMM kernel over all phases (chunks of kMaxPhasesPerLaunch)
// and groups (chunks of 65535).
template <typename T, int BM, int BN, int BK>
const char* LaunchGemm(void (*kernel)(GemmArgs<T>), int threads,
                       const ConvBackpropInputParams& p, const PhasePlan& plan,
                       const T* dy, const T* w, T* dx, cudaStream_t stream) {
  GemmArgs<T> args{};
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

  const size_t num_phases = plan.phases.size();
  for (size_t first = 0; first < num_phases; first += kMaxPhasesPerLaunch) {
    const size_t count =
        std::min<size_t>(kMaxPhasesPerLaunch, num_phases - first);
    args.table.count = static_cast<int32_t>(count);
    int64_t tiles = 0;
    for (size_t q = 0; q < count; ++q) {
      PhaseDesc d = plan.phases[first + q];
      d.tile_begin = static_cast<int32_t>(tiles);
      args.table.phase[q] = d;
      tiles += (d.m + BM - 1) / BM;
      if (tiles > INT32_MAX) return kTooLarge;
    }
    if (tiles == 0) continue;
    for (int64_t g0 = 0; g0 < p.groups; g0 += 65535) {
      args.group_begin = static_cast<int32_t>(g0);
      const int64_t gz = std::min<int64_t>(p.groups - g0, 65535);
      const cudaError_t err = LaunchKernel(
          kernel,
          dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(channel_tiles),
               static_cast<unsigned>(gz)),
          dim3(static_cast<unsigned>(threads), 1, 1), stream, args);
      if (err != cudaSuccess) return cudaGetErrorString(err);
    }
  }
  return nullptr;
}

template <typename T, int BM, int BN, int BK, int TM, int TN>
const char* LaunchSimt(const ConvBackpropInputParams& p, const PhasePlan& plan,
                       const T* dy, const T* w, T* dx, cudaStream_t stream) {
  return LaunchGemm<T, BM, BN, BK>(&SimtGatherKernel<T, BM, BN, BK, TM, TN>,
                                   (BM / TM) * (BN / TN), p, plan, dy, w, dx,
                                   stream);
}

// Tile shape by channels per group: narrow groups waste less of a wide tile.
template <typename T>
const char* RunGemm(const ConvBackpropInputParams& p, const PhasePlan& plan,
                    const T* dy, const T* w, T* dx, cudaStream_t stream) {
  if (p.filter_depth > 64) {
    return LaunchSimt<T, 128, 128, 8, 8, 8>(p, plan, dy, w, dx, stream);
  }
  if (p.filter_depth > 32) {
    return LaunchSimt<T, 128, 64, 8, 8, 4>(p, plan, dy, w, dx, stream);
  }
  return LaunchSimt<T, 64, 32, 8, 4, 4>(p, plan, dy, w, dx, stream);
}
template <>
const char* RunGemm<__half>(const ConvBackpropInputParams& p,
                            const PhasePlan& plan, const __half* dy,
                            const __half* w, __half* dx, cudaStream_t stream) {
  return LaunchGemm<__half, kTcBM, kTcBN, kTcBK>(
      &TensorCoreGatherKernel<__half>, kTcThreads, p, plan, dy, w, dx, stream);
}
template <>
const char* RunGemm<__nv_bfloat16>(const ConvBackpropInputParams& p,
                                   const PhasePlan& plan,
                                   const __nv_bfloat16* dy,
                                   const __nv_bfloat16* w, __nv_bfloat16* dx,
                                   cudaStream_t stream) {
  return LaunchGemm<__nv_bfloat16, kTcBM, kTcBN, kTcBK>(
      &TensorCoreGatherKernel<__nv_bfloat16>, kTcThreads, p, plan, dy, w, dx,
      stream);
}

size_t AlignUp(size_t v) { return (v + 255) & ~static_cast<size_t>(255); }

size_t ElementSize(GpuDtype dtype) {
  switch (dtype) {
    case GpuDtype::kHalf:
    case GpuDtype::kBfloat16: return 2;
    case GpuDtype::kFloat:
    case GpuDtype::kInt32: return 4;
    case GpuDtype::kDouble: return 8;
  }
  return 0;
}

template <typename T>
const char* RunTyped(const ConvBackpropInputParams& p, bool nchw,
                     const void* filter, const void* out_backprop,
                     void* in_backprop, void* workspace, cudaStream_t stream) {
  PhasePlan plan;
  if (!MakePhasePlan(p, &plan)) return kTooLarge;
  const T* dy = static_cast<const T*>(out_backprop);
  T* dx = static_cast<T*>(in_backprop);
  const T* w = static_cast<const T*>(filter);
  T* dx_nhwc = dx;
  if (nchw) {
    unsigned char* ws = static_cast<unsigned char*>(workspace);
    T* dy_nhwc = reinterpret_cast<T*>(ws);
    dx_nhwc = reinterpret_cast<T*>(
        ws + AlignUp(static_cast<size_t>(p.batch * p.out_rows * p.out_cols *
                                         p.out_depth) *
                     sizeof(T)));
    // dy: per image [K][P*Q] -> [P*Q][K].
    cudaError_t err = Transpose(sizeof(T), dy, dy_nhwc, p.out_depth,
                                p.out_rows * p.out_cols, p.batch, stream);
    if (err != cudaSuccess) return cudaGetErrorString(err);
    dy = dy_nhwc;
  }
  const char* msg = RunGemm<T>(p, plan, dy, w, dx_nhwc, stream);
  if (msg != nullptr) return msg;
  if (nchw) {
    // dx: per image [H*W][C] -> [C][H*W].
    cudaError_t err = Transpose(sizeof(T), dx_nhwc, dx, p.in_rows * p.in_cols,
                                p.in_depth, p.batch, stream);
    if (err != cudaSuccess) return cudaGetErrorString(err);
  }
  return nullptr;
}

}  // namespace

size_t ConvBackpropInputWorkspaceBytes(GpuDtype dtype,
                                       const ConvBackpropInputParams& p,
                                       bool nchw) {
  if (!nchw) return 0;
  const size_t e = ElementSize(dtype);
  return AlignUp(static_cast<size_t>(p.batch * p.out_rows * p.out_cols *
                                     p.out_depth) * e) +
         AlignUp(static_cast<size_t>(p.batch * p.in_rows * p.in_cols *
                                     p.in_depth) * e);
}

const char* LaunchZeroFill(void* ptr, size_t bytes, void* stream) {
  if (bytes == 0) return nullptr;
  const cudaError_t err =
      cudaMemsetAsync(ptr, 0, bytes, static_cast<cudaStream_t>(stream));
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}

const char* LaunchConvBackpropInput(GpuDtype dtype,
                                    const ConvBackpropInputParams& p,
                                    bool nchw, const void* filter,
                                    const void* out_backprop, void* in_backprop,
                                    void* workspace, size_t workspace_bytes,
                                    void* stream_handle) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_handle);
  const int64_t dx_elems = p.batch * p.in_rows * p.in_cols * p.in_depth;
  if (dx_elems == 0) return nullptr;
  if (p.batch < 0 || p.in_rows < 0 || p.in_cols < 0 || p.in_depth < 0 ||
      p.filter_depth <= 0 || p.groups <= 0 || p.stride_rows <= 0 ||
      p.stride_cols <= 0 || p.dilation_rows <= 0 || p.dilation_cols <= 0 ||
      p.groups * p.filter_depth != p.in_depth ||
      p.groups * p.out_depth_per_group != p.out_depth) {
    return "Conv2DBackpropInput GPU kernel: inconsistent parameters";
  }
  const size_t elem = ElementSize(dtype);
  if (elem == 0) return "Conv2DBackpropInput GPU kernel: unsupported dtype";
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
  if (nchw && workspace_bytes < ConvBackpropInputWorkspaceBytes(dtype, p, nchw)) {
    return "Conv2DBackpropInput GPU kernel: workspace too small";
  }
  switch (dtype) {
    case GpuDtype::kHalf:
      return RunTyped<__half>(p, nchw, filter, out_backprop, in_backprop,
                              workspace, stream);
    case GpuDtype::kBfloat16:
      return RunTyped<__nv_bfloat16>(p, nchw, filter, out_backprop,
                                     in_backprop, workspace, stream);
    case GpuDtype::kFloat:
      return RunTyped<float>(p, nchw, filter, out_backprop, in_backprop,
                             workspace, stream);
    case GpuDtype::kDouble:
      return RunTyped<double>(p, nchw, filter, out_backprop, in_backprop,
                              workspace, stream);
    case GpuDtype::kInt32:
      return RunTyped<int32_t>(p, nchw, filter, out_backprop, in_backprop,
                               workspace, stream);
  }
  return "Conv2DBackpropInput GPU kernel: unsupported dtype";
}

}  // namespace gpu
}  // namespace tf_custom_op
