// CPU device launcher and kernel registrations.
//
// The engine computes in the accumulation type (float for half, bfloat16 and
// float; double; int32) on NHWC. Other dtypes and NCHW are converted around
// it; the result is rounded once, on the way out.
#include <cstring>
#include <type_traits>

#include "cc/kernels/conv2d_backprop_input_kernel.h"
#include "cc/kernels/cpu/gather_engine.h"
#include "cc/kernels/cpu/layout_convert.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "tensorflow/core/framework/register_types.h"
#include "tensorflow/core/framework/types.h"
#include "tensorflow/core/util/work_sharder.h"

namespace tf_custom_op {
namespace {

using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using CPUDevice = Eigen::ThreadPoolDevice;

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

// Runs fn(begin, end) over [0, total) on TF's intra-op pool. Work items own
// disjoint output, so the split never changes the result.
template <typename Fn>
void ParallelFor(OpKernelContext* ctx, int64_t total, double cost_per_unit,
                 Fn fn) {
  const auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
  tensorflow::Shard(workers->num_threads, workers->workers, total,
                    static_cast<int64_t>(std::max(1.0, cost_per_unit)),
                    [&fn](int64_t begin, int64_t end) { fn(begin, end); });
}

template <typename Acc>
absl::Status AllocateScratch(OpKernelContext* ctx, int64_t elements,
                             Tensor* scratch) {
  return ctx->allocate_temp(tensorflow::DataTypeToEnum<Acc>::value,
                            TensorShape({elements}), scratch);
}

template <typename T>
void RunOnCpu(OpKernelContext* ctx, const ConvAttrs& attrs,
              const ConvBackpropInputParams& p, const Tensor& filter,
              const Tensor& out_backprop, Tensor* in_backprop) {
  using Acc = typename AccumulatorOf<T>::type;
  constexpr bool kSameType = std::is_same<T, Acc>::value;
  const bool nchw = attrs.data_format == tensorflow::FORMAT_NCHW;
  const auto to_acc = [](T v) { return static_cast<Acc>(v); };
  const auto from_acc = [](Acc v) { return static_cast<T>(v); };

  // Filter in the accumulation type (it is small).
  const T* filter_data = filter.flat<T>().data();
  Tensor filter_scratch;
  const Acc* filter_acc = reinterpret_cast<const Acc*>(filter_data);
  if (!kSameType) {
    OP_REQUIRES_OK(ctx, AllocateScratch<Acc>(ctx, filter.NumElements(),
                                             &filter_scratch));
    Acc* dst = filter_scratch.flat<Acc>().data();
    for (int64_t e = 0; e < filter.NumElements(); ++e) {
      dst[e] = to_acc(filter_data[e]);
    }
    filter_acc = dst;
  }

  // out_backprop as NHWC in the accumulation type.
  const T* dy_data = out_backprop.flat<T>().data();
  const int64_t dy_pixels = p.out_rows * p.out_cols;
  const int64_t dy_image = dy_pixels * p.out_depth;
  Tensor dy_scratch;
  const Acc* dy_acc = reinterpret_cast<const Acc*>(dy_data);
  if (!kSameType || nchw) {
    OP_REQUIRES_OK(ctx, AllocateScratch<Acc>(ctx, out_backprop.NumElements(),
                                             &dy_scratch));
    Acc* dst = dy_scratch.flat<Acc>().data();
    if (nchw) {
      ParallelFor(ctx, p.batch, dy_image, [&](int64_t b, int64_t e) {
        ChannelsFirstToLast(dy_data, dst, b, e, p.out_depth, dy_pixels,
                            to_acc);
      });
    } else {
      ParallelFor(ctx, p.batch, dy_image, [&](int64_t b, int64_t e) {
        for (int64_t x = b * dy_image; x < e * dy_image; ++x) {
          dst[x] = to_acc(dy_data[x]);
        }
      });
    }
    dy_acc = dst;
  }

  // dx: written in place when it already is NHWC of the accumulation type.
  T* dx_data = in_backprop->flat<T>().data();
  const int64_t dx_pixels = p.in_rows * p.in_cols;
  const int64_t dx_image = dx_pixels * p.in_depth;
  Tensor dx_scratch;
  Acc* dx_acc = reinterpret_cast<Acc*>(dx_data);
  const bool dx_in_place = kSameType && !nchw;
  if (!dx_in_place) {
    OP_REQUIRES_OK(ctx, AllocateScratch<Acc>(ctx, in_backprop->NumElements(),
                                             &dx_scratch));
    dx_acc = dx_scratch.flat<Acc>().data();
  }

  Acc* kernel_tag = nullptr;
  GatherEngine<Acc> engine(p, SelectKernel(kernel_tag));
  engine.PackFilter(filter_acc);
  ParallelFor(ctx, engine.NumRowUnits(), engine.MacsPerRowUnit(),
              [&](int64_t b, int64_t e) {
                engine.ComputeRows(dy_acc, dx_acc, b, e);
              });

  if (dx_in_place) return;
  if (nchw) {
    ParallelFor(ctx, p.batch, dx_image, [&](int64_t b, int64_t e) {
      ChannelsLastToFirst(dx_acc, dx_data, b, e, p.in_depth, dx_pixels,
                          from_acc);
    });
  } else {
    ParallelFor(ctx, p.batch, dx_image, [&](int64_t b, int64_t e) {
      for (int64_t x = b * dx_image; x < e * dx_image; ++x) {
        dx_data[x] = from_acc(dx_acc[x]);
      }
    });
  }
}

}  // namespace

template <typename T>
struct BackpropInputLauncher<CPUDevice, T> {
  static void Run(OpKernelContext* ctx, const ConvAttrs& attrs,
                  const ConvBackpropInputParams& params, const Tensor& filter,
                  const Tensor& out_backprop, Tensor* in_backprop) {
    RunOnCpu<T>(ctx, attrs, params, filter, out_backprop, in_backprop);
  }
  static void SetZero(OpKernelContext* /*ctx*/, Tensor* in_backprop) {
    std::memset(static_cast<void*>(in_backprop->flat<T>().data()), 0,
                in_backprop->NumElements() * sizeof(T));
  }
};

#define TF_CUSTOM_OP_REGISTER_CPU(T)                               \
  REGISTER_KERNEL_BUILDER(Name("TfCustomOp>Conv2DBackpropInput")   \
                              .Device(tensorflow::DEVICE_CPU)      \
                              .TypeConstraint<T>("T"),             \
                          Conv2DBackpropInputKernel<CPUDevice, T>)

TF_CUSTOM_OP_REGISTER_CPU(Eigen::half);
TF_CUSTOM_OP_REGISTER_CPU(Eigen::bfloat16);
TF_CUSTOM_OP_REGISTER_CPU(float);
TF_CUSTOM_OP_REGISTER_CPU(double);
TF_CUSTOM_OP_REGISTER_CPU(int32_t);

#undef TF_CUSTOM_OP_REGISTER_CPU

}  // namespace tf_custom_op
