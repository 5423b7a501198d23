"""MkDocs hook: the tutorials page lists every notebook in `notebooks/`, with its title.

Notebooks are added by several people; listing them from the directory keeps the page complete.
The page marks the place with the comment `<!-- notebooks -->`; a title is the notebook's first
Markdown heading.
"""

import pathlib
import re

MARKER = "<!-- notebooks -->"
NOTEBOOKS = pathlib.Path(__file__).parents[2] / "notebooks"


def _title(path: pathlib.Path) -> str:
    match = re.search(r"^# # (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return match.group(1).strip() if match else path.stem


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    if MARKER not in markdown:
        return markdown
    rows = ["| notebook | source | Jupyter / Colab |", "|---|---|---|"]
    for path in sorted(NOTEBOOKS.glob("[0-9]*.py")):
        rows.append(
            f"| [{_title(path)}](../notebooks/{path.name}) | `notebooks/{path.name}` "
            f"| `notebooks/{path.stem}.ipynb` |"
        )
    return markdown.replace(MARKER, "\n".join(rows))
