// Plain-old-data description of one 2-D convolution problem (sizes, strides,
// dilations, resolved padding, groups), named after the convolution rather than
// an op: the input gradient is computed from it today, and a forward or
// filter-gradient op would describe its problem the same way.
//
// Shared by the CPU engine, the CUDA launcher and the TensorFlow kernel, so it
// includes nothing but <cstdint>: the CUDA translation unit must compile with
// any nvcc without TensorFlow headers.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CONV_PARAMS_H_
#define TF_CUSTOM_OP_CC_KERNELS_CONV_PARAMS_H_

#include <cstdint>

namespace tf_custom_op {

// All sizes are in NHWC terms whatever the caller's data_format: the kernels
// work on NHWC and the TF side transposes around them.
//   dy (out_backprop): [batch, out_rows, out_cols, out_depth]
//   w  (filter, HWIO): [filter_rows, filter_cols, filter_depth, out_depth]
//   dx (result):       [batch, in_rows, in_cols, in_depth]
// in_depth = groups * filter_depth, out_depth = groups * out_depth_per_group.
struct ConvProblem {
  int64_t batch;
  int64_t in_rows, in_cols, in_depth;
  int64_t out_rows, out_cols, out_depth;
  int64_t filter_rows, filter_cols;
  int64_t filter_depth;          // input channels per group (C_g)
  int64_t groups;                // in_depth / filter_depth
  int64_t out_depth_per_group;   // out_depth / groups (K_g)
  int64_t stride_rows, stride_cols;
  int64_t dilation_rows, dilation_cols;
  int64_t pad_top, pad_bottom, pad_left, pad_right;
};

// ConvProblem as a flat list of its members, in their declared order: how
// the problem crosses a boundary that carries only integers (the Python
// loader's ctypes queries, the XLA custom call's attributes).
constexpr int kConvProblemFields = 20;

template <typename Problem, typename Visit>
void ForEachConvProblemField(Problem& p, Visit visit) {
  decltype(&p.batch) members[] = {&p.batch, &p.in_rows, &p.in_cols, &p.in_depth, &p.out_rows,
                                   &p.out_cols, &p.out_depth, &p.filter_rows, &p.filter_cols,
                                   &p.filter_depth, &p.groups, &p.out_depth_per_group, &p.stride_rows,
                                   &p.stride_cols, &p.dilation_rows, &p.dilation_cols, &p.pad_top,
                                   &p.pad_bottom, &p.pad_left, &p.pad_right};
  static_assert(sizeof(members) / sizeof(members[0]) == kConvProblemFields,
                "every ConvProblem member is a field");
  for (int i = 0; i < kConvProblemFields; ++i) visit(i, *members[i]);
}

inline ConvProblem ProblemOfFields(const int64_t* fields) {
  ConvProblem p;
  ForEachConvProblemField(p, [&](int i, int64_t& member) { member = fields[i]; });
  return p;
}

inline void FieldsOfProblem(const ConvProblem& p, int64_t* fields) {
  ForEachConvProblemField(p, [&](int i, const int64_t& member) { fields[i] = member; });
}

// Elements of dx, dy and the filter (HWIO: R * S * C_g * K).
inline int64_t DxElementCount(const ConvProblem& p) {
  return p.batch * p.in_rows * p.in_cols * p.in_depth;
}
inline int64_t DyElementCount(const ConvProblem& p) {
  return p.batch * p.out_rows * p.out_cols * p.out_depth;
}
inline int64_t FilterElementCount(const ConvProblem& p) {
  return p.filter_rows * p.filter_cols * p.filter_depth * p.out_depth;
}

// Multiply-adds that one dx row (n, h) costs on average, counting the taps a
// phase decomposition gives each pixel (R*S / (stride_rows * stride_cols),
// a stride beyond the map's size giving fewer phases): what the CPU engines
// size their parallel work items by.
inline double MacsPerDxRow(const ConvProblem& p) {
  const int64_t phase_rows = p.stride_rows < p.in_rows ? p.stride_rows : p.in_rows;
  const int64_t phase_cols = p.stride_cols < p.in_cols ? p.stride_cols : p.in_cols;
  const double taps_per_pixel = static_cast<double>(p.filter_rows) * p.filter_cols /
                                (static_cast<double>(phase_rows) * phase_cols);
  return p.in_cols * taps_per_pixel * p.in_depth * p.out_depth_per_group;
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CONV_PARAMS_H_
