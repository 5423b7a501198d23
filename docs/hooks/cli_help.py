"""MkDocs hook: the command-line reference page shows the `--help` text of every command.

The text comes from `spikejax.cli.main` itself at build time, so the page cannot drift from the
options the program accepts. The page marks the place with the comment `<!-- spikejax --help -->`.
"""

import contextlib
import io
import os
import re

MARKER = "<!-- spikejax --help -->"


def _help(*argv: str) -> str:
    from spikejax.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return out.getvalue().rstrip()


def _commands(top: str) -> list[str]:
    listing = top.split("positional arguments:", 1)[1].split("options:", 1)[0]
    return re.findall(r"^    (\w+)\s", listing, flags=re.MULTILINE)


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    if MARKER not in markdown:
        return markdown
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; fix the width
    top = _help()
    parts = ["```text", "$ spikejax --help", top, "```"]
    for command in _commands(top):
        parts += ["", f"## spikejax {command}", "", "```text", f"$ spikejax {command} --help"]
        parts += [_help(command), "```"]
    return markdown.replace(MARKER, "\n".join(parts))
