// The per-tile data and output transforms of the Winograd engine
// (winograd_engine.h), written once over vector traits and instantiated
// per tier (micro_kernel_avx512.cc, micro_kernel_avx2.cc,
// micro_kernel_portable.cc), as pixel_tile.h and x86_tile.h are.
//
// One function serves the data, filter and output transforms
// (winograd_kernel.h): vectors run over k or channels, the sparse rows of
// winograd_transform.h are applied rows first, then columns. A tail of
// fewer than kLanes values runs through the same code with one lane.
// Everything here is in an anonymous namespace, so each translation unit
// gets its own copy, compiled for its own instruction set.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_TILE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_TILE_H_

#include <cmath>
#include <cstdint>
#include <utility>

#include "cc/kernels/cpu/winograd_fixed.h"
#include "cc/kernels/cpu/winograd_kernel.h"
#include "cc/kernels/cpu/winograd_transform.h"

namespace tf_custom_op {

namespace {

// One lane of float: the channel tails of every tier.
struct ScalarF32Lane {
  using V = float;
  static constexpr int kLanes = 1;
  static V Zero() { return 0.0f; }
  static V Load(const float* p) { return *p; }
  static V Broadcast(const float* p) { return *p; }
  static V Fma(V a, V b, V c) { return a * b + c; }
  static void Store(float* p, V v) { *p = v; }
};

// kLanes values from `k` of every input and output; `bad` collects
// output * 0, NaN once any output is not finite.
template <typename Vec>
inline void TransformLanes(const float* const* in, int64_t k, const SparseRows& rows,
                           const SparseRows& cols, float* const* out, typename Vec::V* bad) {
  using V = typename Vec::V;
  const int in_rows = rows.inputs, in_cols = cols.inputs;
  V x[kMaxAlpha][kMaxAlpha];
  for (int a = 0; a < in_rows; ++a)
    for (int b = 0; b < in_cols; ++b) x[a][b] = Vec::Load(in[a * in_cols + b] + k);
  const V zero = Vec::Zero();
  for (int i = 0; i < rows.rows; ++i) {
    V t[kMaxAlpha];
    for (int b = 0; b < in_cols; ++b) {
      V sum = Vec::Zero();
      for (int e = 0; e < rows.count[i]; ++e) {
        sum = Vec::Fma(Vec::Broadcast(&rows.coef[i][e]), x[rows.index[i][e]][b], sum);
      }
      t[b] = sum;
    }
    for (int j = 0; j < cols.rows; ++j) {
      float* dst = out[i * cols.rows + j];
      if (dst == nullptr) continue;
      V sum = Vec::Zero();
      for (int e = 0; e < cols.count[j]; ++e) {
        sum = Vec::Fma(Vec::Broadcast(&cols.coef[j][e]), t[cols.index[j][e]], sum);
      }
      *bad = Vec::Fma(sum, zero, *bad);
      Vec::Store(dst + k, sum);
    }
  }
}

template <typename Vec>
bool Transform(const float* const* in, int64_t depth, const SparseRows& rows,
               const SparseRows& cols, float* const* out) {
  typename Vec::V bad = Vec::Zero();
  int64_t k = 0;
  for (; k + Vec::kLanes <= depth; k += Vec::kLanes) {
    TransformLanes<Vec>(in, k, rows, cols, out, &bad);
  }
  float tail_bad = 0.0f;
  for (; k < depth; ++k) TransformLanes<ScalarF32Lane>(in, k, rows, cols, out, &tail_bad);
  float lanes[Vec::kLanes];
  Vec::Store(lanes, bad);
  bool finite = !std::isnan(tail_bad);
  for (int l = 0; l < Vec::kLanes; ++l) finite = finite && !std::isnan(lanes[l]);
  return finite;
}

// TransformLanes for a matrix known at compile time (along both axes):
// every loop is unrolled, so the zero coefficients fold away and the
// others become constants.
template <typename Vec, const WinogradFixedMatrix& M>
inline void FixedLanes(const float* const* in, int64_t k, float* const* out,
                       typename Vec::V* bad) {
  using V = typename Vec::V;
  constexpr int kIn = M.inputs, kOut = M.rows;
  V x[kIn][kIn];
  _Pragma("GCC unroll 8") for (int a = 0; a < kIn; ++a) {
    _Pragma("GCC unroll 8") for (int b = 0; b < kIn; ++b) x[a][b] = Vec::Load(in[a * kIn + b] + k);
  }
  const V zero = Vec::Zero();
  _Pragma("GCC unroll 8") for (int i = 0; i < kOut; ++i) {
    V t[kIn];
    _Pragma("GCC unroll 8") for (int b = 0; b < kIn; ++b) {
      V sum = Vec::Zero();
      _Pragma("GCC unroll 8") for (int a = 0; a < kIn; ++a) {
        if (M.v[i][a] != 0.0f) sum = Vec::Fma(Vec::Broadcast(&M.v[i][a]), x[a][b], sum);
      }
      t[b] = sum;
    }
    _Pragma("GCC unroll 8") for (int j = 0; j < kOut; ++j) {
      float* dst = out[i * kOut + j];
      if (dst == nullptr) continue;
      V sum = Vec::Zero();
      _Pragma("GCC unroll 8") for (int b = 0; b < kIn; ++b) {
        if (M.v[j][b] != 0.0f) sum = Vec::Fma(Vec::Broadcast(&M.v[j][b]), t[b], sum);
      }
      *bad = Vec::Fma(sum, zero, *bad);
      Vec::Store(dst + k, sum);
    }
  }
}

template <typename Vec, const WinogradFixedMatrix& M>
bool FixedTransform(const float* const* in, int64_t depth, const SparseRows&, const SparseRows&,
                    float* const* out) {
  typename Vec::V bad = Vec::Zero();
  int64_t k = 0;
  for (; k + Vec::kLanes <= depth; k += Vec::kLanes) FixedLanes<Vec, M>(in, k, out, &bad);
  float tail_bad = 0.0f;
  for (; k < depth; ++k) FixedLanes<ScalarF32Lane, M>(in, k, out, &tail_bad);
  float lanes[Vec::kLanes];
  Vec::Store(lanes, bad);
  bool finite = !std::isnan(tail_bad);
  for (int l = 0; l < Vec::kLanes; ++l) finite = finite && !std::isnan(lanes[l]);
  return finite;
}

template <typename Vec, size_t... kEntries>
WinogradKernel MakeWinogradKernel(const char* name, std::index_sequence<kEntries...>) {
  return WinogradKernel{name,
                        &Transform<Vec>,
                        {&FixedTransform<Vec, *kWinogradFixedKeys[kEntries].matrix>...}};
}

template <typename Vec>
WinogradKernel MakeWinogradKernel(const char* name) {
  return MakeWinogradKernel<Vec>(name, std::make_index_sequence<kWinogradFixedCount>());
}

}  // namespace
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_TILE_H_
