"""The documentation's contracts that need no site build (`make docs` builds it with --strict):
every public module has an API page, docstrings are Markdown, public examples use public imports,
the how-to code runs, and no file cites a document the repository does not contain."""

import importlib
import inspect
import os
import pathlib
import re
import types

import pytest

ROOT = pathlib.Path(__file__).parents[1]
DOCS = ROOT / "docs"
THIS = pathlib.Path(__file__).relative_to(ROOT)
SKIP_DIRS = {".git", ".venv", ".venv-bench", "site", "runs", ".cache", "__pycache__", "build"}
TEXT = {".py", ".md", ".json", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".sh", ""}

# Paths mentioned in the repository that are not in it, each with the reason.
NOT_FILES = {
    "experiments/xylo_digits/data.npz": "written by experiments/xylo_digits/prepare.py",
    "notebooks/NN_topic.py": "a name pattern in the contributors' guide",
}
# Sphinx markup that renders nowhere on the site.
SPHINX = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const|ref|math):`|^\s*\.\. \w+::"
)
PRIVATE_IMPORT = re.compile(r">>> *(?:from|import) +spikejax(?:\.\w+)*\._\w+")
# A path inside the repository, mentioned in text.
REPO_PATH = re.compile(
    r"(?<![\w./<{-])((?:spikejax|tests|docs|experiments|benchmarks|notebooks)/[\w./-]*\w"
    r"\.(?:py|md|json|npz|yml|yaml|ipynb|toml|txt|sh))\b"
)
# Documents that exist only outside the repository.
OUTSIDE = re.compile(r"specs/|\bSTYLE\.md|\bDESIGN\.md|\brefs/|/work/shared")


def repo_text_files():
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = pathlib.Path(folder, name)
            rel = path.relative_to(ROOT)
            if path.is_symlink() or path.suffix not in TEXT or rel == THIS:
                continue  # (this file names the patterns it looks for)
            yield rel, path.read_text(encoding="utf-8", errors="replace")


def public_modules():
    """Every public module reachable from ``spikejax`` (its ``__all__``, recursively)."""
    seen, todo = {}, ["spikejax"]
    while todo:
        name = todo.pop()
        module = importlib.import_module(name)
        seen[name] = module
        for attr in getattr(module, "__all__", []):
            value = getattr(module, attr)
            if isinstance(value, types.ModuleType) and value.__name__.startswith("spikejax."):
                if value.__name__ not in seen and not any(
                    p.startswith("_") for p in value.__name__.split(".")
                ):
                    todo.append(value.__name__)
    return seen


def test_every_public_module_has_an_api_page():
    pages = "\n".join(p.read_text() for p in (DOCS / "reference").glob("*.md"))
    documented = set(re.findall(r"^::: ([\w.]+)", pages, flags=re.MULTILINE))
    # A module is documented by its own page or by its package's page when the package
    # re-exports its names (e.g. spikejax.neurons documents the neuron classes).
    top = {name for name in public_modules() if name.count(".") == 1}
    missing = sorted(top - documented)
    assert not missing, f"no page under docs/reference/ renders {missing}; add `::: <module>`"


def test_docstrings_are_markdown():
    bad = []
    for path in sorted((ROOT / "spikejax").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SPHINX.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bad, "Sphinx markup (use `code`, $math$ and $$…$$):\n" + "\n".join(bad)


def public_docstrings():
    for name, module in public_modules().items():
        yield name, inspect.getdoc(module) or ""
        for attr in getattr(module, "__all__", []):
            value = getattr(module, attr)
            if isinstance(value, types.ModuleType):
                continue
            yield f"{name}.{attr}", inspect.getdoc(value) or ""
            if inspect.isclass(value):
                for member, obj in vars(value).items():
                    if not member.startswith("_") and callable(obj):
                        yield f"{name}.{attr}.{member}", inspect.getdoc(obj) or ""


def test_public_examples_import_public_names():
    bad = [
        f"{where}: {m.group(0)}"
        for where, doc in public_docstrings()
        for m in PRIVATE_IMPORT.finditer(doc)
    ]
    assert not bad, "public examples importing private modules:\n" + "\n".join(bad)


def test_nothing_cites_a_document_outside_the_repository():
    bad = [
        f"{rel}:{text[: m.start()].count(chr(10)) + 1}: {m.group(0)}"
        for rel, text in repo_text_files()
        for m in OUTSIDE.finditer(text)
    ]
    assert not bad, "cites a document the repository does not contain:\n" + "\n".join(bad)


def test_paths_mentioned_in_the_repository_exist():
    bad = []
    for rel, text in repo_text_files():
        for m in REPO_PATH.finditer(text):
            path = m.group(1)
            written = path.startswith("benchmarks/results/")  # outputs of the benchmark scripts
            if path not in NOT_FILES and not written and not (ROOT / path).exists():
                bad.append(f"{rel}:{text[: m.start()].count(chr(10)) + 1}: {path}")
    assert not bad, "mentions of files that do not exist:\n" + "\n".join(bad)


HOW_TO = ["stream.md", "custom-neuron.md"]


@pytest.mark.parametrize("page", HOW_TO)
def test_how_to_code_runs(page):
    """The guide's Python blocks, run together as one script (under the tests' strict JAX)."""
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "how-to" / page).read_text(), re.S)
    assert blocks, page
    exec(compile("\n".join(blocks), f"docs/how-to/{page}", "exec"), {"__name__": page})
