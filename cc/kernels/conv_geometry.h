// Attribute parsing and run-time shape validation of the op: every check of
// docs/CONTRACT.md section 3, in 64-bit (128-bit where products may overflow), with
// TensorFlow's error classes and, where practical, its message text.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CONV_GEOMETRY_H_
#define TF_CUSTOM_OP_CC_KERNELS_CONV_GEOMETRY_H_

#include <cstdint>
#include <vector>

#include "cc/kernels/axis_window.h"
#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/conv_algorithm.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"
#include "tensorflow/core/util/tensor_format.h"

namespace tf_custom_op {

struct ConvAttrs {
  tensorflow::TensorFormat data_format = tensorflow::FORMAT_NHWC;
  int64_t stride_rows = 1, stride_cols = 1;
  int64_t dilation_rows = 1, dilation_cols = 1;
  PaddingKind padding = PaddingKind::kValid;
  std::vector<int64_t> explicit_paddings;  // 8 values when kExplicit
  ConvAlgorithm algorithm = ConvAlgorithm::kAuto;  // the CPU kernel's choice
};

// Reads and checks the attributes (TF checks them in the kernel's
// constructor; errors surface when the op runs).
absl::Status ParseConvAttrs(tensorflow::OpKernelConstruction* ctx,
                            ConvAttrs* attrs);

// One spatial axis (0: rows, 1: columns) of any convolution op: out_backprop's
// size per docs/CONTRACT.md section 2 (in 128-bit, so no input overflows it),
// checked against `actual_out`, and the padding before and after. Errors are
// InvalidArgument with TF's text, prefixed by `label` (the op's name).
absl::Status ResolveSpatialAxis(const ConvAttrs& attrs, absl::string_view label,
                                int spatial_dim, int64_t in, int64_t filter,
                                int64_t actual_out, int64_t stride,
                                int64_t dilation, int64_t* pad_before,
                                int64_t* pad_after);

// Validates the inputs' shapes against the attributes and fills dx's shape
// (in data_format order) and the NHWC problem description.
absl::Status ComputeBackpropInputGeometry(
    const ConvAttrs& attrs, const tensorflow::Tensor& input_sizes,
    const tensorflow::TensorShape& filter_shape,
    const tensorflow::TensorShape& out_backprop_shape,
    tensorflow::TensorShape* dx_shape, ConvProblem* params);

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CONV_GEOMETRY_H_
