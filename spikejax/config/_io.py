"""Configurations as JSON data, from Python files and with dotted overrides (`spikejax.config`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spikejax._pyfile import call_entry_point
from spikejax._typed import build, plain, set_path
from spikejax.config._schema import Config, LearningConfig

__all__ = ["apply_overrides", "from_dict", "load_config", "to_dict"]


def to_dict(config: Config) -> dict[str, Any]:
    """The configuration as JSON data (nested dicts; tuples become lists). The ``learning``
    section is left out while it is the default (gradient learning), as are ``train.gradient``
    and ``train.gradient_options`` while they are ``"bptt"`` and empty, and ``train.devices``
    while it is 1.

    Example:
        >>> from spikejax.config import Config, from_dict, to_dict
        >>> config = Config(name="demo")
        >>> to_dict(config)["optimizer"]["lr"], from_dict(to_dict(config)) == config
        (0.001, True)
    """
    if not isinstance(config, Config):
        raise TypeError(f"`to_dict`: `config` must be a Config; got {type(config).__name__}.")
    data = plain(config)
    # Written only when not the default, so that the configurations (and their hashes) of runs
    # made before the section existed stay the same.
    if config.learning == LearningConfig():
        del data["learning"]
    if config.train.gradient == "bptt" and not config.train.gradient_options:
        del data["train"]["gradient"], data["train"]["gradient_options"]  # likewise
    if config.train.devices == 1:  # likewise the one-device mesh of runs from before meshes
        del data["train"]["devices"]
    return data


def from_dict(data: Mapping[str, Any]) -> Config:
    """Rebuild a `Config` from `to_dict`'s output (e.g. a run's ``config.json``).

    Missing keys take their defaults; unknown keys raise ``ValueError`` listing the valid ones.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"`from_dict`: `data` must be a dict; got {type(data).__name__}.")
    return build(Config, data, "", "from_dict")


def apply_overrides(config: Config, overrides: Sequence[str]) -> Config:
    """Return ``config`` with ``"dotted.key=value"`` overrides applied, in order.

    The value is parsed by the type of the field: ``int``, ``float``, ``bool``
    (``true``/``false``/``yes``/``no``/``1``/``0``), ``str`` (quotes optional), ``None``
    (``none``/``null``, where allowed) and tuples (``(128, 64)``, ``128,64`` or ``128``). Inside a
    free-form ``options`` dict the type of the current value decides. Every changed part is
    re-validated.

    Raises:
        ValueError: a malformed override, an unknown key (the message lists the valid keys at
            that level), or a value of the wrong type or out of range.

    Example:
        >>> from spikejax.config import Config, ModelConfig, apply_overrides
        >>> config = Config(model=ModelConfig("lif_mlp", {"hidden": (128,), "beta": 0.9}))
        >>> config = apply_overrides(config, ["model.options.hidden=256,128", "seed=3"])
        >>> config.model.options["hidden"], config.seed
        ((256, 128), 3)
    """
    fn = "apply_overrides"
    if not isinstance(config, Config):
        raise TypeError(f"`{fn}`: `config` must be a Config; got {type(config).__name__}.")
    if isinstance(overrides, str):
        raise TypeError(f"`{fn}`: `overrides` must be a list of 'key=value' strings; got a str.")
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"`{fn}`: each override must be 'dotted.key=value'; got {item!r}.")
        path, text = item.split("=", 1)
        keys = path.strip().split(".")
        if not all(keys):
            raise ValueError(f"`{fn}`: each override must be 'dotted.key=value'; got {item!r}.")
        config = set_path(config, keys, text, "")
    return config


# ---------------------------------------------------------------------------------------------


def load_config(path: str | Path) -> Config:
    """Import the Python file ``path`` (or an experiment folder's ``config.py``) and return its
    ``get_config()``.

    The file runs as code (it is imported, and a model factory ``"module:callable"`` that its
    configuration names is imported when the model is built): load only files you trust. A run
    directory's ``config.json`` is data and is read with `from_dict` instead.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory without a ``config.py``.
        ValueError: the file defines no callable ``get_config``.
        TypeError: ``get_config()`` did not return a `Config`.
    """
    fn = "load_config"
    path = Path(path).expanduser()
    if path.is_dir():
        if not (path / "config.py").is_file():
            raise IsADirectoryError(
                f"`{fn}`: `path` must be a Python config file or an experiment folder with a "
                f"config.py; {path} is a directory without {path / 'config.py'}."
            )
        path = path / "config.py"
    if not path.is_file():
        raise FileNotFoundError(f"`{fn}`: `path` must be a Python config file; {path} not found.")
    return call_entry_point(fn, path, "get_config", Config, "spikejax.config.Config")
