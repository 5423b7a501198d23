"""The three canonical workloads: sizes, data and initial weights, drawn exactly as specified.

Every framework's script builds its inputs here, so all of them start from the same arrays: one
``numpy.random.default_rng(0)`` per workload, drawn in the stated order, float32, PyTorch layouts
(Linear ``(out, in)``, Conv ``(out, in, kh, kw)``, images NCHW, inputs time-major).

Also: the reference first losses and layer-1 spike rates, and a plain numpy forward pass of each
network (float64) that reproduces them independently of any framework.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "REFERENCE",
    "SIZES",
    "WORKLOADS",
    "draw",
    "numpy_forward",
]

WORKLOADS = ("lif_layer", "shd_mlp", "conv_nmnist")

SIZES = {
    "lif_layer": {"B": 16, "T": 500, "N": 512, "p_in": 0.1},
    "shd_mlp": {"B": 64, "T": 100, "n_in": 700, "n_hidden": 256, "n_out": 20, "p_in": 0.05},
    "conv_nmnist": {"B": 32, "T": 25, "C": 2, "H": 34, "W": 34, "n_out": 10, "p_in": 0.05},
}

# First loss (initial weights) and layer-1 spike rate, float32.
REFERENCE = {
    "lif_layer": {"loss": 315732.0, "rate1": 0.077083},
    "shd_mlp": {"loss": 3.583281, "rate1": 0.039130},
    "conv_nmnist": {"loss": 2.380601, "rate1": 0.444120},
}

BETA = 0.9
THRESHOLD = 1.0
LR = 1e-3


def _uniform(rng: np.random.Generator, fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
    a = 3.0 / np.sqrt(fan_in)
    return rng.uniform(-a, a, size=shape).astype(np.float32)


def _spikes(rng: np.random.Generator, shape: tuple[int, ...], p: float) -> np.ndarray:
    return (rng.random(shape) < p).astype(np.float32)


def draw(workload: str) -> dict[str, np.ndarray]:
    """The arrays of ``workload`` from ``default_rng(0)``, in the specified order.

    Keys: ``x`` (time-major spikes), ``y`` (int64 labels, if any) and the weights under their
    PyTorch names (``w``; ``w1``, ``w2``; ``c1w``, ``c1b``, ``c2w``, ``c2b``, ``fcw``, ``fcb``).
    """
    rng = np.random.default_rng(0)
    if workload == "lif_layer":
        s = SIZES[workload]
        x = _spikes(rng, (s["T"], s["B"], s["N"]), s["p_in"])
        w = _uniform(rng, s["N"], (s["N"], s["N"]))
        return {"x": x, "w": w}
    if workload == "shd_mlp":
        s = SIZES[workload]
        x = _spikes(rng, (s["T"], s["B"], s["n_in"]), s["p_in"])
        y = rng.integers(0, s["n_out"], size=(s["B"],))
        w1 = _uniform(rng, s["n_in"], (s["n_hidden"], s["n_in"]))
        w2 = _uniform(rng, s["n_hidden"], (s["n_out"], s["n_hidden"]))
        return {"x": x, "y": y, "w1": w1, "w2": w2}
    if workload == "conv_nmnist":
        s = SIZES[workload]
        x = _spikes(rng, (s["T"], s["B"], s["C"], s["H"], s["W"]), s["p_in"])
        y = rng.integers(0, s["n_out"], size=(s["B"],))
        out = {"x": x, "y": y}
        out["c1w"] = _uniform(rng, 50, (12, 2, 5, 5))
        out["c1b"] = _uniform(rng, 50, (12,))
        out["c2w"] = _uniform(rng, 300, (64, 12, 5, 5))
        out["c2b"] = _uniform(rng, 300, (64,))
        out["fcw"] = _uniform(rng, 1600, (10, 1600))
        out["fcb"] = _uniform(rng, 1600, (10,))
        return out
    raise ValueError(f"`draw`: `workload` must be one of {WORKLOADS}; got {workload!r}.")


# ---------------------------------------------------------------- numpy reference (float64)


def _lif(currents: np.ndarray) -> np.ndarray:
    v = np.zeros(currents.shape[1:])
    out = np.empty_like(currents)
    for t in range(currents.shape[0]):
        h = BETA * v + currents[t]
        s = (h >= THRESHOLD).astype(currents.dtype)
        v = h - THRESHOLD * s
        out[t] = s
    return out


def _li(currents: np.ndarray) -> np.ndarray:
    u = np.zeros(currents.shape[1:])
    out = np.empty_like(currents)
    for t in range(currents.shape[0]):
        u = BETA * u + currents[t]
        out[t] = u
    return out


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def _conv_valid(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NCHW x (O, C, kh, kw) -> NOHW, valid padding, stride 1 (cross-correlation)."""
    n, c, h, wd = x.shape
    _, _, kh, kw = w.shape
    ho, wo = h - kh + 1, wd - kw + 1
    cols = np.empty((n, c, kh, kw, ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i : i + ho, j : j + wo]
    out = np.einsum("nckluv,ockl->nouv", cols, w, optimize=True)
    return out + b[None, :, None, None]


def _maxpool2(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    x = x[:, :, : 2 * h2, : 2 * w2].reshape(n, c, h2, 2, w2, 2)
    return x.max(axis=(3, 5))


def numpy_forward(workload: str, arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """First loss and layer-1 spike rate of ``workload`` in float64 numpy (slow; a reference)."""
    a = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in arrays.items()}
    x = a["x"]
    if workload == "lif_layer":
        s1 = _lif(x @ a["w"].T)
        return {"loss": float(s1.sum()), "rate1": float(s1.mean())}
    if workload == "shd_mlp":
        s1 = _lif(x @ a["w1"].T)
        u = _li(s1 @ a["w2"].T)
        return {"loss": _cross_entropy(u.mean(0), a["y"]), "rate1": float(s1.mean())}
    if workload == "conv_nmnist":
        T, B = x.shape[:2]
        folded = x.reshape(T * B, *x.shape[2:])
        c1 = _maxpool2(_conv_valid(folded, a["c1w"], a["c1b"]))
        s1 = _lif(c1.reshape(T, B, *c1.shape[1:]))
        c2 = _maxpool2(_conv_valid(s1.reshape(T * B, *s1.shape[2:]), a["c2w"], a["c2b"]))
        s2 = _lif(c2.reshape(T, B, *c2.shape[1:]))
        s3 = _lif(s2.reshape(T, B, -1) @ a["fcw"].T + a["fcb"])
        return {"loss": _cross_entropy(s3.sum(0), a["y"]), "rate1": float(s1.mean())}
    raise ValueError(f"`numpy_forward`: `workload` must be one of {WORKLOADS}; got {workload!r}.")


if __name__ == "__main__":
    import json

    for name in WORKLOADS:
        got = numpy_forward(name, draw(name))
        print(json.dumps({"workload": name, **got, "reference": REFERENCE[name]}))
