// XLA's FFI function table, where custom-call handlers are registered.
//
// TensorFlow's libtensorflow_cc exports xla::ffi::GetXlaFfiApi(), but the
// header that declares it (xla/ffi/ffi_api.h) pulls in XLA's internals; the
// declaration is all a handler needs.
#ifndef TF_CUSTOM_OP_CC_XLA_XLA_FFI_API_H_
#define TF_CUSTOM_OP_CC_XLA_XLA_FFI_API_H_

#include "xla/ffi/api/c_api.h"

namespace xla {
namespace ffi {
const XLA_FFI_Api* GetXlaFfiApi();
}  // namespace ffi
}  // namespace xla

namespace tf_custom_op {
namespace xla_lowering {

inline const XLA_FFI_Api* XlaFfiApi() { return ::xla::ffi::GetXlaFfiApi(); }

}  // namespace xla_lowering
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_XLA_XLA_FFI_API_H_
