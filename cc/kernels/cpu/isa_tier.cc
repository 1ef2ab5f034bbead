#include "cc/kernels/cpu/isa_tier.h"

#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tf_custom_op {
namespace {

constexpr const char* kNames[] = {"portable", "avx2", "avx512", "avx512_bf16", "amx"};
constexpr int kTierCount = sizeof(kNames) / sizeof(kNames[0]);

#if defined(TFCO_X86_EMULATION)
// The tester's emulation build (build_tools/sources.py): these tiers' kernels
// are plain C++ there, so they run on any CPU.
bool Emulated(IsaTier tier) {
  return tier == IsaTier::kAvx512 || tier == IsaTier::kAvx512Bf16 || tier == IsaTier::kAmx;
}
#else
bool Emulated(IsaTier) { return false; }
#endif

// Linux hands out AMX's tile state (XTILEDATA) only to a process that asks
// for it; a refusal (an older kernel, or a policy) makes the tier unusable,
// never a crash. Asked once per process.
bool OsGrantsAmxTiles() {
#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
  static const bool granted = [] {
    constexpr long kArchReqXcompPerm = 0x1023;  // ARCH_REQ_XCOMP_PERM
    constexpr long kXfeatureXtiledata = 18;     // XFEATURE_XTILEDATA
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return granted;
#else
  return false;
#endif
}

bool X86Has(IsaTier tier) {
  if (Emulated(tier)) return true;
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("f16c");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512dq");
  switch (tier) {
    case IsaTier::kPortable:
      return true;
    case IsaTier::kAvx2:
      return avx2;
    case IsaTier::kAvx512:
      return avx512;
    case IsaTier::kAvx512Bf16:
      return avx512 && __builtin_cpu_supports("avx512bf16");
    case IsaTier::kAmx:
      return avx512 && __builtin_cpu_supports("avx512bf16") &&
             __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
             OsGrantsAmxTiles();
  }
  return false;
#else
  return tier == IsaTier::kPortable;
#endif
}

IsaTier CapFromEnvironment() {
  const char* cap = std::getenv("TF_CUSTOM_OP_ISA");
  if (cap == nullptr || *cap == '\0') return IsaTier::kAmx;
  for (int i = 0; i < kTierCount; ++i) {
    if (std::strcmp(cap, kNames[i]) == 0) return static_cast<IsaTier>(i);
  }
  return IsaTier::kAmx;  // unknown names cap nothing (IsaCapProblem says so)
}

}  // namespace

const char* IsaCapProblem() {
  static const std::string problem = []() -> std::string {
    const char* cap = std::getenv("TF_CUSTOM_OP_ISA");
    if (cap == nullptr || *cap == '\0') return "";
    std::string valid;
    for (int i = 0; i < kTierCount; ++i) {
      if (std::strcmp(cap, kNames[i]) == 0) return "";
      valid += std::string(i ? ", " : "") + kNames[i];
    }
    return std::string("TF_CUSTOM_OP_ISA=") + cap +
           " names no instruction-set tier of tf_custom_op; valid values: " + valid +
           " (or unset it to use the best tier this CPU has)";
  }();
  return problem.empty() ? nullptr : problem.c_str();
}

const char* IsaTierName(IsaTier tier) {
  const int i = static_cast<int>(tier);
  return (i >= 0 && i < kTierCount) ? kNames[i] : "unknown";
}

bool CpuSupportsTier(IsaTier tier) { return X86Has(tier); }

bool TierIsEmulated(IsaTier tier) { return Emulated(tier); }

IsaTier MaxUsableTier() {
  static const IsaTier tier = [] {
    const IsaTier cap = CapFromEnvironment();
    IsaTier best = IsaTier::kPortable;
    for (int i = 0; i <= static_cast<int>(cap); ++i) {
      if (CpuSupportsTier(static_cast<IsaTier>(i))) best = static_cast<IsaTier>(i);
    }
    return best;
  }();
  return tier;
}

}  // namespace tf_custom_op
