// The op's dtypes: the one list every C++ registration, dispatch and type map
// is generated from (the Python side reads it from the library: kernel_report.cc
// exports the names, tf_custom_op/dtypes.py).
//
// One line per dtype, in GpuDtype order:
//   X(TF's C++ type, the T attribute's name, Python/NumPy name,
//     GpuDtype enumerator, the CUDA element type, bytes per element)
// Only a macro: expanding a column that names TF, Eigen or CUDA types is up
// to a file that includes their headers, so the TF-free engines and the CUDA
// translation unit can include it too. To add a dtype: one line here (and its
// kernels; the Python side follows).
#ifndef TF_CUSTOM_OP_CC_KERNELS_OP_DTYPES_H_
#define TF_CUSTOM_OP_CC_KERNELS_OP_DTYPES_H_

#define TF_CUSTOM_OP_DTYPES(X)                                             \
  X(Eigen::half, "half", "float16", kHalf, __half, 2)                      \
  X(Eigen::bfloat16, "bfloat16", "bfloat16", kBfloat16, __nv_bfloat16, 2)  \
  X(float, "float", "float32", kFloat, float, 4)                           \
  X(double, "double", "float64", kDouble, double, 8)                       \
  X(int32_t, "int32", "int32", kInt32, int32_t, 4)

#endif  // TF_CUSTOM_OP_CC_KERNELS_OP_DTYPES_H_
