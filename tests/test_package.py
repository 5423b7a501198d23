"""Package hygiene: light imports, explicit public API."""

import importlib
import subprocess
import sys

import pytest

import spikejax as sj

PACKAGES = [
    "spikejax",
    "spikejax.chip",
    "spikejax.data",
    "spikejax.energy",
    "spikejax.models",
    "spikejax.surrogate",
    "spikejax.neurons",
    "spikejax.layers",
    "spikejax.encoding",
    "spikejax.readout",
    "spikejax.losses",
    "spikejax.graph",
    "spikejax.convert",
    "spikejax.train",
    "spikejax.viz",
    "spikejax.nir",
    "spikejax.plasticity",
    "spikejax.evolve",
    "spikejax.online",
    "spikejax.kernels",
    "spikejax.sweep",
]


def test_import_does_not_pull_heavy_optional_dependencies():
    code = (
        "import sys, spikejax\n"
        "heavy = {'torch', 'tonic', 'matplotlib', 'sklearn', 'orbax', 'tensorboardX', 'optuna',"
        " 'nir', 'evosax', 'h5py'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_exist_and_are_listed(name):
    module = importlib.import_module(name)
    assert list(module.__all__) == sorted(set(module.__all__), key=module.__all__.index)
    for public in module.__all__:
        assert hasattr(module, public), f"{name}.__all__ lists missing {public}"


def test_version_is_a_string():
    assert isinstance(sj.__version__, str) and sj.__version__.count(".") == 2
