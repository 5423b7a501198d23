"""An independent NumPy simulation of NIR graphs from the equations of docs/explanation/nir.md
(float64).

Written from the NIR 1.0 equations, not from spikejax: forward Euler at ``dt`` (or the exact
exponential step), spike when ``v > v_threshold`` then ``v ← v_reset``, IF/I integrating per
step, values crossing forward edges in the same step and the edges listed in ``back`` one step
later (zeros first), fan-in summed, ``Delay`` in ``round(delay/dt)`` steps, channels-first
convolutions and pooling written as explicit loops.
"""

from __future__ import annotations

import numpy as np


def _conv(x, w, b, stride, pad, dil, groups):
    """x: (B, C, *S) channels first; w: (O, C/g, *K); symmetric padding per axis."""
    n = w.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0), *[(p, p) for p in pad]])
    out_sp = [
        (x.shape[2 + a] - dil[a] * (w.shape[2 + a] - 1) - 1) // stride[a] + 1 for a in range(n)
    ]
    o, cg = w.shape[:2]
    y = np.zeros((x.shape[0], o, *out_sp))
    per = o // groups
    for oc in range(o):
        g = oc // per
        for idx in np.ndindex(*out_sp):
            acc = np.zeros(x.shape[0])
            for k in np.ndindex(*w.shape[2:]):
                pos = tuple(idx[a] * stride[a] + k[a] * dil[a] for a in range(n))
                patch = x[(slice(None), slice(g * cg, (g + 1) * cg), *pos)]
                acc += patch @ w[(oc, slice(None), *k)]
            y[(slice(None), oc, *idx)] = acc + b[oc]
    return y


def _pool(x, k, s, p, avg):
    x = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    oh, ow = (x.shape[2] - k[0]) // s[0] + 1, (x.shape[3] - k[1]) // s[1] + 1
    y = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = x[:, :, i * s[0] : i * s[0] + k[0], j * s[1] : j * s[1] + k[1]].sum(
                (2, 3)
            )
    return y / (k[0] * k[1]) if avg else y


def _pair(v):
    v = np.asarray(v).reshape(-1)
    return (int(v[0]),) * 2 if v.size == 1 else tuple(int(a) for a in v)


def simulate(graph, xs, *, dt, back=(), exact=False, record=()):
    """Run ``graph`` (an ``nir.NIRGraph``) on ``xs`` ``[T, B, *input]`` (one Input node).

    Returns ``(outputs by Output name [T, B, ...], membranes of the nodes in ``record`` [T, B,
    ...] (after the reset), the smallest |v - θ| seen before any reset)``.
    """
    nodes, edges, back = graph.nodes, list(graph.edges), set(back)
    T = xs.shape[0]
    state, prev, outs, mem = {}, {}, {}, {n: [] for n in record}
    margin = np.inf

    def decay(tau):
        return np.exp(-dt / tau) if exact else 1.0 - dt / tau

    for t in range(T):
        vals = {}
        pending = [n for n in nodes]
        while pending:
            progressed = False
            for name in list(pending):
                srcs = [(a, (a, b) in back) for a, b in edges if b == name]
                if any(not bk and a not in vals for a, bk in srcs):
                    continue
                node = nodes[name]
                kind = type(node).__name__
                if kind == "Input":
                    out = xs[t].astype(np.float64)
                else:
                    parts = [prev.get(a, 0.0) if bk else vals[a] for a, bk in srcs]
                    x = sum(parts[1:], parts[0])
                    out = _node(node, kind, name, x, state, dt, decay, mem)
                    if isinstance(out, tuple):
                        out, m = out
                        margin = min(margin, m)
                vals[name] = out
                pending.remove(name)
                progressed = True
            assert progressed, f"cycle without a back edge among {pending}"
        for a, _ in back:
            prev[a] = vals[a]
        for name in nodes:
            if type(nodes[name]).__name__ == "Output":
                outs.setdefault(name, []).append(np.broadcast_to(vals[name], vals[name].shape))
    return (
        {k: np.stack(v) for k, v in outs.items()},
        {k: np.stack(v) for k, v in mem.items()},
        margin,
    )


def _f(a):
    return np.asarray(a, np.float64)


def _spike(name, v, node, state, mem):
    theta = _f(node.v_threshold)
    margin = float(np.min(np.abs(v - theta)))
    s = (v > theta).astype(np.float64)
    v = np.where(s > 0, _f(node.v_reset), v)
    state[name]["v"] = v
    if name in mem:
        mem[name].append(v)
    return s, margin


def _node(node, kind, name, x, state, dt, decay, mem):
    if kind == "Output":
        return x
    if kind == "Affine":
        return x @ _f(node.weight).T + _f(node.bias)
    if kind == "Linear":
        return x @ _f(node.weight).T
    if kind == "Scale":
        return x * _f(node.scale)
    if kind == "Threshold":
        return (x > _f(node.threshold)).astype(np.float64)
    if kind == "Flatten":
        shape = x.shape[1:]
        s, e = int(node.start_dim), int(node.end_dim)
        s, e = s % len(shape), e % len(shape)
        return x.reshape((x.shape[0], *shape[:s], -1, *shape[e + 1 :]))
    if kind in ("Conv1d", "Conv2d"):
        n = 1 if kind == "Conv1d" else 2
        w = _f(node.weight)

        def per(v):
            v = np.asarray(v).reshape(-1)
            return (int(v[0]),) * n if v.size == 1 else tuple(int(a) for a in v)

        return _conv(
            x,
            w,
            _f(node.bias),
            per(node.stride),
            per(node.padding),
            per(node.dilation),
            int(node.groups),
        )
    if kind in ("SumPool2d", "AvgPool2d"):
        return _pool(
            x, _pair(node.kernel_size), _pair(node.stride), _pair(node.padding), kind == "AvgPool2d"
        )
    st = state.setdefault(name, {})
    if kind == "Delay":
        d = np.rint(_f(node.delay) / dt).astype(int)
        hist = st.setdefault("hist", [])
        hist.insert(0, x)
        out = np.zeros_like(x)
        for idx in np.ndindex(*x.shape[1:]):
            k = int(np.broadcast_to(d, x.shape[1:])[idx])
            if k < len(hist):
                out[(slice(None), *idx)] = hist[k][(slice(None), *idx)]
        return out
    v = st.get("v", np.zeros_like(x))
    if kind in ("IF", "I"):
        v = v + _f(node.r) * x
        if kind == "I":
            st["v"] = v
            return v
        return _spike(name, v, node, state, mem)
    if kind in ("LIF", "LI"):
        beta = decay(_f(node.tau))
        target = _f(node.v_leak) + _f(node.r) * x
        v = target + (v - target) * beta  # Euler: v + dt/τ (target - v); exact: the exponential
        if kind == "LI":
            st["v"] = v
            return v
        return _spike(name, v, node, state, mem)
    i = st.get("i", np.zeros_like(x))
    alpha = decay(_f(node.tau_syn))
    i = _f(node.w_in) * x + (i - _f(node.w_in) * x) * alpha  # τ_syn İ = -I + w_in S
    st["i"] = i
    beta = decay(_f(node.tau_mem))
    target = _f(node.v_leak) + _f(node.r) * i  # the new current drives the membrane
    v = target + (v - target) * beta
    if kind == "CubaLI":
        st["v"] = v
        return v
    return _spike(name, v, node, state, mem)
