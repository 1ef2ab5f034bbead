// The x86 intrinsics of the AVX-512 micro-kernels: the compiler's own
// (<immintrin.h>) in the library, or their plain C++ emulation
// (x86_emulation.h) when TFCO_X86_EMULATION is defined, which is how the
// TF-free tester runs those kernels on a CPU that lacks the instructions
// (build_tools/sources.py, CPU_EMULATION_*). Kernel sources include this
// header instead of <immintrin.h> so that both builds compile the same code.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_X86_INTRINSICS_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_X86_INTRINSICS_H_

#if defined(TFCO_X86_EMULATION)
#include "cc/kernels/cpu/x86_emulation.h"
#else
#include <immintrin.h>
#endif

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_X86_INTRINSICS_H_
