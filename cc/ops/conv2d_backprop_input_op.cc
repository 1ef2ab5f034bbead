// Op definition and shape function of TfCustomOp>Conv2DBackpropInput.
//
// The interface is TensorFlow's Conv2DBackpropInput, attribute for attribute,
// so that graphs, gradients and SavedModels treat the two ops alike. The name
// is namespaced: an op named exactly like a core op would be ignored.
#include <string>

#include "cc/kernels/op_dtypes.h"
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace tf_custom_op {
namespace {

// "T: {half, bfloat16, ...}": the dtypes of op_dtypes.h.
std::string DtypeAttr() {
  std::string attr = "T: {";
  const char* names[] = {
#define TFCO_ATTR_NAME(tf_type, attr_name, py_name, code, cuda_type, bytes) attr_name,
      TF_CUSTOM_OP_DTYPES(TFCO_ATTR_NAME)
#undef TFCO_ATTR_NAME
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
    attr += std::string(i ? ", " : "") + names[i];
  }
  return attr + "}";
}

}  // namespace

// The shape function is TensorFlow's own, the one its Conv2DBackpropInput
// registers (exported by libtensorflow_framework): the static shapes are the
// built-in op's by construction, for constant, partly constant (-1 entries)
// and 2-value input_sizes alike. Nothing here needs to differ: the checks TF's
// shape function leaves out (spatial consistency, strides, paddings) are run
// time checks in conv_geometry.cc, for TF's op as for ours.
REGISTER_OP("TfCustomOp>Conv2DBackpropInput")
    .Input("input_sizes: int32")
    .Input("filter: T")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr(DtypeAttr())
    .Attr("strides: list(int)")
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .Attr("dilations: list(int) = [1, 1, 1, 1]")
    .Attr("algorithm: {'auto', 'direct', 'winograd'} = 'auto'")
    .SetShapeFn(::tensorflow::shape_inference::Conv2DBackpropInputShape)
    .Doc(R"doc(
Gradient of a 2-D convolution with respect to its input: the same contract as
Conv2DBackpropInput, computed by tf_custom_op's own CPU and GPU kernels
(phase-decomposed gather; grouped, dilated and explicitly padded convolutions
in both data formats and all five dtypes).

algorithm: "auto" lets the CPU kernel choose per shape (Winograd where it is
  chosen, within the documented error bound); "direct" forces direct
  convolution; "winograd" uses Winograd wherever the shape allows it. Where
  "auto", the TF_CUSTOM_OP_ALGORITHM environment variable decides. The GPU
  kernel is direct whatever this says.
)doc");

}  // namespace tf_custom_op
