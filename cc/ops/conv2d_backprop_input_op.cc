// Op definition and shape function of TfCustomOp>Conv2DBackpropInput.
//
// The interface is TensorFlow's Conv2DBackpropInput, attribute for attribute,
// so that graphs, gradients and SavedModels treat the two ops alike. The name
// is namespaced: an op named exactly like a core op would be ignored.
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/tensor_format.h"

#include <vector>

namespace tf_custom_op {
namespace {

using ::tensorflow::TensorFormat;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

// Reads (batch, spatial, depth) dimension handles of a rank-4 shape laid out
// in `format`.
void SplitDims(InferenceContext* c, ShapeHandle shape, TensorFormat format,
               DimensionHandle* batch, DimensionHandle spatial[2],
               DimensionHandle* depth) {
  *batch = c->Dim(shape, tensorflow::GetTensorDimIndex(format, 'N'));
  spatial[0] = c->Dim(shape, tensorflow::GetTensorDimIndex(format, 'H'));
  spatial[1] = c->Dim(shape, tensorflow::GetTensorDimIndex(format, 'W'));
  *depth = c->Dim(shape, tensorflow::GetTensorDimIndex(format, 'C'));
}

// The rank-4 shape of (batch, spatial, depth) laid out in `format`.
ShapeHandle JoinDims(InferenceContext* c, TensorFormat format,
                     DimensionHandle batch, const DimensionHandle spatial[2],
                     DimensionHandle depth) {
  std::vector<DimensionHandle> dims(4);
  dims[tensorflow::GetTensorDimIndex(format, 'N')] = batch;
  dims[tensorflow::GetTensorDimIndex(format, 'H')] = spatial[0];
  dims[tensorflow::GetTensorDimIndex(format, 'W')] = spatial[1];
  dims[tensorflow::GetTensorDimIndex(format, 'C')] = depth;
  return c->MakeShape(dims);
}

// Static shape of dx: batch always from out_backprop, spatial sizes and
// depth from input_sizes where they are (partly) constant; depth from the
// filter in the 2-value form. Spatial consistency is left to the kernel, as
// TensorFlow does.
absl::Status Conv2DBackpropInputShapeFn(InferenceContext* c) {
  std::string data_format_str;
  if (!c->GetAttr("data_format", &data_format_str).ok()) {
    data_format_str = "NHWC";
  }
  TensorFormat data_format;
  if (!tensorflow::FormatFromString(data_format_str, &data_format)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid data format string: ", data_format_str));
  }

  ShapeHandle out_backprop = c->input(2);
  TF_RETURN_IF_ERROR(c->WithRank(out_backprop, 4, &out_backprop));
  ShapeHandle filter = c->input(1);
  TF_RETURN_IF_ERROR(c->WithRank(filter, 4, &filter));

  DimensionHandle batch;
  DimensionHandle out_depth;
  DimensionHandle out_spatial[2];
  SplitDims(c, out_backprop, data_format, &batch, out_spatial, &out_depth);
  DimensionHandle unused;
  TF_RETURN_IF_ERROR(c->Merge(out_depth, c->Dim(filter, 3), &unused));

  ShapeHandle sizes;
  TF_RETURN_IF_ERROR(c->MakeShapeFromShapeTensor(0, &sizes));
  if (!c->RankKnown(sizes)) {
    TF_RETURN_IF_ERROR(c->WithRank(sizes, 4, &sizes));
  }

  DimensionHandle in_depth;
  DimensionHandle in_spatial[2];
  const int32_t rank = c->Rank(sizes);
  if (rank == 4) {
    DimensionHandle sizes_batch;
    SplitDims(c, sizes, data_format, &sizes_batch, in_spatial, &in_depth);
    TF_RETURN_IF_ERROR(c->Merge(sizes_batch, batch, &unused));
  } else if (rank == 2) {
    in_spatial[0] = c->Dim(sizes, 0);
    in_spatial[1] = c->Dim(sizes, 1);
    in_depth = c->Dim(filter, 2);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "Conv2DBackpropInput requires input_sizes to contain 4 values or 2 "
        "values, but got: ",
        rank));
  }

  c->set_output(0, JoinDims(c, data_format, batch, in_spatial, in_depth));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("TfCustomOp>Conv2DBackpropInput")
    .Input("input_sizes: int32")
    .Input("filter: T")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {half, bfloat16, float, double, int32}")
    .Attr("strides: list(int)")
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .Attr("dilations: list(int) = [1, 1, 1, 1]")
    .SetShapeFn(Conv2DBackpropInputShapeFn)
    .Doc(R"doc(
Gradient of a 2-D convolution with respect to its input: the same contract as
Conv2DBackpropInput, computed by tf_custom_op's own CPU and GPU kernels
(phase-decomposed gather; grouped, dilated and explicitly padded convolutions
in both data formats and all five dtypes).
)doc");

}  // namespace tf_custom_op
