// Instruction-set tiers of the CPU engine, what this CPU supports, and the
// cap a user or a test may put on them (TF_CUSTOM_OP_ISA).
//
// Tiers are ordered: a CPU that supports a tier supports the ones below it.
// TF_CUSTOM_OP_ISA=<tier> caps the engine at that tier (portable, avx2,
// avx512, avx512_bf16, amx), so one machine can test every tier it has;
// a cap above what the CPU supports changes nothing. Free of TF headers;
// compiled with the baseline flags (CPUID queries only, no AVX instruction).
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_ISA_TIER_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_ISA_TIER_H_

namespace tf_custom_op {

enum class IsaTier : int {
  kPortable = 0,    // generic 16-byte vectors (SSE2 on x86-64, NEON on aarch64)
  kAvx2 = 1,        // AVX2 + FMA + F16C
  kAvx512 = 2,      // AVX-512 F/BW/VL/DQ
  kAvx512Bf16 = 3,  // + AVX512_BF16
  kAmx = 4,         // + AMX-TILE/AMX-BF16
};

// "portable", "avx2", ... (the TF_CUSTOM_OP_ISA spelling).
const char* IsaTierName(IsaTier tier);

// Whether this CPU (and OS) can run code of `tier`.
bool CpuSupportsTier(IsaTier tier);

// True only in the kernel tester's emulation build, for the tiers whose
// kernels it compiles as plain C++ (build_tools/sources.py): the library
// never emulates.
bool TierIsEmulated(IsaTier tier);

// The highest tier kernels may use: what the CPU supports, capped by
// TF_CUSTOM_OP_ISA. Read once per process.
IsaTier MaxUsableTier();

// nullptr when TF_CUSTOM_OP_ISA is unset, empty or names a tier; otherwise
// a message naming the value and the valid tiers (a typo such as
// "avx512bf16" must not silently run the top tier). The op refuses to run
// with it (cpu_kernel.cc); the Python loader raises it at load.
const char* IsaCapProblem();

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_ISA_TIER_H_
