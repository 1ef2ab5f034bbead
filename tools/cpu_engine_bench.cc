// Standalone benchmark of the CPU engine (no TensorFlow): one thread, float
// NHWC, SAME padding, best of 5, timed with the thread's CPU clock so that a
// busy machine distorts it less than wall time would.
//
//   make cpu-engine-bench   (builds build/cpu_engine_bench; the portable kernels
//                            with baseline flags, as in the library)
//   build/cpu_engine_bench N H W C R S K stride [avx2|portable]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cc/kernels/axis_window.h"
#include "cc/kernels/cpu/gather_engine.h"
#include "cc/kernels/cpu/nhwc_row_io.h"

using tf_custom_op::ConvProblem;
using tf_custom_op::GatherEngine;
using tf_custom_op::MicroKernel;

namespace {

double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}


}  // namespace

int main(int argc, char** argv) {
  if (argc < 9) {
    std::fprintf(stderr, "usage: %s N H W C R S K stride [avx2|portable]\n", argv[0]);
    return 2;
  }
  ConvProblem p{};
  p.batch = std::atol(argv[1]);
  p.in_rows = std::atol(argv[2]);
  p.in_cols = std::atol(argv[3]);
  p.in_depth = p.filter_depth = std::atol(argv[4]);
  p.filter_rows = std::atol(argv[5]);
  p.filter_cols = std::atol(argv[6]);
  p.out_depth = p.out_depth_per_group = std::atol(argv[7]);
  p.stride_rows = p.stride_cols = std::atol(argv[8]);
  p.groups = 1;
  p.dilation_rows = p.dilation_cols = 1;
  tf_custom_op::ResolveProblemWindows(&p, tf_custom_op::PaddingKind::kSame);
  const bool portable = argc > 9 && std::strcmp(argv[9], "portable") == 0;
  const MicroKernel<float>& kernel =
      portable ? tf_custom_op::kPortableFloatKernel : tf_custom_op::SelectFloatKernel();

  std::vector<float> dy(p.batch * p.out_rows * p.out_cols * p.out_depth, 1.0f);
  std::vector<float> w(p.filter_rows * p.filter_cols * p.in_depth * p.out_depth, 0.5f);
  std::vector<float> dx(p.batch * p.in_rows * p.in_cols * p.in_depth);
  const double flops = 2.0 * p.batch * p.out_rows * p.out_cols * p.out_depth *
                       p.filter_rows * p.filter_cols * p.in_depth;
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const double start = ThreadSeconds();
    GatherEngine<float> engine(p, kernel);  // packing is part of every call
    engine.PackFilter(w.data());
    tf_custom_op::InPlaceNhwcIO<float> io(p, dy.data(), dx.data());
    engine.ComputeRows(io, 0, engine.NumRowUnits());
    best = std::min(best, ThreadSeconds() - start);
  }
  std::printf("%s: %.2f ms, %.1f GFLOP/s (1 thread, CPU time, best of 5)\n",
              kernel.name, best * 1e3, flops / best / 1e9);
  return 0;
}
