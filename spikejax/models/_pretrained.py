"""Pretrained weights: every variable of a model in a flat ``.npz``, described by a JSON sidecar.

Format (version 1). ``<stem>.npz`` holds one array per variable of ``nnx.state(model)``, keyed by
its dotted path (``"stages.0.0.conv1.conv.kernel"``), in NumPy's own dtypes. ``<stem>.json`` next
to it holds::

    {"format": "spikejax.pretrained", "version": 1,
     "name": <zoo name>, "overrides": {<keyword overrides of models.create>},
     "weights": "<stem>.npz", "sha256": <hex digest of the .npz file>,
     "structure": {<path>: "Type:dtype[shape]"}, "metadata": {...}}

Loading checks the digest, the model name and every leaf's variable type, dtype and shape against
the model built with the requested overrides; any difference raises `PretrainedError`
naming it. Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax._io import create_temp

__all__ = [
    "FORMAT",
    "VERSION",
    "PretrainedError",
    "describe",
    "load_weights",
    "pretrained_info",
    "save_pretrained",
]

FORMAT = "spikejax.pretrained"
VERSION = 1


class PretrainedError(ValueError):
    """A pretrained-weights file is corrupt, or does not fit the model it is loaded into."""


def describe(variable: Any) -> str:
    """``"Type:dtype[shape]"`` of an NNX variable (the zoo's structure format)."""
    shape = ",".join(str(n) for n in variable.shape)
    return f"{type(variable).__name__}:{jnp.dtype(variable.dtype).name}[{shape}]"


def _flat(model: nnx.Module) -> list[tuple[str, Any]]:
    return [
        (".".join(str(p) for p in path), variable)
        for path, variable in nnx.to_flat_state(nnx.state(model))
    ]


def _plain(value: Any) -> Any:
    """JSON data of an override value (tuples become lists)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(
        f"`save_pretrained`: `overrides` must hold JSON data (numbers, strings, bools, None, "
        f"tuples); got {value!r}."
    )


def _frozen(value: Any) -> Any:
    """An override value read back from JSON (lists become tuples)."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = create_temp(path)  # the usual file mode, not mkstemp's 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _paths(fn: str, path: str | Path) -> tuple[Path, Path]:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`{fn}`: `pretrained` must be the path of a .npz file; got {path!r}.")
    weights = Path(path).expanduser()
    if weights.suffix != ".npz":
        raise ValueError(f"`{fn}`: `pretrained` must be the path of a .npz file; got {weights}.")
    return weights, weights.with_suffix(".json")


def save_pretrained(
    model: nnx.Module,
    path: str | Path,
    *,
    name: str,
    overrides: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model``'s variables to ``path`` (``.npz``) and a sidecar (``.json``) next to it.

    Args:
        model: the model (every variable is saved: parameters, batch-norm statistics, constants).
        path: the weights file; must end in ``.npz``. Its folder must exist.
        name: the zoo name the model was built from (`spikejax.models.create`).
        overrides: the keyword overrides it was built with (JSON data).
        metadata: free-form JSON data kept in the sidecar (accuracy, data, training run).

    Returns:
        The sidecar's path.

    Raises:
        TypeError: a variable is not a NumPy-representable array (e.g. bfloat16 or a PRNG key),
            or ``overrides`` is not JSON data.

    Example:
        >>> import tempfile, pathlib
        >>> from flax import nnx
        >>> from spikejax import models
        >>> options = dict(width=2, blocks=(1,), image_size=2, T=1)
        >>> net = models.create("sew_7bnet_dvs128", rngs=nnx.Rngs(0), **options)
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> models.save_pretrained(net, folder / "tiny.npz", name="sew_7bnet_dvs128",
        ...                        overrides=options).name
        'tiny.json'
        >>> copy = models.create("sew_7bnet_dvs128", rngs=nnx.Rngs(1),
        ...                      pretrained=folder / "tiny.npz", **options)
        >>> bool((copy.fc.kernel[...] == net.fc.kernel[...]).all())
        True
    """
    fn = "save_pretrained"
    weights, sidecar = _paths(fn, path)
    overrides = {str(k): _plain(v) for k, v in dict(overrides or {}).items()}
    metadata = _plain(dict(metadata or {}))
    arrays, structure = {}, {}
    for key, variable in _flat(model):
        value = np.asarray(variable.get_value())
        if value.dtype.kind not in "biuf":
            raise TypeError(
                f"`{fn}`: every variable must be a bool, integer or float array with a NumPy "
                f"dtype; got {key!r} of dtype {value.dtype}."
            )
        arrays[key], structure[key] = value, describe(variable)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    _write_atomic(weights, data)
    info = {
        "format": FORMAT,
        "version": VERSION,
        "name": name,
        "overrides": overrides,
        "weights": weights.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "structure": structure,
        "metadata": metadata,
    }
    _write_atomic(sidecar, (json.dumps(info, indent=1, sort_keys=True) + "\n").encode())
    return sidecar


def _read_sidecar(fn: str, weights: Path, sidecar: Path) -> dict[str, Any]:
    if not weights.is_file():
        raise FileNotFoundError(f"`{fn}`: pretrained weights {weights} not found.")
    if not sidecar.is_file():
        raise FileNotFoundError(
            f"`{fn}`: the sidecar {sidecar} of the pretrained weights {weights} must exist; it "
            "does not."
        )
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PretrainedError(f"`{fn}`: sidecar {sidecar} is corrupt: {error}.") from error
    keys = ("format", "version", "name", "overrides", "sha256", "structure")
    if not isinstance(info, dict) or any(k not in info for k in keys):
        raise PretrainedError(
            f"`{fn}`: sidecar {sidecar} is corrupt: it must be a JSON object with the keys "
            f"{list(keys)}."
        )
    if info["format"] != FORMAT or info["version"] != VERSION:
        raise PretrainedError(
            f"`{fn}`: sidecar {sidecar} must be format {FORMAT!r} version {VERSION}; got "
            f"{info['format']!r} version {info['version']!r}."
        )
    if not isinstance(info["overrides"], dict) or not isinstance(info["structure"], dict):
        raise PretrainedError(
            f"`{fn}`: sidecar {sidecar} is corrupt: `overrides` and `structure` must be objects."
        )
    return info


def pretrained_info(path: str | Path) -> dict[str, Any]:
    """The sidecar of a weights file: ``name``, ``overrides`` (tuples restored), ``metadata``, ….

    With it a model can be rebuilt from the file alone:
    ``create(info["name"], rngs=rngs, pretrained=path, **info["overrides"])``.

    Raises:
        FileNotFoundError: the weights or the sidecar is missing.
        PretrainedError: the sidecar is corrupt or of another format version.
    """
    weights, sidecar = _paths("pretrained_info", path)
    info = _read_sidecar("pretrained_info", weights, sidecar)
    info["overrides"] = {k: _frozen(v) for k, v in info["overrides"].items()}
    return info


def _read_arrays(fn: str, weights: Path, digest: str) -> dict[str, np.ndarray]:
    data = weights.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise PretrainedError(
            f"`{fn}`: pretrained weights {weights} are corrupt or were changed: their sha256 must "
            f"be {digest} (the sidecar's); got {actual}."
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise PretrainedError(
            f"`{fn}`: pretrained weights {weights} are corrupt: {error}."
        ) from error


def _first_differences(expected: dict[str, str], got: dict[str, str]) -> list[str]:
    lines = []
    for key in sorted(set(expected) | set(got)):
        want, have = expected.get(key, "absent"), got.get(key, "absent")
        if want != have:
            lines.append(f"leaf {key!r}: expected {want}, got {have}")
    return lines


def load_weights(
    model: nnx.Module, path: str | Path, *, name: str, overrides: Mapping[str, Any], fn: str
) -> None:
    """Set every variable of ``model`` (built as ``name`` with ``overrides``) from ``path``.

    Raises:
        FileNotFoundError: the weights or the sidecar is missing.
        PretrainedError: a corrupt file (digest, archive, sidecar), weights of another model, or
            a leaf whose type, dtype or shape differs (named, expected from the model vs got from
            the file).
    """
    weights, sidecar = _paths(fn, path)
    info = _read_sidecar(fn, weights, sidecar)
    if info["name"] != name:
        raise PretrainedError(
            f"`{fn}`: pretrained weights {weights} must be weights of {name!r}; they are of "
            f"{info['name']!r}."
        )
    arrays = _read_arrays(fn, weights, info["sha256"])
    recorded = info["structure"]
    # The archive must agree with its own sidecar before it is compared with the model.
    in_file = {}
    for key, array in arrays.items():
        kind = str(recorded.get(key, "?:")).split(":", 1)[0]
        in_file[key] = f"{kind}:{array.dtype.name}[{','.join(str(n) for n in array.shape)}]"
    inconsistent = _first_differences(recorded, in_file)
    if inconsistent:
        raise PretrainedError(
            f"`{fn}`: pretrained weights {weights} are corrupt: the archive disagrees with its "
            f"sidecar ({len(inconsistent)} leaves; first: {inconsistent[0]})."
        )
    variables = _flat(model)
    expected = {key: describe(variable) for key, variable in variables}
    mismatched = _first_differences(expected, in_file)
    if mismatched:
        shown = "; ".join(mismatched[:3])
        raise PretrainedError(
            f"`{fn}`: pretrained weights {weights} must fit {name!r} built with overrides "
            f"{dict(overrides)}; {len(mismatched)} leaves differ (expected: the model, got: the "
            f"file): {shown}. The file was saved with overrides {info['overrides']}."
        )
    flat = nnx.to_flat_state(nnx.state(model))
    for (key, _), (_, variable) in zip(variables, flat, strict=True):
        variable.set_value(jnp.asarray(arrays[key]))
    nnx.update(model, nnx.from_flat_state(flat))
