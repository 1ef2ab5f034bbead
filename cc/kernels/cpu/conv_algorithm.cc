#include "cc/kernels/cpu/conv_algorithm.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace tf_custom_op {
namespace {

constexpr const char* kEnvName = "TF_CUSTOM_OP_ALGORITHM";

struct Named {
  const char* name;
  ConvAlgorithm algorithm;
};
constexpr Named kAlgorithms[] = {
    {"auto", ConvAlgorithm::kAuto},
    {"direct", ConvAlgorithm::kDirect},
    {"winograd", ConvAlgorithm::kWinograd},
};

const char* EnvValue() {
  const char* value = std::getenv(kEnvName);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

}  // namespace

bool ParseConvAlgorithm(const char* name, ConvAlgorithm* out) {
  for (const Named& entry : kAlgorithms) {
    if (std::strcmp(name, entry.name) == 0) {
      *out = entry.algorithm;
      return true;
    }
  }
  return false;
}

ConvAlgorithm EffectiveAlgorithm(ConvAlgorithm attr) {
  static const ConvAlgorithm from_env = [] {
    ConvAlgorithm parsed = ConvAlgorithm::kAuto;
    const char* value = EnvValue();
    if (value != nullptr) ParseConvAlgorithm(value, &parsed);
    return parsed;
  }();
  return attr != ConvAlgorithm::kAuto ? attr : from_env;
}

const char* AlgorithmEnvProblem() {
  static const std::string problem = []() -> std::string {
    const char* value = EnvValue();
    ConvAlgorithm ignored;
    if (value == nullptr || ParseConvAlgorithm(value, &ignored)) return "";
    std::string valid;
    for (const Named& entry : kAlgorithms) valid += std::string(valid.empty() ? "" : ", ") + entry.name;
    return std::string(kEnvName) + "=" + value + " names no algorithm of tf_custom_op; valid values: " +
           valid + " (or unset it)";
  }();
  return problem.empty() ? nullptr : problem.c_str();
}

}  // namespace tf_custom_op
