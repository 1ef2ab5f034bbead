// The op's XLA kernel: lowers TfCustomOp>Conv2DBackpropInput, inside a graph
// that XLA compiles (tf.function(jit_compile=True), Keras jit_compile), to a
// custom call of our own CPU engine instead of XLA's convolution.
//
// The attributes and shapes go through the TF kernel's own checks
// (ParseConvAttrs, ComputeBackpropInputGeometry), so an invalid op fails to
// compile with the error the TF kernel raises when it runs. input_sizes must
// be a compile-time constant, as for TF's op under XLA.
//
// Registration: XLA registers the kernels of REGISTER_XLA_OP once, the first
// time anything is compiled, and never again; a library loaded after that
// (an `import tf_custom_op` after a first jit_compile call) would never be
// seen. So the XLA registry only learns the op's compile-time constant input
// here (its device list names no backend), and the kernel is registered for
// each XLA device directly, like any kernel of a loaded library
// (RegisterXlaKernel: here for the CPU, in cuda_custom_call.cc for the GPU).
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "cc/kernels/conv2d_backprop_input_kernel.h"
#include "cc/kernels/conv_geometry.h"
#include "cc/kernels/conv_params.h"
#include "cc/kernels/op_dtypes.h"
#include "cc/xla/custom_call_contract.h"
#include "cc/xla/xla_kernel_registration.h"
#include "tensorflow/compiler/tf2xla/shape_util.h"
#include "tensorflow/compiler/tf2xla/xla_op_kernel.h"
#include "tensorflow/compiler/tf2xla/xla_op_registry.h"
#include "tensorflow/core/framework/kernel_def_builder.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/types.h"
#include "xla/hlo/builder/lib/constants.h"
#include "xla/hlo/builder/xla_builder.h"
#include "xla/shape_util.h"

namespace tf_custom_op {
namespace xla_lowering {
namespace {

constexpr char kOpName[] = "TfCustomOp>Conv2DBackpropInput";

using ::tensorflow::TensorShape;

// An input's static shape; XLA's dynamic dimensions are refused.
absl::Status StaticShape(tensorflow::XlaOpKernelContext* ctx, int index, TensorShape* shape) {
  absl::StatusOr<xla::Shape> xla_shape = ctx->InputXlaShape(index);
  if (!xla_shape.ok()) return xla_shape.status();
  if (xla_shape->is_dynamic()) {
    return absl::UnimplementedError(
        "Conv2DBackpropInput: tf_custom_op's XLA lowering needs static shapes");
  }
  return tensorflow::XLAShapeToTensorShape(*xla_shape, shape);
}

std::vector<int64_t> DimsOf(const TensorShape& shape) {
  std::vector<int64_t> dims;
  for (int i = 0; i < shape.dims(); ++i) dims.push_back(shape.dim_size(i));
  return dims;
}

// input_sizes as the int32 tensor the TF kernel validates: its rank is
// checked there, with the TF kernel's message.
absl::Status InputSizes(tensorflow::XlaOpKernelContext* ctx, tensorflow::Tensor* sizes) {
  TensorShape shape;
  TF_RETURN_IF_ERROR(StaticShape(ctx, 0, &shape));
  *sizes = tensorflow::Tensor(tensorflow::DT_INT32, shape);
  if (shape.dims() != 1) return absl::OkStatus();
  std::vector<int64_t> values;
  TF_RETURN_IF_ERROR(ctx->ConstantInputAsIntVector(0, &values));
  auto flat = sizes->flat<int32_t>();
  for (size_t i = 0; i < values.size(); ++i) flat(i) = static_cast<int32_t>(values[i]);
  return absl::OkStatus();
}

class Conv2DBackpropInputXlaKernel : public tensorflow::XlaOpKernel {
 public:
  explicit Conv2DBackpropInputXlaKernel(tensorflow::OpKernelConstruction* ctx)
      : XlaOpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ParseConvAttrs(ctx, &attrs_));
    // The custom-call target of the device compiled for.
    target_ = ctx->device_type() == tensorflow::DeviceType(tensorflow::DEVICE_GPU_XLA_JIT)
                  ? kCudaTarget
                  : kCpuTarget;
  }

  void Compile(tensorflow::XlaOpKernelContext* ctx) override {
    tensorflow::Tensor input_sizes;
    OP_REQUIRES_OK(ctx, InputSizes(ctx, &input_sizes));
    TensorShape filter_shape, out_backprop_shape, dx_shape;
    OP_REQUIRES_OK(ctx, StaticShape(ctx, 1, &filter_shape));
    OP_REQUIRES_OK(ctx, StaticShape(ctx, 2, &out_backprop_shape));
    ConvProblem problem;
    OP_REQUIRES_OK(ctx, ComputeBackpropInputGeometry(attrs_, input_sizes, filter_shape,
                                                     out_backprop_shape, &dx_shape, &problem));
    const xla::PrimitiveType type = ctx->input_xla_type(1);
    OP_REQUIRES_OK(ctx, CheckOutputFitsMemory(dx_shape,
                                              xla::ShapeUtil::ByteSizeOfPrimitiveType(type)));

    xla::XlaBuilder* builder = ctx->builder();
    const std::vector<int64_t> dx_dims = DimsOf(dx_shape);
    if (dx_shape.num_elements() == 0 || filter_shape.num_elements() == 0 ||
        out_backprop_shape.num_elements() == 0) {
      ctx->SetOutput(0, xla::Broadcast(xla::Zero(builder, type), dx_dims));
      return;
    }
    // Row-major buffers, as the engine reads and writes them.
    const auto row_major = [type](const TensorShape& shape) {
      return xla::ShapeUtil::MakeShapeWithDescendingLayout(type, DimsOf(shape));
    };
    const bool nchw = attrs_.data_format == tensorflow::FORMAT_NCHW;
    const xla::XlaOp dx = xla::CustomCallWithLayout(
        builder, target_, {ctx->Input(1), ctx->Input(2)}, row_major(dx_shape),
        {row_major(filter_shape), row_major(out_backprop_shape)},
        BackendConfig(problem, nchw, static_cast<int64_t>(attrs_.algorithm)),
        /*has_side_effect=*/false, /*output_operand_aliasing=*/{}, /*literal=*/nullptr,
        xla::CustomCallSchedule::SCHEDULE_NONE, xla::CustomCallApiVersion::API_VERSION_TYPED_FFI);
    ctx->SetOutput(0, dx);
  }

 private:
  ConvAttrs attrs_;
  const char* target_;
};

tensorflow::OpKernel* MakeKernel(tensorflow::OpKernelConstruction* ctx) {
  return new Conv2DBackpropInputXlaKernel(ctx);
}

// The op's compile-time constant input, for XLA's registry; the device
// named matches no backend, so XLA's one-time registration adds no kernel.
REGISTER_XLA_OP(Name(kOpName).Device("TF_CUSTOM_OP_REGISTERED_DIRECTLY").CompileTimeConstantInput(
                    "input_sizes"),
                Conv2DBackpropInputXlaKernel);

// The devices registered so far (RegisterXlaKernel), for the Python side.
std::vector<std::string>& RegisteredDevices() {
  static auto* devices = new std::vector<std::string>;
  return *devices;
}
std::mutex& RegistrationMutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}

const bool kCpuKernelRegistered = RegisterXlaKernel(XlaDevice::kCpu);

}  // namespace

// The kernel on an XLA device, for the op's dtypes (op_dtypes.h).
bool RegisterXlaKernel(XlaDevice device) {
  const bool gpu = device == XlaDevice::kGpu;
  auto* def = new tensorflow::KernelDef;
  def->set_op(kOpName);
  def->set_device_type(gpu ? tensorflow::DEVICE_GPU_XLA_JIT : tensorflow::DEVICE_CPU_XLA_JIT);
  auto* constraint = def->add_constraint();
  constraint->set_name("T");
  auto* types = constraint->mutable_allowed_values()->mutable_list();
#define TFCO_XLA_TYPE(tf_type, attr_name, py_name, code, cuda_type, bytes) \
  types->add_type(tensorflow::DataTypeToEnum<tf_type>::value);
  TF_CUSTOM_OP_DTYPES(TFCO_XLA_TYPE)
#undef TFCO_XLA_TYPE
  // Lives as long as the library, like REGISTER_KERNEL_BUILDER's registrars.
  new tensorflow::kernel_factory::OpKernelRegistrar(def, "XlaJitOp", MakeKernel);
  std::lock_guard<std::mutex> lock(RegistrationMutex());
  RegisteredDevices().push_back(gpu ? "GPU" : "CPU");
  return true;
}

}  // namespace xla_lowering
}  // namespace tf_custom_op

// The devices this library lowers the op for under XLA ("CPU" or "CPU,GPU"),
// for the Python side (tf_custom_op/_loader.py): a library built without the
// lowering lacks the symbol. The string lives as long as the library.
extern "C" __attribute__((visibility("default"))) const char* tf_custom_op_xla_lowering_devices() {
  static std::string joined;
  std::lock_guard<std::mutex> lock(tf_custom_op::xla_lowering::RegistrationMutex());
  joined.clear();
  for (const std::string& device : tf_custom_op::xla_lowering::RegisteredDevices()) {
    joined += (joined.empty() ? "" : ",") + device;
  }
  return joined.c_str();
}
