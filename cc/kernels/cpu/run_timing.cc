#include "cc/kernels/cpu/run_timing.h"

#include <atomic>
#include <cstdint>

namespace tf_custom_op {
namespace {

// Nanoseconds, so that the totals are integers that atomics can add.
std::atomic<int64_t> serial_ns{0};
std::atomic<int64_t> parallel_ns{0};
std::atomic<int64_t> calls{0};

}  // namespace

void AddRunSeconds(double serial, double parallel) {
  serial_ns.fetch_add(static_cast<int64_t>(serial * 1e9), std::memory_order_relaxed);
  parallel_ns.fetch_add(static_cast<int64_t>(parallel * 1e9), std::memory_order_relaxed);
  calls.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tf_custom_op

// The totals since the last reset: seconds outside and inside the parallel
// regions, and the number of calls of the CPU kernel.
extern "C" __attribute__((visibility("default"))) void tf_custom_op_cpu_run_times(
    double* serial_seconds, double* parallel_seconds, int64_t* call_count) {
  *serial_seconds = static_cast<double>(tf_custom_op::serial_ns.load()) * 1e-9;
  *parallel_seconds = static_cast<double>(tf_custom_op::parallel_ns.load()) * 1e-9;
  *call_count = tf_custom_op::calls.load();
}

extern "C" __attribute__((visibility("default"))) void tf_custom_op_cpu_run_times_reset() {
  tf_custom_op::serial_ns.store(0);
  tf_custom_op::parallel_ns.store(0);
  tf_custom_op::calls.store(0);
}
