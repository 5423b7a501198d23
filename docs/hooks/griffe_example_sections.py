"""Griffe extension: read the house style's ``Example:`` sections as Google ``Examples:``.

Google-style parsers treat a singular ``Example:`` heading as an admonition whose body is
Markdown, so ``>>>`` lines would render as quoted text. The docstrings keep the house heading;
this renames it before parsing, so the doctests render as Python console blocks.
"""

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headings to ``Examples:`` in every loaded docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
