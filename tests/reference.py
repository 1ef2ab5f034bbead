"""A direct NumPy implementation of SPEC.md section 2 (the oracle for the
configurations TensorFlow's own CPU kernels refuse).

Deliberately simple: one pass per filter tap, float64 (int64 for int32) and a
final cast, so that it shares no structure with the op's phase-decomposed
kernel.
"""
import numpy as np


def _out_and_pads(n, k, s, d, padding, explicit):
    """(out size, pad before, pad after) for one spatial axis, SPEC.md section 2.

    Uses C++ truncating division (int(a / b) towards zero), not floor division.
    """
    eff = (k - 1) * d + 1

    def tdiv(a, b):
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q

    if padding == "VALID":
        return tdiv(n - eff + s, s), 0, 0
    if padding == "SAME":
        out = tdiv(n + s - 1, s)
        need = max(0, (out - 1) * s + eff - n)
        return out, need // 2, need - need // 2
    before, after = explicit
    return tdiv(n + before + after - eff + s, s), before, after


def output_size(n, k, s, d, padding, explicit=(0, 0)):
    """out_backprop's spatial size for input size n (may be negative = error)."""
    return _out_and_pads(n, k, s, d, padding, explicit)[0]


def spatial_pads(n, k, s, d, padding, explicit=(0, 0)):
    _, before, after = _out_and_pads(n, k, s, d, padding, explicit)
    return before, after


def conv2d_backprop_input_ref(input_sizes, w, dy, strides, padding,
                              data_format="NHWC", dilations=(1, 1, 1, 1),
                              out_dtype=None):
    """dx per SPEC.md section 2.

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
        if nchw:
            ph, pw = tuple(padding[2]), tuple(padding[3])
        else:
            ph, pw = tuple(padding[1]), tuple(padding[2])
    out_h, pt, _ = _out_and_pads(H, R, sh, dh, mode, ph)
    out_w, pl, _ = _out_and_pads(W, S, sw, dw, mode, pw)
    assert (out_h, out_w) == (P, Q), (
        f"out_backprop spatial {(P, Q)} != computed {(out_h, out_w)}")
    assert C % Cg == 0 if Cg else C == 0
    G = C // Cg if Cg else 0
    dx = np.zeros((N, H, W, C), dtype=acc)
    if G and K:
        assert K % G == 0
        Kg = K // G
        p_idx = np.arange(P)
        q_idx = np.arange(Q)
        for r in range(R):
            hs = p_idx * sh + r * dh - pt
            vp = (hs >= 0) & (hs < H)
            if not vp.any():
                continue
            for s in range(S):
                xs = q_idx * sw + s * dw - pl
                vq = (xs >= 0) & (xs < W)
                if not vq.any():
                    continue
                dy_rs = dy[:, vp][:, :, vq]  # [N, P', Q', K]
                for g in range(G):
                    contrib = np.einsum(
                        "npqo,co->npqc",
                        dy_rs[..., g * Kg:(g + 1) * Kg],
                        w[r, s, :, g * Kg:(g + 1) * Kg])
                    # p -> h and q -> x are injective for a fixed tap, so
                    # fancy-index += does not drop duplicate updates.
                    dx[:, hs[vp][:, None], xs[vq][None, :],
                       g * Cg:(g + 1) * Cg] += contrib
    if nchw:
        dx = dx.transpose(0, 3, 1, 2)
    if out_dtype is not None:
        if integer and np.dtype(out_dtype) == np.int32:
            dx = (dx & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
        else:
            dx = dx.astype(out_dtype)
    return np.ascontiguousarray(dx)
