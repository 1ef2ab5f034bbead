#include "cc/kernels/conv_geometry.h"

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "tensorflow/core/framework/tensor_shape.h"

namespace tf_custom_op {
namespace {

using ::tensorflow::GetTensorDimIndex;
using ::tensorflow::TensorFormat;
using ::tensorflow::TensorShape;

constexpr char kLabel[] = "Conv2DBackpropInput";
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

int DimIndex(TensorFormat format, char dim) {
  return GetTensorDimIndex(format, dim);
}

absl::Status CheckWindowAttr(const std::vector<int32_t>& values,
                             TensorFormat format, const char* what,
                             const char* plural, int64_t* rows,
                             int64_t* cols) {
  if (values.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Sliding window ", plural, " field must specify 4 dimensions"));
  }
  if (values[DimIndex(format, 'N')] != 1 || values[DimIndex(format, 'C')] != 1) {
    return absl::UnimplementedError(
        absl::StrCat("Current implementation does not yet support ", plural,
                     " in the batch and depth dimensions."));
  }
  *rows = values[DimIndex(format, 'H')];
  *cols = values[DimIndex(format, 'W')];
  if (*rows <= 0 || *cols <= 0) {
    return absl::InvalidArgumentError(
        std::string(what) == "stride"
            ? "Row and column strides should be larger than 0."
            : "Dilated rates should be larger than 0.");
  }
  return absl::OkStatus();
}

absl::Status CheckPaddingAttrs(const ConvAttrs& attrs) {
  if (attrs.padding != PaddingKind::kExplicit) {
    if (!attrs.explicit_paddings.empty()) {
      return absl::InvalidArgumentError(
          "explicit_paddings attribute must be empty if the padding attribute "
          "is not EXPLICIT");
    }
    return absl::OkStatus();
  }
  if (attrs.explicit_paddings.size() != 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "explicit_paddings attribute must contain 8 values, but got: ",
        attrs.explicit_paddings.size()));
  }
  for (int64_t v : attrs.explicit_paddings) {
    if (v < 0) {
      return absl::InvalidArgumentError(
          "All elements of explicit_paddings must be nonnegative");
    }
  }
  const int n = DimIndex(attrs.data_format, 'N');
  const int c = DimIndex(attrs.data_format, 'C');
  const auto& p = attrs.explicit_paddings;
  if (p[2 * n] != 0 || p[2 * n + 1] != 0 || p[2 * c] != 0 ||
      p[2 * c + 1] != 0) {
    return absl::InvalidArgumentError(
        "Nonzero explicit padding in the batch or depth dimensions is not "
        "supported");
  }
  return absl::OkStatus();
}

absl::Status InputShapeFromSizes(const tensorflow::Tensor& input_sizes,
                                 const TensorShape& filter_shape,
                                 const TensorShape& out_backprop_shape,
                                 TensorFormat format, TensorShape* dx_shape) {
  if (input_sizes.dims() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        kLabel, ": input_sizes input must be 1-dim, not ", input_sizes.dims()));
  }
  const auto sizes = input_sizes.vec<int32_t>();
  if (sizes.size() == 4) {
    return tensorflow::TensorShapeUtils::MakeShape(sizes, dx_shape);
  }
  if (sizes.size() == 2) {
    if (sizes(0) < 0 || sizes(1) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          kLabel, ": elements of input_sizes must be >= 0, not ", sizes(0),
          "x", sizes(1)));
    }
    const int64_t batch = out_backprop_shape.dim_size(DimIndex(format, 'N'));
    const int64_t depth = filter_shape.dim_size(2);
    return tensorflow::ShapeFromFormatWithStatus(format, batch, sizes(0),
                                                 sizes(1), depth, dx_shape);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      kLabel,
      " requires input_sizes to contain 4 values or 2 values, but got: ",
      sizes.size()));
}

}  // namespace

absl::Status ResolveSpatialAxis(const ConvAttrs& attrs, absl::string_view label,
                                int spatial_dim,
                                int64_t in, int64_t filter, int64_t actual_out,
                                int64_t stride, int64_t dilation,
                                int64_t* pad_before, int64_t* pad_after) {
  using Wide = __int128;
  Wide explicit_before = 0, explicit_after = 0;
  if (attrs.padding == PaddingKind::kExplicit) {
    const int index = DimIndex(attrs.data_format, spatial_dim == 0 ? 'H' : 'W');
    explicit_before = attrs.explicit_paddings[2 * index];
    explicit_after = attrs.explicit_paddings[2 * index + 1];
  }
  const AxisWindow<Wide> window =
      ResolveAxisWindow<Wide>(attrs.padding, in, filter, stride, dilation,
                              explicit_before, explicit_after);
  const Wide eff = window.span, before = window.before, after = window.after,
             out = window.out;
  const auto as_string = [](Wide v) {
    if (v > kInt64Max || v < -kInt64Max) return std::string("(overflow)");
    return std::to_string(static_cast<int64_t>(v));
  };
  if (out < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Computed output size would be negative: ", as_string(out),
        " [input_size: ", in, ", effective_filter_size: ", as_string(eff),
        ", stride: ", stride, "]"));
  }
  const int image_dim = DimIndex(attrs.data_format, spatial_dim == 0 ? 'H' : 'W');
  if (out != actual_out) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": Size of out_backprop doesn't match computed: ",
        "actual = ", actual_out, ", computed = ", as_string(out),
        " spatial_dim: ", image_dim, " input: ", in, " filter: ", filter,
        " output: ", actual_out, " stride: ", stride,
        " dilation: ", dilation));
  }
  // The kernels index with int64: refuse windows whose extent does not fit
  // (only reachable with absurd dilations or paddings).
  const Wide limit = Wide(1) << 62;
  if (eff > limit || before > limit || after > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": effective filter size or padding too large in spatial_dim ",
        image_dim));
  }
  *pad_before = static_cast<int64_t>(before);
  *pad_after = static_cast<int64_t>(after);
  return absl::OkStatus();
}

absl::Status ParseConvAttrs(tensorflow::OpKernelConstruction* ctx,
                            ConvAttrs* attrs) {
  std::string data_format;
  TF_RETURN_IF_ERROR(ctx->GetAttr("data_format", &data_format));
  if (!tensorflow::FormatFromString(data_format, &attrs->data_format) ||
      (attrs->data_format != tensorflow::FORMAT_NHWC &&
       attrs->data_format != tensorflow::FORMAT_NCHW)) {
    return absl::InvalidArgumentError("Invalid data format");
  }
  std::vector<int32_t> strides, dilations;
  TF_RETURN_IF_ERROR(ctx->GetAttr("strides", &strides));
  TF_RETURN_IF_ERROR(CheckWindowAttr(strides, attrs->data_format, "stride",
                                     "strides", &attrs->stride_rows,
                                     &attrs->stride_cols));
  TF_RETURN_IF_ERROR(ctx->GetAttr("dilations", &dilations));
  TF_RETURN_IF_ERROR(CheckWindowAttr(dilations, attrs->data_format,
                                     "dilation", "dilations",
                                     &attrs->dilation_rows,
                                     &attrs->dilation_cols));
  std::string padding;
  TF_RETURN_IF_ERROR(ctx->GetAttr("padding", &padding));
  if (padding == "SAME") {
    attrs->padding = PaddingKind::kSame;
  } else if (padding == "VALID") {
    attrs->padding = PaddingKind::kValid;
  } else if (padding == "EXPLICIT") {
    attrs->padding = PaddingKind::kExplicit;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("Unknown padding type: ", padding));
  }
  TF_RETURN_IF_ERROR(
      ctx->GetAttr("explicit_paddings", &attrs->explicit_paddings));
  // Graphs written before the attribute existed do not carry it.
  std::string algorithm = "auto";
  if (ctx->HasAttr("algorithm")) TF_RETURN_IF_ERROR(ctx->GetAttr("algorithm", &algorithm));
  if (!ParseConvAlgorithm(algorithm.c_str(), &attrs->algorithm)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Unknown algorithm: ", algorithm, " (auto, direct or winograd)"));
  }
  // Accepted for compatibility with TF's op, and not used; read as TF reads it.
  if (ctx->HasAttr("use_cudnn_on_gpu")) {
    bool use_cudnn = true;
    TF_RETURN_IF_ERROR(ctx->GetAttr("use_cudnn_on_gpu", &use_cudnn));
  }
  return CheckPaddingAttrs(*attrs);
}

absl::Status ComputeBackpropInputGeometry(
    const ConvAttrs& attrs, const tensorflow::Tensor& input_sizes,
    const TensorShape& filter_shape, const TensorShape& out_backprop_shape,
    TensorShape* dx_shape, ConvProblem* params) {
  // Ranks first: the 2-value form of input_sizes reads the filter's dims.
  if (filter_shape.dims() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(kLabel, ": filter must be 4-dimensional, got: ",
                     filter_shape.dims()));
  }
  if (out_backprop_shape.dims() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(kLabel, ": out_backprop must be 4-dimensional, got: ",
                     out_backprop_shape.dims()));
  }
  const TensorFormat format = attrs.data_format;
  TF_RETURN_IF_ERROR(InputShapeFromSizes(input_sizes, filter_shape,
                                         out_backprop_shape, format, dx_shape));

  const int n_dim = DimIndex(format, 'N'), c_dim = DimIndex(format, 'C');
  const int h_dim = DimIndex(format, 'H'), w_dim = DimIndex(format, 'W');
  ConvProblem& p = *params;
  p.batch = dx_shape->dim_size(n_dim);
  if (p.batch != out_backprop_shape.dim_size(n_dim)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kLabel, ": input and out_backprop must have the same batch size.",
        " Input batch: ", p.batch,
        ", outbackprop batch: ", out_backprop_shape.dim_size(n_dim),
        ", batch_dim: ", n_dim));
  }
  p.in_depth = dx_shape->dim_size(c_dim);
  p.filter_depth = filter_shape.dim_size(2);
  if (p.filter_depth <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        kLabel, ": filter depth must be strictly greated than zero"));
  }
  if (p.in_depth % p.filter_depth != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        kLabel, ": input depth must be evenly divisible by filter depth"));
  }
  p.groups = p.in_depth / p.filter_depth;
  p.out_depth = filter_shape.dim_size(3);
  if (p.out_depth != out_backprop_shape.dim_size(c_dim)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kLabel, ": filter and out_backprop must have the same out_depth"));
  }
  if (p.groups > 0 && p.out_depth % p.groups != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        kLabel, ": out_depth ", p.out_depth,
        " must be evenly divisible by the number of groups ", p.groups));
  }
  p.out_depth_per_group = p.groups > 0 ? p.out_depth / p.groups : 0;

  p.in_rows = dx_shape->dim_size(h_dim);
  p.in_cols = dx_shape->dim_size(w_dim);
  p.out_rows = out_backprop_shape.dim_size(h_dim);
  p.out_cols = out_backprop_shape.dim_size(w_dim);
  p.filter_rows = filter_shape.dim_size(0);
  p.filter_cols = filter_shape.dim_size(1);
  p.stride_rows = attrs.stride_rows;
  p.stride_cols = attrs.stride_cols;
  p.dilation_rows = attrs.dilation_rows;
  p.dilation_cols = attrs.dilation_cols;
  TF_RETURN_IF_ERROR(ResolveSpatialAxis(attrs, kLabel, 0, p.in_rows, p.filter_rows,
                                        p.out_rows, p.stride_rows,
                                        p.dilation_rows, &p.pad_top,
                                        &p.pad_bottom));
  TF_RETURN_IF_ERROR(ResolveSpatialAxis(attrs, kLabel, 1, p.in_cols, p.filter_cols,
                                        p.out_cols, p.stride_cols,
                                        p.dilation_cols, &p.pad_left,
                                        &p.pad_right));
  return absl::OkStatus();
}

}  // namespace tf_custom_op
