"""Every notebook (jupytext percent-format .py) runs top to bottom on tiny settings."""

import pathlib
import runpy

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch, tmp_path):
    monkeypatch.setenv("SPIKEJAX_NOTEBOOK_T", "40")
    monkeypatch.setenv("SPIKEJAX_NOTEBOOK_EPOCHS", "2")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(path), run_name="__main__")
