"""Pinned traces of every registry neuron: any change of dynamics shows up here."""

import numpy as np
import pytest

from tests.golden.regenerate import GOLDEN, traces

REGENERATE = "if the change is intended: .venv/bin/python tests/golden/regenerate.py"


def test_traces_match_golden_file():
    golden = np.load(GOLDEN)
    current = traces()
    assert sorted(golden.files) == sorted(current), f"registry changed; {REGENERATE}"
    for key in golden.files:
        try:  # spikes (0/1) must match exactly; the tolerance only absorbs float rounding of states
            np.testing.assert_allclose(current[key], golden[key], rtol=1e-6, atol=1e-6)
        except AssertionError as error:
            pytest.fail(f"{key} differs from the golden trace; {REGENERATE}\n{error}")
