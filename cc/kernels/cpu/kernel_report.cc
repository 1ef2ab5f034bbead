// What the CPU kernel runs on this machine, for the benchmark report and the
// tests: the tiers in order, the usable one and, per dtype, the micro-kernel, its tile, the
// element type it reads and whether a large dx is written with streaming stores. Exported as a C function so that Python reads it
// with ctypes from the loaded library (tf_custom_op/_loader.py,
// cpu_kernel_report); the choice itself is made in micro_kernel_select.cc.
#include <cstdio>
#include <string>

#include "cc/kernels/op_dtypes.h"
#include "cc/kernels/cpu/fma_peak.h"
#include "cc/kernels/cpu/gather_engine.h"
#include "cc/kernels/cpu/half_convert.h"
#include "cc/kernels/cpu/isa_tier.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/winograd_engine.h"

namespace tf_custom_op {
namespace {

// `dx_in_place`: the engine writes this dtype's NHWC dx itself (it does not
// stage it for a conversion: TensorRowIO in cpu_kernel.cc), so a large one
// can be streamed. NCHW dx is always staged, so never streamed.
template <typename Acc, typename Elem>
std::string Entry(const char* dtype, const MicroKernel<Acc, Elem>& kernel, const char* reads,
                  bool dx_in_place) {
  const bool streams = dx_in_place && kernel.stream_fn != nullptr;
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer),
                "\"%s\": {\"kernel\": \"%s\", \"mr\": %d, \"nr\": %d, \"k_pack\": %d, "
                "\"reads\": \"%s\", \"streams\": %s}",
                dtype, kernel.name, kernel.mr, kernel.nr, kernel.k_pack, reads,
                streams ? "true" : "false");
  return buffer;
}

std::string Describe() {
  const MicroKernel<float>& f32 = SelectFloatKernel();
  const MicroKernel<float, BFloat16Bits>* bf16 = SelectBf16Kernel();
  const char* half_rows = SelectHalfConverter() != nullptr ? "float32 (rows widened with F16C)"
                                                           : "float32 (rows widened)";
  std::string json = "{\"tiers\": [";
  std::string emulated;
  for (int i = 0; i < kIsaTierCount; ++i) {
    const IsaTier tier = static_cast<IsaTier>(i);
    json += std::string(i ? ", " : "") + "\"" + IsaTierName(tier) + "\"";
    if (TierEmulatedByTester(tier)) {
      emulated += std::string(emulated.empty() ? "" : ", ") + "\"" + IsaTierName(tier) + "\"";
    }
  }
  json += "], \"tester_emulates\": [" + emulated + "], \"dtypes\": [";
  const char* dtypes[] = {
#define TFCO_DTYPE_NAME(tf_type, attr_name, py_name, code, cuda_type, bytes) py_name,
      TF_CUSTOM_OP_DTYPES(TFCO_DTYPE_NAME)
#undef TFCO_DTYPE_NAME
  };
  for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); ++i) {
    json += std::string(i ? ", " : "") + "\"" + dtypes[i] + "\"";
  }
  json += "], \"tier\": \"";
  json += IsaTierName(MaxUsableTier());
  json += "\", \"stream_dx_bytes\": " + std::to_string(kStreamDxBytes);
  json += ", \"kernels\": {";
  json += Entry("float32", f32, "float32", true) + ", ";
  json += Entry("float64", SelectDoubleKernel(), "float64", true) + ", ";
  json += Entry("int32", SelectInt32Kernel(), "int32", true) + ", ";
  json += (bf16 != nullptr ? Entry("bfloat16", *bf16, "bfloat16", false)
                           : Entry("bfloat16", f32, "float32 (rows widened)", false)) + ", ";
  json += Entry("float16", f32, half_rows, false);
  json += "}, \"few_channels\": {\"max_depth\": " + std::to_string(kFewChannels) + ", ";
  const MicroKernel<float>* few = SelectFewChannelFloatKernel();
  json += few != nullptr ? Entry("kernel", *few, "float32", true) : "\"kernel\": null";
  // Grouped layers with few channels per group: the pixel-vector engine.
  json += "}, \"grouped_few_channels\": {\"max_depth\": " + std::to_string(kPixelMaxChannels) +
          ", \"kernel\": \"" + SelectFloatPixelKernel().name + "\"";
  json += "}}";
  return json;
}

}  // namespace
}  // namespace tf_custom_op

// The float FMA peak of one core at the widest vector width its tier
// allows (AVX-512 or AVX2), in GFLOP/s, measured on each call (about 0.1 s);
// 0 where there is no x86 measurement.
extern "C" __attribute__((visibility("default"))) double tf_custom_op_fma_peak_gflops() {
#if defined(__x86_64__) || defined(_M_X64)
  using tf_custom_op::IsaTier;
  if (tf_custom_op::TierIsUsable(IsaTier::kAvx512) &&
      !tf_custom_op::TierIsEmulated(IsaTier::kAvx512)) {
    return tf_custom_op::Avx512FmaPeakGflops();
  }
  if (tf_custom_op::TierIsUsable(IsaTier::kAvx2)) return tf_custom_op::Avx2FmaPeakGflops();
#endif
  return 0.0;
}

// nullptr, or why TF_CUSTOM_OP_ISA is invalid (isa_tier.h, IsaCapProblem):
// the Python loader raises it at load.
extern "C" __attribute__((visibility("default"))) const char* tf_custom_op_isa_cap_problem() {
  return tf_custom_op::IsaCapProblem();
}

// nullptr, or why TF_CUSTOM_OP_ALGORITHM is invalid (conv_algorithm.h).
extern "C" __attribute__((visibility("default"))) const char* tf_custom_op_algorithm_env_problem() {
  return tf_custom_op::AlgorithmEnvProblem();
}

// The algorithm the float32 CPU kernel runs for a problem under the "auto"
// attribute (TF_CUSTOM_OP_ALGORITHM included): "winograd" or "direct".
// `fields` holds ConvProblem's 20 members in their declared order.
extern "C" __attribute__((visibility("default"))) const char* tf_custom_op_cpu_algorithm(
    const int64_t* fields) {
  const tf_custom_op::ConvProblem p = tf_custom_op::ProblemOfFields(fields);
  return tf_custom_op::WinogradEngine::Selected(p, tf_custom_op::ConvAlgorithm::kAuto)
             ? "winograd"
             : "direct";
}

// The Winograd engine's memory for a problem it serves (`fields` as for
// tf_custom_op_cpu_algorithm): the transformed filter, and the scratch of
// one thread with dy and dx in place or not. False where it does not serve.
extern "C" __attribute__((visibility("default"))) bool tf_custom_op_cpu_winograd_bytes(
    const int64_t* fields, bool dy_in_place, bool dx_in_place, int64_t* packed,
    int64_t* scratch) {
  tf_custom_op::ConvProblem p = tf_custom_op::ProblemOfFields(fields);
  if (!tf_custom_op::WinogradEngine::ShapeSuits(p)) return false;
  const tf_custom_op::WinogradEngine engine(p, tf_custom_op::SelectFloatKernel(),
                                            tf_custom_op::SelectFloatWinogradKernel());
  *packed = engine.PackedBytes();
  *scratch = engine.ScratchBytes(dy_in_place, dx_in_place);
  return true;
}

// JSON: {"tiers": [every tier, lowest first], "tester_emulates": [the tiers
// the kernel tester's emulation build runs as plain C++], "dtypes": [the op's
// dtypes, NumPy names, cc/kernels/op_dtypes.h], "tier": the last
// usable one,
// "stream_dx_bytes": the dx size from which dx is streamed,
// "kernels": {dtype: {"kernel", "mr", "nr", "k_pack", "reads", "streams"}},
// "few_channels": {"max_depth": C_g up to which the few-channel kernel
// replaces the float32 one (float32, float16 and bfloat16 alike, reading
// float32 rows), "kernel": its entry or null},
// "grouped_few_channels": {"max_depth": C_g up to which a grouped layer runs
// on the pixel-vector engine (pixel_engine.h), "kernel": its tiles' name}}.
// The string lives as long as the library.
extern "C" __attribute__((visibility("default"))) const char* tf_custom_op_cpu_kernel_report() {
  static const std::string report = tf_custom_op::Describe();
  return report.c_str();
}
