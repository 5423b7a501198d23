"""The package ships its licence, changelog and type-hint marker."""

from pathlib import Path

import spikejax

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_the_full_apache_2_text():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text.splitlines()) > 190


def test_py_typed_marks_the_package_and_the_changelog_names_the_version():
    assert (Path(spikejax.__file__).parent / "py.typed").is_file()  # hatchling ships it
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{spikejax.__version__}]" in changelog
