// What the CPU kernel runs on this machine, for the benchmark report and the
// tests: the tiers in order, the usable one and, per dtype, the micro-kernel, its tile and the
// element type it reads. Exported as a C function so that Python reads it
// with ctypes from the loaded library (tf_custom_op/_loader.py,
// cpu_kernel_report); the choice itself is made in micro_kernel_select.cc.
#include <cstdio>
#include <string>

#include "cc/kernels/cpu/half_convert.h"
#include "cc/kernels/cpu/isa_tier.h"
#include "cc/kernels/cpu/micro_kernel.h"

namespace tf_custom_op {
namespace {

template <typename Acc, typename Elem>
std::string Entry(const char* dtype, const MicroKernel<Acc, Elem>& kernel, const char* reads) {
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer),
                "\"%s\": {\"kernel\": \"%s\", \"mr\": %d, \"nr\": %d, \"k_pack\": %d, "
                "\"reads\": \"%s\"}",
                dtype, kernel.name, kernel.mr, kernel.nr, kernel.k_pack, reads);
  return buffer;
}

std::string Describe() {
  const MicroKernel<float>& f32 = SelectFloatKernel();
  const MicroKernel<float, BFloat16Bits>* bf16 = SelectBf16Kernel();
  const char* half_rows = SelectHalfConverter() != nullptr ? "float32 (rows widened with F16C)"
                                                           : "float32 (rows widened)";
  std::string json = "{\"tiers\": [";
  for (int i = 0; i <= static_cast<int>(IsaTier::kAmx); ++i) {
    json += std::string(i ? ", " : "") + "\"" + IsaTierName(static_cast<IsaTier>(i)) + "\"";
  }
  json += "], \"tier\": \"";
  json += IsaTierName(MaxUsableTier());
  json += "\", \"kernels\": {";
  json += Entry("float32", f32, "float32") + ", ";
  json += Entry("float64", SelectDoubleKernel(), "float64") + ", ";
  json += Entry("int32", SelectInt32Kernel(), "int32") + ", ";
  json += (bf16 != nullptr ? Entry("bfloat16", *bf16, "bfloat16")
                           : Entry("bfloat16", f32, "float32 (rows widened)")) + ", ";
  json += Entry("float16", f32, half_rows);
  json += "}}";
  return json;
}

}  // namespace
}  // namespace tf_custom_op

// JSON: {"tiers": [every tier, lowest first], "tier": the usable one,
// "kernels": {dtype: {"kernel", "mr", "nr", "k_pack", "reads"}}}. The string lives as long as the library.
extern "C" __attribute__((visibility("default"))) const char* tf_custom_op_cpu_kernel_report() {
  static const std::string report = tf_custom_op::Describe();
  return report.c_str();
}
