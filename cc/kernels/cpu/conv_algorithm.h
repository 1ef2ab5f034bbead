// Which algorithm the CPU kernel may use: the op's `algorithm` attribute
// (set by tf_custom_op.algorithm(...) when the op is built) and, where it
// is "auto", the process-wide TF_CUSTOM_OP_ALGORITHM variable.
//   auto      the engine picks per shape (Winograd where it is chosen)
//   direct    direct convolution only (the exact sums of every tap)
//   winograd  Winograd wherever the shape allows it, even where the
//             selection would not pick it (for tests and measurements)
// Free of TensorFlow headers.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_CONV_ALGORITHM_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_CONV_ALGORITHM_H_

namespace tf_custom_op {

enum class ConvAlgorithm { kAuto, kDirect, kWinograd };

// The algorithm named `name` ("auto", "direct", "winograd"); false for any
// other name.
bool ParseConvAlgorithm(const char* name, ConvAlgorithm* out);

// The algorithm a call runs under: `attr` unless it is kAuto, else
// TF_CUSTOM_OP_ALGORITHM (read once), else kAuto.
ConvAlgorithm EffectiveAlgorithm(ConvAlgorithm attr);

// A message when TF_CUSTOM_OP_ALGORITHM is set to an unknown name (the
// op then fails with InvalidArgument rather than guess), else nullptr.
const char* AlgorithmEnvProblem();

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_CONV_ALGORITHM_H_
