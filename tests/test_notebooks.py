"""Every notebook runs top to bottom in a real Jupyter kernel on tiny settings, draws its plots, and
its committed ``.ipynb`` is the one generated from its ``.py`` source.

The ``.py`` files (jupytext percent format) are the source; each ``.ipynb`` next to one is
generated from it with ``make notebooks`` (outputs stripped) so that Jupyter and Colab open it.
The kernel is this interpreter (the project's virtual environment), started from a kernel spec
written into the test's temporary directory, so no kernel needs to be registered anywhere.
"""

import json
import pathlib
import sys

import jupytext
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))
REGENERATE = "make notebooks"

# The tiny settings every notebook reads (the defaults inside each notebook are the real ones).
TINY = {
    "SPIKEJAX_NOTEBOOK_T": "40",
    "SPIKEJAX_NOTEBOOK_EPOCHS": "2",
    "SPIKEJAX_NOTEBOOK_SAMPLES": "64",
    "SPIKEJAX_NOTEBOOK_TRIALS": "2",
    # The install cell is a no-op where spikejax is importable; make sure it never installs here.
    "SPIKEJAX_NOTEBOOK_NO_INSTALL": "1",
}
CHECK_KERNEL = "import sys\nprint(sys.executable)"


def kernel_manager_class(tmp_path):
    """A kernel manager class whose only kernel spec, ``spikejax``, runs this interpreter."""
    spec_dir = tmp_path / "kernels" / "spikejax"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "spikejax (this environment)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))

    class ThisInterpreter(AsyncKernelManager):
        def _kernel_spec_manager_default(self):
            return KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])

    return ThisInterpreter


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert "01_neurons.py" in names and len(names) >= 5, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_with_plots(path, monkeypatch, tmp_path):
    for name, value in TINY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws the plots
    nb = jupytext.read(path)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_KERNEL))
    workdir = tmp_path / "work"
    workdir.mkdir()
    client = NotebookClient(
        nb,
        kernel_name="spikejax",
        kernel_manager_class=kernel_manager_class(tmp_path),
        timeout=300,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    # The check cell's own stdout (a stream may arrive split, or beside an empty stderr message).
    printed = "".join(
        o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("name") == "stdout"
    )
    assert printed.strip() == sys.executable, "the kernel is not this interpreter"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no plot"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_is_generated_from_the_py(path):
    ipynb = path.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing; run `{REGENERATE}`"
    committed = nbformat.read(ipynb, as_version=4)
    expected = jupytext.read(path)
    got = [(c.cell_type, c.source) for c in committed.cells]
    want = [(c.cell_type, c.source) for c in expected.cells]
    assert got == want, f"{ipynb.name} differs from {path.name}; run `{REGENERATE}`"
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{ipynb.name} holds outputs; run `{REGENERATE}`"
            )
