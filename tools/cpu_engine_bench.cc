// Standalone benchmark of the CPU engine (no TensorFlow): one thread, float
// NHWC, SAME padding, best of 5, timed with the thread's CPU clock so that a
// busy machine distorts it less than wall time would.
//
//   make cpu-engine-bench   (builds build/cpu_engine_bench; the portable kernels
//                            with baseline flags, as in the library)
//   build/cpu_engine_bench N H W C R S K stride [portable] [g<groups>] [d<dilation>] [pixels]
//                          [winograd [t<tile>] [accuracy]]
//     (g<groups>: grouped; d<dilation>: dilated (SAME padding); pixels: the pixel-vector engine, pixel_engine.h;
//     winograd: the Winograd engine, winograd_engine.h, with tiles of
//     t<tile> pixels per axis; rates are counted in the direct
//     convolution's FLOPs, so they compare across engines; accuracy: also
//     its largest error against the float64 engine, of max|dx|, on random
//     normal data and on data of mixed magnitude)
//   build/cpu_engine_bench peak
//
// `peak` measures this core's float FMA peak at 256 and (where it has them)
// 512 bits (cc/kernels/cpu/fma_peak.h) and the float micro-kernel chosen here
// running on operands that stay in L1 (4 taps x 64 k), as a fraction of the
// widest.
#include <immintrin.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cc/kernels/axis_window.h"
#include "cc/kernels/cpu/aligned_buffer.h"
#include "cc/kernels/cpu/fma_peak.h"
#include "cc/kernels/cpu/isa_tier.h"
#include "cc/kernels/cpu/gather_engine.h"
#include "cc/kernels/cpu/nhwc_row_io.h"
#include "cc/kernels/cpu/pixel_engine.h"
#include "cc/kernels/cpu/winograd_engine.h"
#include "tests/native_common/conv_case.h"

using tf_custom_op::AlignedBuffer;
using tf_custom_op::ConvProblem;
using tf_custom_op::GatherEngine;
using tf_custom_op::MicroKernel;

namespace {

double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The float micro-kernel alone on an L1-resident problem.
double KernelInL1Gflops(const MicroKernel<float>& kernel) {
  const int taps = 4, depth = 64, mr = kernel.mr, nr = kernel.nr;
  std::vector<std::vector<float>> rows_storage(taps * mr, std::vector<float>(depth, 0.5f));
  std::vector<const float*> rows(taps * mr);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = rows_storage[i].data();
  std::vector<float> packed(taps * depth * nr, 0.25f);
  std::vector<float> out(mr * nr);
  const long calls = 200000;
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const double start = ThreadSeconds();
    for (long c = 0; c < calls; ++c) {
      kernel.fn(taps, depth, rows.data(), packed.data(), out.data(), nr, mr, nr, taps, 0);
    }
    best = std::min(best, ThreadSeconds() - start);
  }
  return 2.0 * mr * nr * taps * depth * calls / best / 1e9;
}

// The Winograd engine's largest error against the float64 engine (direct
// sums in double), of max|dx|: normal data, or each k and channel scaled by
// 10^U(-2, 2) ("mixed").
double WinogradError(const ConvProblem& p, const MicroKernel<float>& gemm,
                     const tf_custom_op::WinogradKernel& transforms, int tile, bool mixed) {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> exponent(-2, 2);
  std::vector<double> k_scale(p.out_depth, 1.0), c_scale(p.in_depth, 1.0);
  if (mixed) {
    for (auto& v : k_scale) v = std::pow(10.0, exponent(rng));
    for (auto& v : c_scale) v = std::pow(10.0, exponent(rng));
  }
  const int64_t dy_size = p.batch * p.out_rows * p.out_cols * p.out_depth;
  const int64_t w_size = p.filter_rows * p.filter_cols * p.filter_depth * p.out_depth;
  const int64_t dx_size = p.batch * p.in_rows * p.in_cols * p.in_depth;
  std::vector<float> dy(dy_size), w(w_size), dx(dx_size);
  std::vector<double> dy64(dy_size), w64(w_size), dx64(dx_size);
  for (int64_t i = 0; i < dy_size; ++i) {
    dy[i] = static_cast<float>(normal(rng) * k_scale[i % p.out_depth]);
    dy64[i] = dy[i];
  }
  for (int64_t i = 0; i < w_size; ++i) {
    w[i] = static_cast<float>(normal(rng) * k_scale[i % p.out_depth] *
                              c_scale[(i / p.out_depth) % p.filter_depth]);
    w64[i] = w[i];
  }
  tf_custom_op::WinogradEngine engine(p, gemm, transforms, tile);
  engine.PackParts(w.data(), 0, engine.NumPackParts());
  tf_custom_op::InPlaceNhwcIO<float> io(p, dy.data(), dx.data());
  engine.ComputeRows(io, w.data(), 0, engine.NumRowUnits());
  GatherEngine<double> exact(p, tf_custom_op::SelectDoubleKernel());
  exact.PackFilter(w64.data());
  tf_custom_op::InPlaceNhwcIO<double> io64(p, dy64.data(), dx64.data());
  exact.ComputeRows(io64, 0, exact.NumRowUnits());
  double largest = 0.0, worst = 0.0;
  for (int64_t i = 0; i < dx_size; ++i) {
    largest = std::max(largest, std::fabs(dx64[i]));
    worst = std::max(worst, std::fabs(dx[i] - dx64[i]));
  }
  return worst / largest;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "peak") == 0) {
    // The FMA peak at each width this core has (fma_peak.h, wall time), and
    // the chosen float kernel in L1 against the widest.
    const bool avx512 = tf_custom_op::TierIsUsable(tf_custom_op::IsaTier::kAvx512);
    const double avx2 = tf_custom_op::Avx2FmaPeakGflops();
    std::printf("AVX2 FMA peak: %.1f GFLOP/s (1 thread)\n", avx2);
    double peak = avx2;
    if (avx512) {
      peak = tf_custom_op::Avx512FmaPeakGflops();
      std::printf("AVX-512 FMA peak: %.1f GFLOP/s (1 thread)\n", peak);
    }
    const MicroKernel<float>& kernel = tf_custom_op::SelectFloatKernel();
    const double in_l1 = KernelInL1Gflops(kernel);
    std::printf("%s in L1: %.1f GFLOP/s = %.0f%% of the %s peak\n", kernel.name, in_l1,
                100.0 * in_l1 / peak, avx512 ? "AVX-512" : "AVX2");
    return 0;
  }
  if (argc < 9) {
    std::fprintf(stderr, "usage: %s N H W C R S K stride [portable] [g<groups>] [d<dilation>] [pixels]\n", argv[0]);
    return 2;
  }
  tf_custom_op::testing::ConvCase shape{};
  bool portable = false, pixels = false, winograd = false, accuracy = false;
  int tile = 0;  // the engine's choice
  shape.groups = 1;
  int64_t dilation = 1;
  for (int i = 9; i < argc; ++i) {
    if (std::strcmp(argv[i], "portable") == 0) portable = true;
    if (std::strcmp(argv[i], "pixels") == 0) pixels = true;
    if (std::strcmp(argv[i], "winograd") == 0) winograd = true;
    if (std::strcmp(argv[i], "accuracy") == 0) accuracy = true;
    if (argv[i][0] == 't') tile = std::atoi(argv[i] + 1);
    if (argv[i][0] == 'g') shape.groups = std::atol(argv[i] + 1);
    if (argv[i][0] == 'd') dilation = std::atol(argv[i] + 1);
  }
  shape.n = std::atol(argv[1]);
  shape.h = std::atol(argv[2]);
  shape.w = std::atol(argv[3]);
  shape.c = std::atol(argv[4]);
  shape.r = std::atol(argv[5]);
  shape.s = std::atol(argv[6]);
  shape.k = std::atol(argv[7]);
  shape.sh = shape.sw = std::atol(argv[8]);
  shape.dh = shape.dw = dilation;
  shape.padding = tf_custom_op::PaddingKind::kSame;
  ConvProblem p{};
  if (!tf_custom_op::testing::ProblemOf(shape, &p) || p.out_rows <= 0 || p.out_cols <= 0) {
    std::fprintf(stderr, "no convolution with work in it\n");
    return 2;
  }
  const MicroKernel<float>& kernel =
      portable ? tf_custom_op::kPortableFloatKernel : tf_custom_op::SelectFloatKernel();

  // 64-byte aligned, as TensorFlow allocates tensors: the engine's
  // line-aligned (streaming) stores depend on it.
  AlignedBuffer<float> dy(p.batch * p.out_rows * p.out_cols * p.out_depth, 1.0f);
  AlignedBuffer<float> w(p.filter_rows * p.filter_cols * p.filter_depth * p.out_depth, 0.5f);
  AlignedBuffer<float> dx(p.batch * p.in_rows * p.in_cols * p.in_depth, 0.0f);
  const double flops = 2.0 * p.batch * p.out_rows * p.out_cols * p.out_depth *
                       p.filter_rows * p.filter_cols * p.filter_depth;
  double best = 1e30;
  if (pixels) {
    const tf_custom_op::PixelKernel& pk = tf_custom_op::SelectFloatPixelKernel();
    for (int rep = 0; rep < 5; ++rep) {
      const double start = ThreadSeconds();
      tf_custom_op::PixelEngine engine(p, pk);
      engine.PackFilter(w.data());
      tf_custom_op::InPlaceNhwcIO<float> io(p, dy.data(), dx.data());
      engine.ComputeRows(io, 0, engine.NumRowUnits());
      best = std::min(best, ThreadSeconds() - start);
    }
    std::printf("%s: %.2f ms, %.1f GFLOP/s (1 thread, CPU time, best of 5)\n", pk.name,
                best * 1e3, flops / best / 1e9);
    return 0;
  }
  if (winograd) {
    if (!tf_custom_op::WinogradEngine::ShapeSuits(p)) {
      std::fprintf(stderr, "the Winograd engine does not serve this shape\n");
      return 2;
    }
    const tf_custom_op::WinogradKernel& transforms =
        portable ? tf_custom_op::PortableWinogradKernel() : tf_custom_op::SelectFloatWinogradKernel();
    if (accuracy) {
      for (bool mixed : {false, true}) {
        std::printf("%s: largest error %.3g of max|dx| (%s data, tiles of %d)\n", transforms.name,
                    WinogradError(p, kernel, transforms, tile, mixed), mixed ? "mixed" : "normal",
                    tile > 0 ? tile : tf_custom_op::WinogradEngine::TileFor(p));
      }
      return 0;
    }
    double fraction = 0.0;
    for (int rep = 0; rep < 5; ++rep) {
      const double start = ThreadSeconds();
      tf_custom_op::WinogradEngine engine(p, kernel, transforms, tile);
      engine.PackParts(w.data(), 0, engine.NumPackParts());
      tf_custom_op::InPlaceNhwcIO<float> io(p, dy.data(), dx.data());
      engine.ComputeRows(io, w.data(), 0, engine.NumRowUnits());
      best = std::min(best, ThreadSeconds() - start);
      fraction = engine.GemmFraction();
    }
    std::printf("%s + %s: %.2f ms, %.1f GFLOP/s direct-equivalent (GEMM %.2f of direct's "
                "multiply-adds; 1 thread, CPU time, best of 5)\n",
                transforms.name, kernel.name, best * 1e3, flops / best / 1e9, fraction);
    return 0;
  }
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
