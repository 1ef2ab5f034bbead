// The XLA custom-call target for the host: XLA's buffers and its intra-op
// thread pool handed to the CPU engine (cpu_backprop_input.h), so a graph
// that XLA compiles computes dx with the same code, and the same bits, as
// the TensorFlow kernel.
#include <cstdint>
#include <cstring>
#include <functional>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/conv_algorithm.h"
#include "cc/kernels/cpu/parallel_rows.h"
#include "cc/kernels/cpu_backprop_input.h"
#include "cc/xla/custom_call_buffers.h"
#include "cc/xla/custom_call_contract.h"
#include "cc/xla/xla_ffi_api.h"
#include "xla/ffi/api/ffi.h"

namespace tf_custom_op {
namespace xla_lowering {
namespace {

namespace ffi = ::xla::ffi;

// XLA's pool as the engine's WorkerPool. The engine's parallel loops wait
// for their tasks, so the pool outlives every task scheduled here.
WorkerPool PoolOf(ffi::ThreadPool xla_pool) {
  WorkerPool pool;
  const int64_t threads = xla_pool.num_threads();
  pool.threads = threads > 0 ? static_cast<int>(threads) : 1;
  if (threads > 0) {
    pool.schedule = [xla_pool](std::function<void()> task) mutable {
      xla_pool.Schedule(std::move(task));
    };
  } else {
    // No pool (XLA ran without one): the caller's thread does all the work.
    pool.schedule = [](std::function<void()> task) { task(); };
  }
  return pool;
}

ffi::Error Compute(ffi::ThreadPool xla_pool, ffi::AnyBuffer filter, ffi::AnyBuffer out_backprop,
                   ffi::Result<ffi::AnyBuffer> in_backprop, ffi::Span<const int64_t> fields,
                   int64_t nchw, int64_t algorithm) {
  if (const char* problem = CpuSettingsProblem()) return InvalidCall(problem);
  ConvProblem p;
  if (ffi::Error error = CheckCall(filter, out_backprop, *in_backprop, fields, algorithm, &p);
      error.failure()) {
    return error;
  }
  // The XLA kernel lowers empty problems to zeros; a hand-written module may
  // still bring one, which the engine does not take.
  if (DxElementCount(p) == 0) return ffi::Error::Success();
  if (DyElementCount(p) == 0 || FilterElementCount(p) == 0) {
    std::memset(in_backprop->untyped_data(), 0, in_backprop->size_bytes());
    return ffi::Error::Success();
  }
  const WorkerPool pool = PoolOf(xla_pool);
  const bool known = VisitOpDtype(filter.element_type(), [&](auto tag) {
    using T = decltype(tag);
    const CpuCall<T> call{pool, nchw != 0, p, static_cast<const T*>(filter.untyped_data()),
                          static_cast<const T*>(out_backprop.untyped_data()),
                          static_cast<T*>(in_backprop->untyped_data())};
    BackpropInputOnCpu<T>(call, static_cast<ConvAlgorithm>(algorithm));
  });
  return known ? ffi::Error::Success()
               : InvalidCall("tf_custom_op: unsupported element type in the custom call");
}

}  // namespace

XLA_FFI_DEFINE_HANDLER(kCpuHandler, Compute,
                       BindConvCall(ffi::Ffi::Bind().Ctx<ffi::ThreadPool>()));

XLA_FFI_REGISTER_HANDLER(XlaFfiApi(), kCpuTarget, "Host", kCpuHandler);

}  // namespace xla_lowering
}  // namespace tf_custom_op
