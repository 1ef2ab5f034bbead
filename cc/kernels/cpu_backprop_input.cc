// The CPU computation of cpu_backprop_input.h.
//
// The engine computes in the accumulation type (float for half, bfloat16 and
// float; double; int32) on NHWC. It reads dy and the filter in its element
// type: the accumulation type, or bfloat16 itself where a bfloat16 kernel is
// usable (AMX or AVX512_BF16: element_types.h). Other dtypes and NCHW are
// converted around it; the result is rounded once, on the way out.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cc/kernels/cpu_backprop_input.h"
#include "cc/kernels/op_dtypes.h"
#include "cc/kernels/cpu/bfloat16_convert.h"
#include "cc/kernels/cpu/buffer_pool.h"
#include "cc/kernels/cpu/float_transpose.h"
#include "cc/kernels/cpu/gather_engine.h"
#include "cc/kernels/cpu/half_convert.h"
#include "cc/kernels/cpu/isa_tier.h"
#include "cc/kernels/cpu/row_io.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/parallel_rows.h"
#include "cc/kernels/cpu/pixel_engine.h"
#include "cc/kernels/cpu/run_timing.h"
#include "cc/kernels/cpu/winograd_engine.h"
#include "Eigen/Core"

namespace tf_custom_op {
namespace {

template <typename T>
struct AccumulatorOf {
  using type = float;
};
template <>
struct AccumulatorOf<double> {
  using type = double;
};
template <>
struct AccumulatorOf<int32_t> {
  using type = int32_t;
};

const MicroKernel<float>& SelectKernel(float*) { return SelectFloatKernel(); }
const MicroKernel<double>& SelectKernel(double*) { return SelectDoubleKernel(); }
const MicroKernel<int32_t>& SelectKernel(int32_t*) {
  return SelectInt32Kernel();
}

// A tensor value as an engine element.
template <typename Elem, typename T>
Elem ToElement(T v) {
  return static_cast<Elem>(v);
}
template <>
BFloat16Bits ToElement<BFloat16Bits, Eigen::bfloat16>(Eigen::bfloat16 v) {
  BFloat16Bits out;
  std::memcpy(&out.bits, &v, sizeof(out.bits));
  return out;
}

// Whether T's tensors hold exactly the engine's elements (read in place).
template <typename T, typename Elem>
constexpr bool kSameBits = std::is_same<T, Elem>::value ||
                           (std::is_same<T, Eigen::bfloat16>::value &&
                            std::is_same<Elem, BFloat16Bits>::value);

// Contiguous conversion of n elements to and from the engine's types:
// F16C for half where the CPU has it, else element by element.
template <typename T, typename Elem>
void ConvertIn(const T* src, Elem* dst, int64_t n) {
  if constexpr (std::is_same<T, Eigen::bfloat16>::value && std::is_same<Elem, float>::value) {
    SelectBfloat16Converter().to_float(reinterpret_cast<const uint16_t*>(src), dst, n);
    return;
  }
  if (std::is_same<T, Eigen::half>::value) {
    if (const HalfConverter* f16c = SelectHalfConverter()) {
      f16c->to_float(reinterpret_cast<const uint16_t*>(src),
                     reinterpret_cast<float*>(dst), n);
      return;
    }
  }
  for (int64_t e = 0; e < n; ++e) dst[e] = ToElement<Elem>(src[e]);
}

template <typename T, typename Acc>
void ConvertOut(const Acc* src, T* dst, int64_t n) {
  if constexpr (std::is_same<T, Eigen::bfloat16>::value && std::is_same<Acc, float>::value) {
    SelectBfloat16Converter().from_float(src, reinterpret_cast<uint16_t*>(dst), n);
    return;
  }
  if (std::is_same<T, Eigen::half>::value) {
    if (const HalfConverter* f16c = SelectHalfConverter()) {
      f16c->from_float(reinterpret_cast<const float*>(src),
                       reinterpret_cast<uint16_t*>(dst), n);
      return;
    }
  }
  for (int64_t e = 0; e < n; ++e) dst[e] = static_cast<T>(src[e]);
}

// Row access to the op's tensors for the engine: NHWC dy is read in place
// when it holds the engine's elements, NHWC dx written in place when it is of
// the accumulation type; otherwise each row is converted (and, for NCHW,
// transposed) on its way in or out, rounding once on the way out.
// Side of the square blocks of the NCHW row transposes: 16 floats are a
// cache line.
constexpr int64_t kTransposeBlock = 16;

template <typename T, typename Acc, typename Elem>
class TensorRowIO final : public RowIO<Acc, Elem> {
 public:
  TensorRowIO(const ConvProblem& p, bool nchw, const T* dy, T* dx)
      : p_(p), nchw_(nchw), dy_(dy), dx_(dx) {}

  bool DyRowsInPlace() const override { return kDyInPlace && !nchw_; }

  const Elem* DyRow(int64_t n, int64_t row, Elem* stage) const override {
    const int64_t Q = p_.out_cols, K = p_.out_depth;
    if (DyRowsInPlace()) {
      return reinterpret_cast<const Elem*>(dy_) + (n * p_.out_rows + row) * Q * K;
    }
    if (!nchw_) {
      ConvertIn(dy_ + (n * p_.out_rows + row) * Q * K, stage, Q * K);
      return stage;
    }
    // NCHW: dy[n][k][row][q] -> stage[q][k], in square blocks so that both
    // sides touch a few cache lines at a time (one channel plane after
    // another, the stage was written a line per element).
    const int64_t plane = p_.out_rows * Q;
    const T* src = dy_ + n * K * plane + row * Q;
    if constexpr (std::is_same<T, Elem>::value && std::is_same<T, float>::value) {
      // No conversion: the vectorized transpose (AVX2 8x8 blocks).
      SelectFloatTranspose()(src, plane, K, Q, stage, K);
      return stage;
    }
    for (int64_t k0 = 0; k0 < K; k0 += kTransposeBlock) {
      const int64_t k1 = std::min(K, k0 + kTransposeBlock);
      for (int64_t q0 = 0; q0 < Q; q0 += kTransposeBlock) {
        const int64_t q1 = std::min(Q, q0 + kTransposeBlock);
        for (int64_t k = k0; k < k1; ++k) {
          const T* src_k = src + k * plane;
          for (int64_t q = q0; q < q1; ++q) stage[q * K + k] = ToElement<Elem>(src_k[q]);
        }
      }
    }
    return stage;
  }

  Acc* DxRowInPlace(int64_t n, int64_t row) const override {
    if (!kDxInPlace || nchw_) return nullptr;
    return reinterpret_cast<Acc*>(dx_) + (n * p_.in_rows + row) * p_.in_cols * p_.in_depth;
  }

  void StoreDxRow(int64_t n, int64_t row, const Acc* values) const override {
    const int64_t W = p_.in_cols, C = p_.in_depth;
    if (!nchw_) {
      ConvertOut(values, dx_ + (n * p_.in_rows + row) * W * C, W * C);
      return;
    }
    // NCHW: values[x][c] -> dx[n][c][row][x], in square blocks (as DyRow).
    const int64_t plane = p_.in_rows * W;
    T* dst = dx_ + n * C * plane + row * W;
    if constexpr (std::is_same<T, Acc>::value && std::is_same<T, float>::value) {
      SelectFloatTranspose()(values, C, W, C, dst, plane);
      return;
    }
    for (int64_t c0 = 0; c0 < C; c0 += kTransposeBlock) {
      const int64_t c1 = std::min(C, c0 + kTransposeBlock);
      for (int64_t x0 = 0; x0 < W; x0 += kTransposeBlock) {
        const int64_t x1 = std::min(W, x0 + kTransposeBlock);
        for (int64_t c = c0; c < c1; ++c) {
          T* dst_c = dst + c * plane;
          for (int64_t x = x0; x < x1; ++x) dst_c[x] = static_cast<T>(values[x * C + c]);
        }
      }
    }
  }

 private:
  static constexpr bool kDyInPlace = kSameBits<T, Elem>;
  static constexpr bool kDxInPlace = std::is_same<T, Acc>::value;
  const ConvProblem& p_;
  const bool nchw_;
  const T* dy_;
  T* dx_;
};

// The filter as engine elements: the tensor itself where it holds them,
// else converted into `buffer`, in the thread pool, in slices of
// kFilterSlice elements. Done serially into a fresh (zeroed, page-faulted)
// vector this was 2.4% of a bfloat16 dcgan64_g2 call on 2 threads (a
// 2M-element filter), an Amdahl bound of 38x at 64 cores.
template <typename T, typename Elem>
const Elem* FilterElements(const WorkerPool& pool, RunTimer* timer, const CpuCall<T>& call,
                           PooledBuffer* buffer) {
  const T* data = call.filter;
  if constexpr (kSameBits<T, Elem>) {
    return reinterpret_cast<const Elem*>(data);
  } else {
    constexpr int64_t kFilterSlice = 1 << 16;
    const int64_t n = FilterElementCount(call.problem);
    *buffer = PooledBuffer(static_cast<size_t>(n) * sizeof(Elem));
    Elem* converted = static_cast<Elem*>(buffer->data());
    timer->Parallel([&] {
      ParallelForBlocks(pool, (n + kFilterSlice - 1) / kFilterSlice,
                        static_cast<double>(kFilterSlice), 1, [&](int64_t b, int64_t e) {
                          const int64_t first = b * kFilterSlice;
                          const int64_t last = std::min(n, e * kFilterSlice);
                          ConvertIn(data + first, converted + first, last - first);
                        });
    });
    return converted;
  }
}

// Packs (or transforms) the filter for `engine` in the thread pool, in its
// parts (`part_work` multiply-adds' worth each, for sizing the shards):
// a batch-1 layer with a 33 MB filter spent a third of its time packing on
// one thread. Returns whether every weight was finite.
template <typename Engine, typename Elem>
bool PackInPool(const WorkerPool& pool, RunTimer* timer, Engine& engine,
                const Elem* filter_hwio, double part_work) {
  std::atomic<bool> finite{true};
  timer->Parallel([&] {
    ParallelForBlocks(pool, engine.NumPackParts(), part_work, 1, [&](int64_t b, int64_t e) {
      if (!engine.PackParts(filter_hwio, b, e)) finite = false;
    });
  });
  return finite.load();
}

template <typename T, typename Acc, typename Elem>
void RunEngine(const CpuCall<T>& call, const MicroKernel<Acc, Elem>& kernel) {
  const ConvProblem& p = call.problem;
  RunTimer timer;  // what runs outside the thread pool, for the benchmark
  const WorkerPool& pool = call.pool;
  GatherEngine<Acc, Elem> engine(p, kernel);
  // Other dtypes are converted first (PackParts reads HWIO elements).
  PooledBuffer converted;
  const Elem* filter_hwio = FilterElements<T, Elem>(pool, &timer, call, &converted);
  // A copied element is counted as a multiply-add.
  engine.FinishPacking(PackInPool(pool, &timer, engine, filter_hwio,
                                  static_cast<double>(engine.PackPartElements())));

  const TensorRowIO<T, Acc, Elem> io(p, call.nchw, call.out_backprop, call.in_backprop);
  const int64_t rows = engine.NumRowUnits();
  const int64_t splits = io.RowsInPlace() ? engine.ChannelSplitsFor(pool.threads) : 1;
  if (splits == 1) {
    timer.Parallel([&] {
      ParallelForBlocks(pool, rows, engine.MacsPerRowUnit(), engine.RowsForPanelReuse(),
                        [&](int64_t b, int64_t e) { engine.ComputeRows(io, b, e); });
    });
    return;
  }
  // Few rows: units of (channel part, block of rows), channel part outer so
  // that a thread's consecutive units read the same panels.
  const int64_t row_block = std::min(rows, engine.RowsForPanelReuse());
  const int64_t row_blocks = (rows + row_block - 1) / row_block;
  timer.Parallel([&] {
    ParallelForBlocks(pool, splits * row_blocks,
                      engine.MacsPerRowUnit() * static_cast<double>(row_block) / splits, 1,
                      [&](int64_t b, int64_t e) {
                        for (int64_t unit = b; unit < e; ++unit) {
                          const int64_t first = (unit % row_blocks) * row_block;
                          engine.ComputeRows(io, first, std::min(rows, first + row_block),
                                             engine.ChannelSplit(unit / row_blocks, splits));
                        }
                      });
  });
}

// Grouped layers with few channels per group: the pixel-vector engine
// (pixel_engine.h). Returns false, having written nothing, where it does not
// serve: its transposed rows would not fit its cache, or the filter holds
// Inf or NaN (the gather engine then skips the taps outside dy).
template <typename T>
bool RunPixelEngine(const CpuCall<T>& call, const PixelKernel& kernel) {
  const ConvProblem& p = call.problem;
  PixelEngine engine(p, kernel);
  if (!engine.RowsFitCache()) return false;
  RunTimer timer;  // what runs outside the thread pool, for the benchmark
  const WorkerPool& pool = call.pool;
  // The filter of such a layer is small (C_g <= 8): packed on one thread.
  PooledBuffer converted;
  if (!engine.PackFilter(FilterElements<T, float>(pool, &timer, call, &converted))) {
    return false;
  }
  const TensorRowIO<T, float, float> io(p, call.nchw, call.out_backprop, call.in_backprop);
  timer.Parallel([&] {
    ParallelForBlocks(pool, engine.NumRowUnits(), engine.MacsPerRowUnit(),
                      engine.MinRowsPerCall(),
                      [&](int64_t b, int64_t e) { engine.ComputeRows(io, b, e); });
  });
  return true;
}

// The Winograd engine (winograd_engine.h). Returns false, having written
// nothing, when the filter holds Inf or NaN (the direct engine then skips
// the taps outside dy, as TensorFlow does).
template <typename T>
bool RunWinogradEngine(const CpuCall<T>& call) {
  const ConvProblem& p = call.problem;
  RunTimer timer;  // what runs outside the thread pool, for the benchmark
  const WorkerPool& pool = call.pool;
  WinogradEngine engine(p, SelectFloatKernel(), SelectFloatWinogradKernel());
  PooledBuffer converted;
  const float* filter_hwio = FilterElements<T, float>(pool, &timer, call, &converted);
  if (!PackInPool(pool, &timer, engine, filter_hwio, engine.PackPartWork())) return false;
  const TensorRowIO<T, float, float> io(p, call.nchw, call.out_backprop, call.in_backprop);
  // At least two blocks per thread: a pass (MinRowsPerCall) can be a third
  // of a batch, and three passes on two threads leave one idle a third of
  // the time. Measured (2 threads, two interleaved runs each):
  // dcgan_up4x4s2 1.09x / 1.15x TF -> 1.21x / 1.27x, others within noise.
  const int64_t units = engine.NumRowUnits();
  const int64_t min_rows =
      std::min<int64_t>(engine.MinRowsPerCall(), (units + 2 * pool.threads - 1) / (2 * pool.threads));
  timer.Parallel([&] {
    ParallelForBlocks(pool, units, engine.MacsPerRowUnit(), min_rows,
                      [&](int64_t b, int64_t e) { engine.ComputeRows(io, filter_hwio, b, e); });
  });
  return true;
}

template <typename T>
void RunOnCpu(const CpuCall<T>& call, ConvAlgorithm algorithm) {
  const ConvProblem& p = call.problem;
  using Acc = typename AccumulatorOf<T>::type;
  if constexpr (std::is_same<Acc, float>::value) {
    // Fewer multiplications where the algorithm setting and the shape allow
    // (WinogradEngine::Chosen: the selection rule and its measurements).
    if (WinogradEngine::Selected(p, algorithm) && RunWinogradEngine<T>(call)) {
      return;
    }
    // The plan for the shape: few channels per group leave most lanes of a
    // channel-vector tile idle. Grouped layers put pixels in the lanes;
    // others with C <= kFewChannels vectorize over k.
    if (PixelEngine::ShapeSuits(p) &&
        RunPixelEngine<T>(call, SelectFloatPixelKernel())) {
      return;
    }
    if (p.filter_depth <= kFewChannels) {
      if (const MicroKernel<float>* few = SelectFewChannelFloatKernel()) {
        RunEngine<T>(call, *few);
        return;
      }
    }
  }
  if constexpr (std::is_same<T, Eigen::bfloat16>::value) {
    if (const MicroKernel<float, BFloat16Bits>* bf16 = SelectBf16Kernel()) {
      RunEngine<T>(call, *bf16);
      return;
    }
  }
  Acc* kernel_tag = nullptr;
  RunEngine<T>(call, SelectKernel(kernel_tag));
}

}  // namespace

const char* CpuSettingsProblem() {
  for (const char* problem : {IsaCapProblem(), AlgorithmEnvProblem()}) {
    if (problem != nullptr) return problem;
  }
  return nullptr;
}

template <typename T>
void BackpropInputOnCpu(const CpuCall<T>& call, ConvAlgorithm algorithm) {
  RunOnCpu<T>(call, algorithm);
}

#define TFCO_INSTANTIATE_CPU(tf_type, attr_name, py_name, code, cuda_type, bytes) \
  template void BackpropInputOnCpu<tf_type>(const CpuCall<tf_type>&, ConvAlgorithm);
TF_CUSTOM_OP_DTYPES(TFCO_INSTANTIATE_CPU)
#undef TFCO_INSTANTIATE_CPU

}  // namespace tf_custom_op
