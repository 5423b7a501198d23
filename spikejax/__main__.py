"""``python -m spikejax``: the ``spikejax`` command line."""

from spikejax.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
