// What every custom-call target binds and checks: the operands, result and
// attributes of custom_call_contract.h, and on what XLA hands it, that the
// attributes decode to a problem and the three buffers have one element type
// and exactly the problem's sizes. The XLA kernel derived the
// attributes from these very shapes; a mismatch means a malformed HLO module,
// never a reason to read out of bounds.
#ifndef TF_CUSTOM_OP_CC_XLA_CUSTOM_CALL_BUFFERS_H_
#define TF_CUSTOM_OP_CC_XLA_CUSTOM_CALL_BUFFERS_H_

#include <cstdint>
#include <utility>

#include "Eigen/Core"
#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/conv_algorithm.h"
#include "cc/xla/custom_call_contract.h"
#include "xla/ffi/api/ffi.h"

namespace tf_custom_op {
namespace xla_lowering {

// `binding` (a target's own context: pool, stream, ...) followed by the
// call's filter (HWIO), out_backprop, result and attributes, in the order
// of a handler's parameters.
template <typename Binding>
auto BindConvCall(Binding binding) {
  namespace ffi = ::xla::ffi;
  return std::move(binding)
      .template Arg<ffi::AnyBuffer>()
      .template Arg<ffi::AnyBuffer>()
      .template Ret<ffi::AnyBuffer>()
      .template Attr<ffi::Span<const int64_t>>(kProblemAttr)
      .template Attr<int64_t>(kNchwAttr)
      .template Attr<int64_t>(kAlgorithmAttr);
}

// Calls visit(T{}) with the op's C++ type (op_dtypes.h) for XLA's element
// type; false, without calling it, for a type the op does not have.
template <typename Visit>
bool VisitOpDtype(::xla::ffi::DataType type, Visit&& visit) {
  using ::xla::ffi::DataType;
  switch (type) {
    case DataType::F16:
      visit(Eigen::half{});
      return true;
    case DataType::BF16:
      visit(Eigen::bfloat16{});
      return true;
    case DataType::F32:
      visit(float{});
      return true;
    case DataType::F64:
      visit(double{});
      return true;
    case DataType::S32:
      visit(int32_t{});
      return true;
    default:
      return false;
  }
}

inline ::xla::ffi::Error InvalidCall(const char* message) {
  return ::xla::ffi::Error(::xla::ffi::ErrorCode::kInvalidArgument, message);
}

// Fills `problem`; an InvalidArgument error where the call is malformed.
inline ::xla::ffi::Error CheckCall(const ::xla::ffi::AnyBuffer& filter,
                                   const ::xla::ffi::AnyBuffer& out_backprop,
                                   const ::xla::ffi::AnyBuffer& in_backprop,
                                   ::xla::ffi::Span<const int64_t> fields, int64_t algorithm,
                                   ConvProblem* problem) {
  if (fields.size() != static_cast<size_t>(kConvProblemFields) ||
      algorithm < static_cast<int64_t>(ConvAlgorithm::kAuto) ||
      algorithm > static_cast<int64_t>(ConvAlgorithm::kWinograd)) {
    return InvalidCall("tf_custom_op: malformed custom call attributes");
  }
  const ConvProblem& p = *problem = ProblemOfFields(fields.begin());
  if (out_backprop.element_type() != filter.element_type() ||
      in_backprop.element_type() != filter.element_type()) {
    return InvalidCall("tf_custom_op: filter, out_backprop and the result differ in type");
  }
  if (static_cast<int64_t>(in_backprop.element_count()) != DxElementCount(p) ||
      static_cast<int64_t>(out_backprop.element_count()) != DyElementCount(p) ||
      static_cast<int64_t>(filter.element_count()) != FilterElementCount(p)) {
    return InvalidCall("tf_custom_op: custom call buffers do not match its problem");
  }
  return ::xla::ffi::Error::Success();
}

}  // namespace xla_lowering
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_XLA_CUSTOM_CALL_BUFFERS_H_
