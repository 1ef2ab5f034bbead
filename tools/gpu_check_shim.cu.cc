// C ABI over the CUDA launcher, for tools/gpu_check.py (ctypes). Built with
// nvcc together with cc/kernels/gpu/conv_backprop_input.cu.cc into one shared
// library; no TensorFlow involved.
//
// `params` holds the 20 int64 fields of ConvProblem in declaration
// order (conv_params.h); gpu_check.py builds it in the same order.
#include <cstddef>
#include <cstdint>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/gpu/conv_backprop_input_gpu.h"

namespace {

static_assert(sizeof(tf_custom_op::ConvProblem) == 20 * sizeof(int64_t),
              "gpu_check.py passes the parameters as 20 int64 values");

tf_custom_op::ConvProblem Unpack(const int64_t* v) {
  tf_custom_op::ConvProblem p;
  p.batch = v[0];
  p.in_rows = v[1];
  p.in_cols = v[2];
  p.in_depth = v[3];
  p.out_rows = v[4];
  p.out_cols = v[5];
  p.out_depth = v[6];
  p.filter_rows = v[7];
  p.filter_cols = v[8];
  p.filter_depth = v[9];
  p.groups = v[10];
  p.out_depth_per_group = v[11];
  p.stride_rows = v[12];
  p.stride_cols = v[13];
  p.dilation_rows = v[14];
  p.dilation_cols = v[15];
  p.pad_top = v[16];
  p.pad_bottom = v[17];
  p.pad_left = v[18];
  p.pad_right = v[19];
  return p;
}

}  // namespace

extern "C" {

// The dtype codes: the NumPy names of op_dtypes.h, comma separated, in
// GpuDtype order (code = index).
const char* tfco_dtype_names() {
  return ""
#define TFCO_DTYPE_NAME(tf_type, attr_name, py_name, code, cuda_type, bytes) py_name ","
      TF_CUSTOM_OP_DTYPES(TFCO_DTYPE_NAME)
#undef TFCO_DTYPE_NAME
      ;
}

// dtype: a GpuDtype code (tfco_dtype_names).
size_t tfco_workspace_bytes(int dtype, const int64_t* params, int nchw) {
  return tf_custom_op::gpu::ConvBackpropInputWorkspaceBytes(
      static_cast<tf_custom_op::gpu::GpuDtype>(dtype), Unpack(params), nchw != 0);
}

// Returns nullptr on success, else the launcher's static error message
// (gpu_check.py reports it; the GpuError code is not needed there).
const char* tfco_conv_backprop_input(int dtype, const int64_t* params, int nchw,
                                     const void* filter, const void* out_backprop,
                                     void* in_backprop, void* workspace,
                                     size_t workspace_bytes, void* stream) {
  const tf_custom_op::gpu::GpuStatus status = tf_custom_op::gpu::LaunchConvBackpropInput(
      static_cast<tf_custom_op::gpu::GpuDtype>(dtype), Unpack(params), nchw != 0,
      filter, out_backprop, in_backprop, workspace, workspace_bytes, stream);
  return status.ok() ? nullptr : status.message;
}

}  // extern "C"
