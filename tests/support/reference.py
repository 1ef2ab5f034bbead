"""A direct NumPy implementation of docs/CONTRACT.md section 2 (the oracle for the
configurations TensorFlow's own CPU kernels refuse).

Deliberately simple: one pass per filter tap, float64 (int64 for int32) and a
final cast, so that it shares no structure with the op's phase-decomposed
kernel.
"""
import numpy as np

# The size arithmetic is the package's single statement of it (plain Python,
# not the kernels); everything else here is independent of the op's code.
from tf_custom_op.geometry import (axis_window, flat_paddings, output_size,  # noqa: F401
                                   spatial_padding_pairs)


def _out_and_pads(n, k, s, d, padding, explicit):
    """(out size, pad before, pad after) for one spatial axis."""
    return axis_window(n, k, s, d, padding, explicit)


def spatial_pads(n, k, s, d, padding, explicit=(0, 0)):
    _, before, after = _out_and_pads(n, k, s, d, padding, explicit)
    return before, after


def _problem(input_sizes, w, dy, strides, padding, data_format, dilations):
    """Everything both references need, in NHWC and float64 (int64)."""
    nchw = data_format == "NCHW"
    w = np.asarray(w)
    dy = np.asarray(dy)
    integer = np.issubdtype(w.dtype, np.integer)
    acc = np.int64 if integer else np.float64
    w = w.astype(acc)
    dy = dy.astype(acc)
    if nchw:
        dy = dy.transpose(0, 2, 3, 1)
        sh, sw = strides[2], strides[3]
        dh, dw = dilations[2], dilations[3]
    else:
        sh, sw = strides[1], strides[2]
        dh, dw = dilations[1], dilations[2]
    sizes = [int(v) for v in input_sizes]
    R, S, Cg, K = w.shape
    N, P, Q, Kd = dy.shape
    assert Kd == K
    if len(sizes) == 2:
        H, W = sizes
        C = Cg
        n_in = N
    else:
        if nchw:
            n_in, C, H, W = sizes
        else:
            n_in, H, W, C = sizes
    assert n_in == N, "batch mismatch"
    if isinstance(padding, str):
        ph = pw = (0, 0)
        mode = padding
    else:
        mode = "EXPLICIT"
        ph, pw = spatial_padding_pairs(flat_paddings(padding), data_format)
    out_h, pt, _ = _out_and_pads(H, R, sh, dh, mode, ph)
    out_w, pl, _ = _out_and_pads(W, S, sw, dw, mode, pw)
    assert (out_h, out_w) == (P, Q), (
        f"out_backprop spatial {(P, Q)} != computed {(out_h, out_w)}")
    assert C % Cg == 0 if Cg else C == 0
    G = C // Cg if Cg else 0
    if G and K:
        assert K % G == 0
    return dict(nchw=nchw, integer=integer, acc=acc, w=w, dy=dy, N=N, H=H, W=W, C=C,
                R=R, S=S, Cg=Cg, K=K, P=P, Q=Q, G=G, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pl=pl)


def _taps(pb):
    """For each filter tap (r, s) that reaches dx: r, s, the dy rows and
    columns it reads (boolean masks) and the dx rows and columns it writes."""
    p_idx, q_idx = np.arange(pb["P"]), np.arange(pb["Q"])
    for r in range(pb["R"]):
        hs = p_idx * pb["sh"] + r * pb["dh"] - pb["pt"]
        vp = (hs >= 0) & (hs < pb["H"])
        if not vp.any():
            continue
        for s in range(pb["S"]):
            xs = q_idx * pb["sw"] + s * pb["dw"] - pb["pl"]
            vq = (xs >= 0) & (xs < pb["W"])
            if vq.any():
                yield r, s, vp, vq, hs[vp], xs[vq]


def _finish(x, pb, nchw_layout, out_dtype):
    if nchw_layout:
        x = x.transpose(0, 3, 1, 2)
    if out_dtype is not None:
        if pb["integer"] and np.dtype(out_dtype) == np.int32:
            x = (x & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
        else:
            x = x.astype(out_dtype)
    return np.ascontiguousarray(x)


def conv2d_backprop_input_ref(input_sizes, w, dy, strides, padding,
                              data_format="NHWC", dilations=(1, 1, 1, 1),
                              out_dtype=None):
    """dx per docs/CONTRACT.md section 2.

    Args:
      input_sizes: 4 ints (data_format order) or 2 ints (H, W).
      w: [R, S, C_g, K] array.
      dy: out_backprop in data_format layout.
      strides, dilations: 4 ints in data_format order.
      padding: "SAME", "VALID" or 4 (before, after) pairs in data_format order.
      out_dtype: numpy dtype of the result (default: float64, or int64 for
        integer inputs). Integer results wrap modulo 2**32 when out_dtype is
        int32, like TensorFlow's int32 arithmetic.

    Returns:
      dx in data_format layout.
    """
    pb = _problem(input_sizes, w, dy, strides, padding, data_format, dilations)
    w, dy, G, Cg, K = pb["w"], pb["dy"], pb["G"], pb["Cg"], pb["K"]
    dx = np.zeros((pb["N"], pb["H"], pb["W"], pb["C"]), dtype=pb["acc"])
    # Empty operands contribute nothing (and a filter may be huge along an
    # axis while empty along another: do not walk its taps).
    if G and K and w.size and dy.size:
        Kg = K // G
        for r, s, vp, vq, rows, cols in _taps(pb):
            dy_rs = dy[:, vp][:, :, vq]  # [N, P', Q', K]
            for g in range(G):
                contrib = np.einsum(
                    "npqo,co->npqc",
                    dy_rs[..., g * Kg:(g + 1) * Kg],
                    w[r, s, :, g * Kg:(g + 1) * Kg])
                # p -> h and q -> x are injective for a fixed tap, so
                # fancy-index += does not drop duplicate updates.
                dx[:, rows[:, None], cols[None, :], g * Cg:(g + 1) * Cg] += contrib
    return _finish(dx, pb, pb["nchw"], out_dtype)


def conv2d_backprop_input_grads_ref(input_sizes, w, dy, upstream, strides, padding,
                                    data_format="NHWC", dilations=(1, 1, 1, 1),
                                    out_dtype=None):
    """Gradients of sum(dx * upstream) w.r.t. the filter and out_backprop.

    dx is bilinear in (w, dy), so each gradient is the sum, over the taps
    that reach dx, of upstream's pixels times the other operand:
      d/dw[r, s, c, k]    = sum_{n,p,q} upstream[n, h, x, c] * dy[n, p, q, k]
      d/ddy[n, p, q, k]   = sum_{r,s,c} upstream[n, h, x, c] * w[r, s, c, k]
    with h = p*sh + r*dh - pad_top, x = q*sw + s*dw - pad_left, and c and k
    in the same group. Returns (d/dw, d/ddy) in the operands' layouts.
    """
    pb = _problem(input_sizes, w, dy, strides, padding, data_format, dilations)
    w, dy, G, Cg, K = pb["w"], pb["dy"], pb["G"], pb["Cg"], pb["K"]
    up = np.asarray(upstream).astype(pb["acc"])
    if pb["nchw"]:
        up = up.transpose(0, 2, 3, 1)
    dw = np.zeros(w.shape, dtype=pb["acc"])
    ddy = np.zeros(dy.shape, dtype=pb["acc"])
    if G and K and w.size and dy.size and up.size:
        Kg = K // G
        p_idx, q_idx = np.arange(pb["P"]), np.arange(pb["Q"])
        for r, s, vp, vq, rows, cols in _taps(pb):
            up_rs = up[:, rows[:, None], cols[None, :], :]  # [N, P', Q', C]
            dy_rs = dy[:, vp][:, :, vq]
            ps, qs = p_idx[vp], q_idx[vq]
            for g in range(G):
                cs, ks = slice(g * Cg, (g + 1) * Cg), slice(g * Kg, (g + 1) * Kg)
                dw[r, s, :, ks] += np.einsum("npqc,npqo->co", up_rs[..., cs], dy_rs[..., ks])
                ddy[:, ps[:, None], qs[None, :], ks] += np.einsum(
                    "npqc,co->npqo", up_rs[..., cs], w[r, s, :, ks])
    return _finish(dw[None], pb, False, out_dtype)[0], _finish(ddy, pb, pb["nchw"], out_dtype)
