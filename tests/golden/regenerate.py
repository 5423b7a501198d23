"""Regenerate the pinned neuron traces in tests/golden/neurons.npz.

    .venv/bin/python tests/golden/regenerate.py

Run this only after a deliberate change of a neuron's dynamics, and only once
tests/test_neurons_reference.py (independent NumPy re-implementations of every docstring) passes:
the golden file pins what was checked there, so that any later unintended change shows up as a diff.
"""

from __future__ import annotations

import pathlib
import sys

import jax
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = pathlib.Path(__file__).with_name("neurons.npz")
T, BATCH = 40, (2,)


def traces() -> dict[str, np.ndarray]:
    """Output and final-state traces of every registry neuron on fixed inputs."""
    sys.path.insert(0, str(ROOT))
    import spikejax as sj
    from tests.helpers import neuron_registry, random_inputs

    arrays = {}
    xs = random_inputs(T, BATCH, seed=11)
    arrays["inputs"] = np.asarray(xs)
    for name, neuron in sorted(neuron_registry().items()):
        final, out = sj.unroll(neuron, neuron.init_state(xs.shape[1:]), xs)
        arrays[f"{name}/out"] = np.asarray(out)
        for path, leaf in jax.tree_util.tree_leaves_with_path(final):
            arrays[f"{name}/final{jax.tree_util.keystr(path)}"] = np.asarray(leaf)
    return arrays


if __name__ == "__main__":
    np.savez_compressed(GOLDEN, **traces())
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
