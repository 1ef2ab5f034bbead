// What the XLA lowering's two halves agree on: the op's XLA kernel
// (conv2d_backprop_input_xla.cc) emits a custom call with these names and
// attributes, and the custom-call targets (cpu_custom_call.cc, and the CUDA
// one) bind them. XLA parses the attributes from an MLIR dictionary, the
// custom call's backend_config (typed FFI, API_VERSION_TYPED_FFI).
//
// Free of TensorFlow and XLA headers.
#ifndef TF_CUSTOM_OP_CC_XLA_CUSTOM_CALL_CONTRACT_H_
#define TF_CUSTOM_OP_CC_XLA_CUSTOM_CALL_CONTRACT_H_

#include <cstdint>
#include <string>

#include "cc/kernels/conv_params.h"

namespace tf_custom_op {
namespace xla_lowering {

// Custom-call targets, registered with XLA's FFI for platform "Host" (the
// CPU engine) and "CUDA" (the GPU launcher).
inline constexpr char kCpuTarget[] = "tf_custom_op_conv2d_backprop_input_host";
inline constexpr char kCudaTarget[] = "tf_custom_op_conv2d_backprop_input_cuda";

// Attributes: the problem as ConvProblem's fields in declared order
// (conv_params.h), the layout of dy and dx (1: NCHW, 0: NHWC) and the
// algorithm attribute (ConvAlgorithm's value).
inline constexpr char kProblemAttr[] = "problem";
inline constexpr char kNchwAttr[] = "nchw";
inline constexpr char kAlgorithmAttr[] = "algorithm";

// The backend_config text carrying the attributes.
inline std::string BackendConfig(const ConvProblem& p, bool nchw, int64_t algorithm) {
  int64_t fields[kConvProblemFields];
  FieldsOfProblem(p, fields);
  std::string text = std::string("{") + kProblemAttr + " = array<i64: ";
  for (int i = 0; i < kConvProblemFields; ++i) {
    text += (i ? ", " : "") + std::to_string(fields[i]);
  }
  text += std::string(">, ") + kNchwAttr + " = " + (nchw ? "1" : "0") + " : i64, " +
          kAlgorithmAttr + " = " + std::to_string(algorithm) + " : i64}";
  return text;
}

}  // namespace xla_lowering
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_XLA_CUSTOM_CALL_CONTRACT_H_
