"""Named errors at the edges: non-finite data, a config path that is a folder."""

import numpy as np
import pytest

from spikejax.config import load_config
from spikejax.data import Loader


def test_loader_refuses_non_finite_inputs_by_sample_index():
    x = np.zeros((10, 3), np.float32)
    x[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"\(test split\) must be finite; sample 7 holds \[nan\]"):
        Loader((x, np.arange(10)), 4, name="test split")
    assert len(list(Loader((x, np.arange(10)), 4, check_finite=False))) == 3
    pairs = [(np.full(2, np.inf if i == 3 else 0.0), i) for i in range(5)]
    with pytest.raises(ValueError, match=r"sample 3 holds \[inf, inf\]"):
        list(Loader(pairs, 5, shuffle=False))


def test_a_config_path_that_is_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"is a directory without .*config.py"):
        load_config(tmp_path)
    (tmp_path / "config.py").write_text(
        "from spikejax.config import Config\ndef get_config():\n    return Config(name='x')\n"
    )
    assert load_config(tmp_path).name == "x"
