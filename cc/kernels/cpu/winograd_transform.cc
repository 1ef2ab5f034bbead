#include "cc/kernels/cpu/winograd_transform.h"

#include <cmath>
#include <utility>

namespace tf_custom_op {
namespace {

// The evaluation matrix of polynomials with `coefficients` coefficients at
// the alpha points (the last one infinity): row xi is 1, p, p^2, ... for a
// finite point and 0, ..., 0, 1 (the leading coefficient) for infinity.
void Evaluation(const double* points, int alpha, int coefficients,
                double (*out)[kMaxAlpha]) {
  for (int xi = 0; xi < alpha; ++xi) {
    double power = 1.0;
    for (int j = 0; j < coefficients; ++j) {
      if (xi == alpha - 1) {
        out[xi][j] = j == coefficients - 1 ? 1.0 : 0.0;
      } else {
        out[xi][j] = power;
        power *= points[xi];
      }
    }
  }
}

// Inverts the n x n matrix `a` in place (Gauss-Jordan with partial
// pivoting); the Vandermonde matrices here are small and well posed.
bool Invert(int n, double (*a)[kMaxAlpha]) {
  double inv[kMaxAlpha][kMaxAlpha] = {};
  for (int i = 0; i < n; ++i) inv[i][i] = 1.0;
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int row = col + 1; row < n; ++row) {
      if (std::fabs(a[row][col]) > std::fabs(a[pivot][col])) pivot = row;
    }
    if (a[pivot][col] == 0.0) return false;
    for (int j = 0; j < n; ++j) {
      std::swap(a[col][j], a[pivot][j]);
      std::swap(inv[col][j], inv[pivot][j]);
    }
    const double scale = 1.0 / a[col][col];
    for (int j = 0; j < n; ++j) {
      a[col][j] *= scale;
      inv[col][j] *= scale;
    }
    for (int row = 0; row < n; ++row) {
      if (row == col || a[row][col] == 0.0) continue;
      const double factor = a[row][col];
      for (int j = 0; j < n; ++j) {
        a[row][j] -= factor * a[col][j];
        inv[row][j] -= factor * inv[col][j];
      }
    }
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) a[i][j] = inv[i][j];
  return true;
}

// The non-zero entries of a rows x cols matrix. Entries within 1e-12 of an
// integer or half-integer are snapped to it: the inversion leaves rounding
// noise on the exact rationals of BT and AT.
SparseRows Sparse(const double (*m)[kMaxAlpha], int rows, int cols) {
  SparseRows out;
  out.rows = rows;
  out.inputs = cols;
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      double v = m[i][j];
      const double snapped = std::round(v * 8.0) / 8.0;
      if (std::fabs(v - snapped) < 1e-12) v = snapped;
      if (v == 0.0) continue;
      out.index[i][out.count[i]] = j;
      out.coef[i][out.count[i]] = static_cast<float>(v);
      ++out.count[i];
    }
  }
  return out;
}

}  // namespace

int WinogradPoints(int alpha, double* points) {
  static const double kOrder[kMaxAlpha - 1] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5};
  const int finite = alpha - 1;
  for (int i = 0; i < finite; ++i) points[i] = kOrder[i];
  return finite;
}

bool MakeAxisTransform(int m, int r, AxisTransform* out) {
  const int alpha = m + r - 1;
  if (m < 1 || r < 1 || alpha > kMaxAlpha) return false;
  *out = AxisTransform();
  out->m = m;
  out->r = r;
  out->alpha = alpha;
  double at[kMaxAlpha][kMaxAlpha] = {};
  double bt[kMaxAlpha][kMaxAlpha] = {};
  double g[kMaxAlpha][kMaxAlpha] = {};
  if (r == 1) {
    // One tap: y[i] = d[i] g[0]. Identity transforms, G = 1.
    for (int i = 0; i < m; ++i) {
      at[i][i] = 1.0;
      bt[i][i] = 1.0;
      g[i][0] = 1.0;
    }
    out->at = Sparse(at, m, m);
    out->bt = Sparse(bt, m, m);
    out->g = Sparse(g, m, 1);
    return true;
  }
  double points[kMaxAlpha];
  WinogradPoints(alpha, points);
  double e_m[kMaxAlpha][kMaxAlpha] = {};
  double e_r[kMaxAlpha][kMaxAlpha] = {};
  double interp[kMaxAlpha][kMaxAlpha] = {};
  Evaluation(points, alpha, m, e_m);
  Evaluation(points, alpha, r, e_r);
  Evaluation(points, alpha, alpha, interp);
  if (!Invert(alpha, interp)) return false;
  for (int xi = 0; xi < alpha; ++xi) {
    // f_xi: moves the fractions of BT's row xi into G's row xi.
    double f = 1.0;
    if (xi < alpha - 1) {
      for (int j = 0; j < alpha - 1; ++j) {
        if (j != xi) f *= points[xi] - points[j];
      }
    }
    for (int i = 0; i < m; ++i) at[i][xi] = e_m[xi][i];
    for (int j = 0; j < r; ++j) g[xi][j] = e_r[xi][j] / f;
    for (int j = 0; j < alpha; ++j) bt[xi][j] = interp[j][xi] * f;
  }
  out->at = Sparse(at, m, alpha);
  out->bt = Sparse(bt, alpha, alpha);
  out->g = Sparse(g, alpha, r);
  return true;
}

}  // namespace tf_custom_op
