// Wall time the CPU kernel spends outside and inside its parallel regions,
// summed over its calls since the last reset. The benchmark reports both per
// layer (`--scaling`), so that a reader can bound the speedup on more cores
// than we have (Amdahl: the serial part does not shrink). Two clock reads and
// two relaxed atomic additions per region: cheap enough to be always on.
// The totals are exported for ctypes (run_timing.cc).
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_RUN_TIMING_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_RUN_TIMING_H_

#include <chrono>

namespace tf_custom_op {

void AddRunSeconds(double serial, double parallel);

// Times one call: the whole of it, and the parallel regions it marks.
class RunTimer {
 public:
  RunTimer() : start_(Clock::now()) {}
  ~RunTimer() {
    const double total = Seconds(Clock::now() - start_);
    AddRunSeconds(total - parallel_, parallel_);
  }
  RunTimer(const RunTimer&) = delete;
  RunTimer& operator=(const RunTimer&) = delete;

  // Runs fn() as a parallel region.
  template <typename Fn>
  void Parallel(Fn fn) {
    const Clock::time_point begin = Clock::now();
    fn();
    parallel_ += Seconds(Clock::now() - begin);
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
  Clock::time_point start_;
  double parallel_ = 0.0;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_RUN_TIMING_H_
