#include "cc/kernels/cpu/isa_tier.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tf_custom_op {
namespace {

struct TierLine {
  const char* name;
  uint32_t features;
  bool emulated;
};
constexpr TierLine kTiers[] = {
#define TFCO_TIER_LINE(id, name, features, emulated) {name, features, emulated},
    TF_CUSTOM_OP_ISA_TIERS(TFCO_TIER_LINE)
#undef TFCO_TIER_LINE
};
static_assert(sizeof(kTiers) / sizeof(kTiers[0]) == kIsaTierCount, "one line per tier");

const TierLine& LineOf(IsaTier tier) { return kTiers[static_cast<int>(tier)]; }

#if defined(TFCO_X86_EMULATION)
// The tester's emulation build (build_tools/sources.py): the emulated tiers'
// kernels are plain C++ there, so they run on any CPU.
constexpr bool kEmulationBuild = true;
#else
constexpr bool kEmulationBuild = false;
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

// The CPU test of each feature of TF_CUSTOM_OP_CPU_FEATURES.
bool CpuHasFeature(CpuFeature feature) {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  switch (feature) {
    case CpuFeature::kAvx2Fma:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    case CpuFeature::kAvx512Core:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    case CpuFeature::kAvx512Bf16:
      return __builtin_cpu_supports("avx512bf16");
    case CpuFeature::kAmxBf16:
      return __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
             OsGrantsAmxTiles();
  }
  return false;
#else
  (void)feature;
  return false;
#endif
}

bool CpuHasFeatures(uint32_t features) {
  for (int f = 0; f < 32; ++f) {
    if ((features >> f & 1u) && !CpuHasFeature(static_cast<CpuFeature>(f))) return false;
  }
  return true;
}

// TF_CUSTOM_OP_ISA, or nullptr when it is unset or empty.
const char* CapName() {
  const char* cap = std::getenv("TF_CUSTOM_OP_ISA");
  return cap != nullptr && *cap != '\0' ? cap : nullptr;
}

// The tier line called `name`, or nullptr.
const TierLine* TierNamed(const char* name) {
  for (const TierLine& line : kTiers) {
    if (std::strcmp(name, line.name) == 0) return &line;
  }
  return nullptr;
}

// The features TF_CUSTOM_OP_ISA allows (every feature when unset or unknown:
// IsaCapProblem reports an unknown name).
uint32_t CapFeatures() {
  const char* cap = CapName();
  const TierLine* line = cap != nullptr ? TierNamed(cap) : nullptr;
  return line != nullptr ? line->features : ~uint32_t{0};
}

}  // namespace

const char* IsaTierName(IsaTier tier) {
  const int i = static_cast<int>(tier);
  return (i >= 0 && i < kIsaTierCount) ? kTiers[i].name : "unknown";
}

bool TierEmulatedByTester(IsaTier tier) { return LineOf(tier).emulated; }

bool TierIsEmulated(IsaTier tier) { return kEmulationBuild && TierEmulatedByTester(tier); }

bool CpuSupportsTier(IsaTier tier) {
  return TierIsEmulated(tier) || CpuHasFeatures(LineOf(tier).features);
}

bool TierIsUsable(IsaTier tier) {
  static const uint32_t cap = CapFeatures();
  static const std::array<bool, kIsaTierCount> usable = [] {
    std::array<bool, kIsaTierCount> out{};
    for (int i = 0; i < kIsaTierCount; ++i) {
      out[i] = CpuSupportsTier(static_cast<IsaTier>(i)) && (kTiers[i].features & ~cap) == 0;
    }
    return out;
  }();
  return usable[static_cast<int>(tier)];
}

IsaTier MaxUsableTier() {
  IsaTier best = IsaTier::kPortable;
  for (int i = 0; i < kIsaTierCount; ++i) {
    if (TierIsUsable(static_cast<IsaTier>(i))) best = static_cast<IsaTier>(i);
  }
  return best;
}

const char* IsaCapProblem() {
  static const std::string problem = []() -> std::string {
    const char* cap = CapName();
    if (cap == nullptr || TierNamed(cap) != nullptr) return "";
    std::string valid;
    for (int i = 0; i < kIsaTierCount; ++i) valid += std::string(i ? ", " : "") + kTiers[i].name;
    return std::string("TF_CUSTOM_OP_ISA=") + cap +
           " names no instruction-set tier of tf_custom_op; valid values: " + valid +
           " (or unset it to use the best tier this CPU has)";
  }();
  return problem.empty() ? nullptr : problem.c_str();
}

}  // namespace tf_custom_op
