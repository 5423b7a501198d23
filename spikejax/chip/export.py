"""Vendor layouts of a quantized MLP: Lava's (post, pre) Dense matrices, Xylo's weight arrays.

* Loihi: per layer ``k = 1..L`` (1-based, as in the trace format of the chip semantics, §4):
  ``W{k}_raw`` ``(post, pre)``, the weights to give Lava's ``Dense``, and ``W{k}_eff``, the
  weights Lava uses after its clip and truncation (identical: the quantized weights are already
  effective), scalars ``wexp{k}``, ``nwb{k}`` (``num_weight_bits``), and per neuron
  ``du{k}, dv{k}, vth{k}, bias_mant{k}, bias_exp{k}``. A convolution gives ``W{k}_conv`` in Lava
  ``Conv``'s layout ``(out channels, *kernel, in channels)`` and a max-pooling relay its shared
  weight ``W{k}_pool`` instead (their geometry in the json's ``connectivity``); a dense layer
  after a folded sum pool gives the expanded ``(post, pre)`` matrix; a recurrent layer adds
  ``Wrec{k}`` ``(post, pre)`` and ``wexprec{k}``. With ``input_levels = m > 1``
  every input channel is ``m`` binary input lines (a unary code), so ``W1_raw`` has ``m n_in``
  columns, channel ``i`` in columns ``i m .. i m + m - 1``. A two-layer network is exactly the
  input of `spikejax.chip.loihi.network_from_case` (plus ``s_in`` and ``reset``).
* Xylo: the fields of `spikejax.chip.xylo.XyloNetwork` (``weights_in`` ``(n_in, n_hid,
  2)``, ``weights_rec`` ``(n_hid, n_hid, 2)``, ``weights_out`` ``(n_hid, n_out)``, per-neuron
  dashes, thresholds and biases, scalar weight shifts); every hidden layer is a block of the
  hidden population, synapse 2 unused.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from spikejax._io import atomic_write_bytes, atomic_write_json
from spikejax.chip._emulate import chip_params
from spikejax.chip._model import ChipModel
from spikejax.chip.connectivity import apply
from spikejax.chip.loihi import LoihiDense, LoihiLIF, LoihiNetwork
from spikejax.chip.profiles import get_profile
from spikejax.chip.xylo import XyloNetwork

__all__ = [
    "LAYOUTS",
    "expand_inputs",
    "to_loihi_network",
    "to_xylo_network",
    "vendor_arrays",
    "write_files",
]

LAYOUTS = {
    "loihi": "Loihi (post, pre) per Dense",
    "xylo": "Xylo weights_in (pre, post, syn), weights_rec (pre, post, syn), "
    "weights_out (pre, post)",
}


def _np(params: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v).astype(np.int64) for k, v in params.items()}


def expand_inputs(chip_model: ChipModel, counts: Any) -> np.ndarray:
    """Loihi input lines for event counts ``[T, *batch, n_in]``: line ``(i, j)`` of channel
    ``i`` carries a spike when ``counts[..., i] > j`` (``j < input_levels``); ``[T, *batch,
    n_in * input_levels]`` uint8. Identity for binary inputs."""
    c = np.asarray(counts)
    m = chip_model.input_levels
    lines = c[..., None] > np.arange(m)
    return lines.reshape((*c.shape[:-1], c.shape[-1] * m)).astype(np.uint8)


def _dense_matrix(layer, weights: np.ndarray) -> np.ndarray:
    """The ``(post, pre)`` matrix of a dense layer whose presynaptic neurons are summed over
    folded pool windows first (every neuron of a window gets the window's weight): the transpose
    of the layer's linear map, exact in float32 for integer weights below ``2**24``."""
    conn = layer.spec.conn
    eye = jnp.eye(conn.n_out, dtype=jnp.float32)
    x = jnp.zeros((conn.n_out, conn.n_in), jnp.float32)
    w = jnp.asarray(weights, jnp.float32)
    _, vjp = jax.vjp(lambda x: apply(conn, x, w, precision=jax.lax.Precision.HIGHEST), x)
    return np.rint(np.asarray(vjp(eye)[0])).astype(np.int64)


def _loihi_layers(chip_model: ChipModel) -> list[dict[str, np.ndarray]]:
    m = chip_model.input_levels
    out = []
    for k, (layer, params) in enumerate(
        zip(chip_model.layers, chip_params(chip_model), strict=True)
    ):
        p = _np(params)
        conn = layer.spec.conn
        arrays: dict[str, np.ndarray] = {}
        if conn.op == "conv":  # Lava Conv's layout: (out channels, *kernel, in channels)
            arrays["W_conv"] = np.moveaxis(p["weights"], -1, 0)
        elif conn.op == "pool":
            arrays["W_pool"] = np.asarray(p["weights"], np.int64)
        else:
            w = p["weights"].T if conn.pool is None else _dense_matrix(layer, p["weights"])
            if k == 0 and m > 1:
                w = np.repeat(w, m, axis=1)
            arrays["W"] = w
        if "rec_weights" in p:
            arrays["Wrec"] = p["rec_weights"].T
            arrays["wexprec"] = np.int64(layer.rec_exp)
        out.append(
            arrays
            | {
                "wexp": np.int64(layer.weight_exp),
                "nwb": np.int64(chip_model.profile.weight_bits),
                "du": p["du"],
                "dv": p["dv"],
                "vth": p["vth"],
                "bias_mant": p["bias_mant"],
                "bias_exp": np.full(p["bias_mant"].shape, layer.bias_exp, np.int64),
            }
        )
    return out


def to_loihi_network(chip_model: ChipModel) -> LoihiNetwork:
    """The `LoihiNetwork` of a two-layer Loihi chip model (inputs
    are `expand_inputs` lines)."""
    fn = "to_loihi_network"
    if chip_model.chip != "loihi" or len(chip_model.layers) != 2:
        raise ValueError(
            f"`{fn}`: `chip_model` must be a two-layer Loihi model (the traced network); got "
            f"{chip_model.chip!r} with {len(chip_model.layers)} layers."
        )
    dense, lif = [], []
    p = chip_model.profile
    for layer in _loihi_layers(chip_model):
        dense.append(LoihiDense(layer["W"], layer["wexp"], profile=p))
        lif.append(
            LoihiLIF(
                layer["du"],
                layer["dv"],
                layer["vth"],
                layer["bias_mant"],
                layer["bias_exp"],
                profile=p,
            )
        )
    return LoihiNetwork(dense[0], lif[0], dense[1], lif[1])


def _xylo_arrays(chip_model: ChipModel) -> dict[str, np.ndarray]:
    params = [_np(p) for p in chip_params(chip_model)]
    layers = chip_model.layers
    hidden = params[:-1]
    sizes = [layer.spec.n_out for layer in layers[:-1]]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    n_hid, n_in, n_out = int(offsets[-1]), layers[0].spec.n_in, layers[-1].spec.n_out
    w_in = np.zeros((n_in, n_hid, 2), np.int64)
    w_rec = np.zeros((n_hid, n_hid, 2), np.int64)
    w_in[:, offsets[0] : offsets[1], 0] = hidden[0]["weights"]
    for k in range(1, len(hidden)):
        rows = slice(offsets[k - 1], offsets[k])
        w_rec[rows, offsets[k] : offsets[k + 1], 0] = hidden[k]["weights"]
    w_out = np.zeros((n_hid, n_out), np.int64)
    w_out[offsets[-2] : offsets[-1]] = params[-1]["weights"]
    cat = {
        name: np.concatenate([h[name] for h in hidden])
        for name in ("dash_syn", "dash_mem", "threshold", "bias")
    }
    out = params[-1]
    rec_shift = layers[1].weight_exp if len(layers) > 2 else 0
    return {
        "weights_in": w_in,
        "weights_rec": w_rec,
        "weights_out": w_out,
        "dash_syn": cat["dash_syn"],
        "dash_syn_2": np.zeros((n_hid,), np.int64),
        "dash_mem": cat["dash_mem"],
        "threshold": cat["threshold"],
        "bias": cat["bias"],
        "dash_syn_out": out["dash_syn"],
        "dash_mem_out": out["dash_mem"],
        "threshold_out": out["threshold"],
        "bias_out": out["bias"],
        "weight_shift_in": np.int64(layers[0].weight_exp),
        "weight_shift_rec": np.int64(rec_shift),
        "weight_shift_out": np.int64(layers[-1].weight_exp),
    }


def to_xylo_network(chip_model: ChipModel) -> XyloNetwork:
    """The `XyloNetwork` of a Xylo chip model."""
    if chip_model.chip != "xylo":
        raise ValueError(
            f"`to_xylo_network`: `chip_model` must be a Xylo model; got {chip_model.chip!r}."
        )
    return XyloNetwork(**_xylo_arrays(chip_model), profile=chip_model.profile)


def vendor_arrays(chip_model: ChipModel) -> dict[str, np.ndarray]:
    """The integer parameters in the vendor's layout (see the module docstring), int64 arrays."""
    if chip_model.chip == "xylo":
        return _xylo_arrays(chip_model)
    arrays = {}
    for k, layer in enumerate(_loihi_layers(chip_model), start=1):
        if "W" in layer:
            w = layer.pop("W")
            arrays |= {f"W{k}_raw": w, f"W{k}_eff": w.copy()}
        for name in ("conv", "pool"):
            if f"W_{name}" in layer:
                arrays[f"W{k}_{name}"] = layer.pop(f"W_{name}")
        arrays |= {f"{name}{k}": np.asarray(value) for name, value in layer.items()}
    return arrays


def _connectivity(conn) -> dict[str, Any]:
    return {
        "op": conn.op,
        "in_shape": list(conn.in_shape),
        "out_shape": list(conn.out_shape),
        "pool": None if conn.pool is None else [list(conn.pool[0]), list(conn.pool[1])],
        "kernel": list(conn.kernel),
        "strides": list(conn.strides),
        "padding": [list(p) for p in conn.padding],
        "dilation": list(conn.dilation),
        "groups": conn.groups,
    }


def write_files(
    out_dir: str | Path, cm: ChipModel, report: dict[str, Any] | None = None
) -> dict[str, str]:
    """Write ``<out_dir>/<chip>.npz`` (`vendor_arrays`) and ``<out_dir>/<chip>.json``
    (chip, sizes, input levels, layout, array shapes and dtypes, layer settings, leaf formats,
    semantic notes, ``report`` and the npz's SHA-256), each atomically; returns their paths."""
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = vendor_arrays(cm)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    npz = atomic_write_bytes(out_dir / f"{cm.chip}.npz", buffer.getvalue())
    meta = {
        "chip": cm.chip,
        "profile": get_profile(cm.chip).title,
        "sizes": list(cm.sizes),
        "input_levels": cm.input_levels,
        "weight_layout": LAYOUTS[cm.chip],
        "arrays": {k: [list(v.shape), str(v.dtype)] for k, v in arrays.items()},
        "layers": [
            {
                "kind": layer.spec.kind,
                "kernel": layer.spec.kernel,
                "v_scale": layer.v_scale,
                "weight_exp": layer.weight_exp,
                "bias_exp": layer.bias_exp,
                "constants": dict(layer.constants),
                "input_delay": layer.input_delay,
                "rec_exp": layer.rec_exp,
                "connectivity": _connectivity(layer.spec.conn),
            }
            for layer in cm.layers
        ],
        "formats": {
            path: {
                "name": f.name,
                "layer": f.layer,
                "code": f.code,
                "low": f.low,
                "high": f.high,
                "scale": f.scale,
                "offset": f.offset,
                "step": f.step,
                "origin": f.origin,
            }
            for path, f in cm.formats
        },
        "notes": list(cm.notes),
        "report": report or {},
        "npz_sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
    }
    meta_path = out_dir / f"{cm.chip}.json"
    atomic_write_json(meta_path, meta)
    return {"npz": str(npz), "json": str(meta_path)}
