// Registration of the op's XLA kernel (conv2d_backprop_input_xla.cc) for an
// XLA device, from the translation unit that brings that device's
// custom-call target: the CPU one always, the CUDA one where the library has
// the CUDA kernel.
#ifndef TF_CUSTOM_OP_CC_XLA_XLA_KERNEL_REGISTRATION_H_
#define TF_CUSTOM_OP_CC_XLA_XLA_KERNEL_REGISTRATION_H_

namespace tf_custom_op {
namespace xla_lowering {

enum class XlaDevice { kCpu, kGpu };

// Registers the kernel for `device` (XLA_CPU_JIT or XLA_GPU_JIT) and records
// the device for tf_custom_op_xla_lowering_devices(). Returns true, for use
// in a static initializer.
bool RegisterXlaKernel(XlaDevice device);

}  // namespace xla_lowering
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_XLA_XLA_KERNEL_REGISTRATION_H_
