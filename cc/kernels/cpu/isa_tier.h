// Instruction-set tiers of the CPU engine: one table, from which the enum,
// the names, the CPU test, the emulation flag, the cap and the report follow.
//
// A tier is a set of CPU features, not a step on one ladder: a kernel of a
// tier runs where the CPU has every feature of the tier (and the OS grants
// its state), and TF_CUSTOM_OP_ISA=<tier> allows only the tiers whose
// features are all in that tier's (portable, avx2, avx512, avx512_bf16, amx
// today), so one machine can test every tier it has. Kernel tables list
// kernels fastest first; the first usable line wins (micro_kernel_select.cc).
// Free of TF headers; compiled with the baseline flags (CPUID queries only).
//
// To add a tier: one line in TF_CUSTOM_OP_ISA_TIERS (and, for a feature not
// yet known, one line in TF_CUSTOM_OP_CPU_FEATURES with its test in
// isa_tier.cc, CpuHasFeature).
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_ISA_TIER_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_ISA_TIER_H_

#include <cstdint>

namespace tf_custom_op {

// CPU features a tier may need: X(enumerator, what it stands for).
#define TF_CUSTOM_OP_CPU_FEATURES(X)                  \
  X(kAvx2Fma, "AVX2 + FMA + F16C")                    \
  X(kAvx512Core, "AVX-512 F/BW/VL/DQ")                \
  X(kAvx512Bf16, "AVX512_BF16")                       \
  X(kAmxBf16, "AMX-TILE + AMX-BF16, granted by the OS")

enum class CpuFeature : int {
#define TFCO_FEATURE_ENUM(id, what) id,
  TF_CUSTOM_OP_CPU_FEATURES(TFCO_FEATURE_ENUM)
#undef TFCO_FEATURE_ENUM
};
constexpr uint32_t FeatureBit(CpuFeature f) { return uint32_t{1} << static_cast<int>(f); }

// The tiers, lowest first: X(enumerator, name (the TF_CUSTOM_OP_ISA
// spelling), features (a mask of FeatureBit), emulated in the tester's
// emulation build (build_tools/sources.py X86_EMULATED_SOURCES)).
#define TF_CUSTOM_OP_ISA_TIERS(X)                                                          \
  X(kPortable, "portable", 0u, false)                                                       \
  X(kAvx2, "avx2", FeatureBit(CpuFeature::kAvx2Fma), false)                                 \
  X(kAvx512, "avx512", FeatureBit(CpuFeature::kAvx2Fma) | FeatureBit(CpuFeature::kAvx512Core), \
    true)                                                                                   \
  X(kAvx512Bf16, "avx512_bf16",                                                             \
    FeatureBit(CpuFeature::kAvx2Fma) | FeatureBit(CpuFeature::kAvx512Core) |                \
        FeatureBit(CpuFeature::kAvx512Bf16),                                                \
    true)                                                                                   \
  X(kAmx, "amx",                                                                            \
    FeatureBit(CpuFeature::kAvx2Fma) | FeatureBit(CpuFeature::kAvx512Core) |                \
        FeatureBit(CpuFeature::kAvx512Bf16) | FeatureBit(CpuFeature::kAmxBf16),             \
    true)

enum class IsaTier : int {
#define TFCO_TIER_ENUM(id, name, features, emulated) id,
  TF_CUSTOM_OP_ISA_TIERS(TFCO_TIER_ENUM)
#undef TFCO_TIER_ENUM
};
constexpr int kIsaTierCount = 0
#define TFCO_TIER_COUNT(id, name, features, emulated) +1
    TF_CUSTOM_OP_ISA_TIERS(TFCO_TIER_COUNT)
#undef TFCO_TIER_COUNT
    ;

// "portable", "avx2", ... (the TF_CUSTOM_OP_ISA spelling).
const char* IsaTierName(IsaTier tier);

// Whether this CPU (and OS) can run code of `tier`.
bool CpuSupportsTier(IsaTier tier);

// True only in the kernel tester's emulation build, for the tiers the
// table marks emulated: the library never emulates.
bool TierIsEmulated(IsaTier tier);

// The table's emulated column, whatever the build: which tiers the
// tester's emulation build runs (for the report).
bool TierEmulatedByTester(IsaTier tier);

// Whether kernels of `tier` may run here: the CPU supports it and its
// features lie within those of the TF_CUSTOM_OP_ISA cap. Read once per
// process.
bool TierIsUsable(IsaTier tier);

// The last usable tier of the table (the report's "tier").
IsaTier MaxUsableTier();

// nullptr when TF_CUSTOM_OP_ISA is unset, empty or names a tier; otherwise
// a message naming the value and the valid tiers (a typo such as
// "avx512bf16" must not silently run the top tier). The op refuses to run
// with it (cpu_kernel.cc); the Python loader raises it at load.
const char* IsaCapProblem();

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_ISA_TIER_H_
