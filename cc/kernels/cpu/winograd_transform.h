// The transform matrices of Winograd's minimal filtering algorithm F(m, r)
// (Lavin and Gray, CVPR 2016), built by Toom-Cook interpolation at run time
// for any m and r whose tile alpha = m + r - 1 is at most kMaxAlpha.
//
// One axis of a stride-1 correlation  y[i] = sum_j d[i + j] g[j]  (i < m,
// j < r, d of alpha values) is computed as
//   y = AT [ (G g) .* (BT d) ]
// with AT (m x alpha), G (alpha x r) and BT (alpha x alpha). The 2-D
// transform applies each axis' matrices in turn. The derivation, in brief:
// the linear convolution of g (degree r - 1) and x (degree m - 1) is the
// product of two polynomials; evaluating both at alpha - 1 points and at
// infinity (the leading coefficient), multiplying and interpolating gives
// it as  y = Interp diag(E_r g) E_m x,  with E_d the evaluation matrix of
// polynomials of d coefficients and Interp the inverse of E_alpha. The
// correlation is the transpose of that map in x: AT = E_m^T, G = E_r,
// BT = Interp^T. Row xi of BT is then scaled by f_xi = prod_{j != xi}
// (p_xi - p_j) over the finite points, and row xi of G divided by it, so
// that the data transform (applied to every tile) has small integer-like
// entries and the fractions sit in the filter transform (applied once per
// call). The matrices are built in double and rounded to float once.
//
// Free of TensorFlow headers and of any instruction set: the engine turns
// these into the sparse rows its vector code applies (winograd_tile.h).
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_TRANSFORM_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_TRANSFORM_H_

#include <cstdint>

namespace tf_custom_op {

constexpr int kMaxAlpha = 8;

// The rows of a small rows x inputs matrix without its zeros: row i is
//   sum_{e < count[i]} coef[i][e] * x[index[i][e]].
// What the vector transforms apply, so that a +-1 / 0 matrix costs only its
// non-zero entries.
struct SparseRows {
  int rows = 0;
  int inputs = 0;
  int count[kMaxAlpha] = {};
  int index[kMaxAlpha][kMaxAlpha] = {};
  float coef[kMaxAlpha][kMaxAlpha] = {};
};

// F(m, r) on one axis. r == 1 is the identity (alpha = m): a phase with one
// tap along an axis needs no transform there.
struct AxisTransform {
  int m = 0, r = 0, alpha = 0;
  SparseRows g;   // G: alpha x r (the filter transform)
  SparseRows bt;  // BT: alpha x alpha (the data transform)
  SparseRows at;  // AT: m x alpha (the output transform)
};

// F(m, r) with the interpolation points this project uses for its alpha
// (WinogradPoints); false where alpha exceeds kMaxAlpha or m, r < 1.
bool MakeAxisTransform(int m, int r, AxisTransform* out);

// The finite interpolation points for a tile of `alpha` (alpha - 1 of them;
// infinity is the last point): 0, +-1, +-2, +-1/2, in that order (Lavin and
// Gray's for F(4, 3)). The tester measured F(4, 3) with +-1/2 in place of
// +-2 within the noise of its random draws (largest error 7.5e-6 against
// 8.7e-6 of max|dx| over the same checks), so the common choice stays.
// Exposed for the tester.
int WinogradPoints(int alpha, double* points);

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_TRANSFORM_H_
