"""Regenerate the pinned chip format in tests/golden/chip_format.json.

    .venv/bin/python tests/golden/regenerate_chip.py

Pins, for fixed small networks quantized for each bit-exact chip, every leaf of the chip model:
its path, variable type, dtype, shape and the chip parameter it holds. Run this only after a
deliberate change of the chip format: the file exists so that an unintended change of what a
deployed model's integer tree looks like shows up as a diff.
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = pathlib.Path(__file__).with_name("chip_format.json")
COMMAND = ".venv/bin/python tests/golden/regenerate_chip.py"


def structures() -> dict[str, dict[str, str]]:
    """``{"<net>/<chip>": {path: "Type:dtype[shape] parameter"}}`` for the pinned networks."""
    sys.path.insert(0, str(ROOT))
    import jax
    from flax import nnx

    from spikejax import chip
    from spikejax.chip._graph import path_str
    from spikejax.models._small import LIFMLP

    nets = {"lif_mlp_16_8_6_4": LIFMLP(16, (8, 6), 4, rngs=nnx.Rngs(0))}
    out = {}
    for name, model in nets.items():
        for profile in ("loihi", "xylo"):
            cm = chip.quantize(model, profile)
            names = {path: fmt.name for path, fmt in cm.formats}
            leaves = jax.tree_util.tree_flatten_with_path(
                cm.state, is_leaf=lambda v: isinstance(v, nnx.Variable)
            )[0]
            table = {}
            for path, var in leaves:
                key = path_str(path)
                value = var.get_value()
                shape = ",".join(map(str, value.shape))
                table[key] = f"{type(var).__name__}:{value.dtype}[{shape}] {names.get(key, '-')}"
            out[f"{name}/{profile}"] = table
    return out


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(structures(), indent=0, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
