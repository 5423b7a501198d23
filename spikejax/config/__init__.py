"""Experiment configurations: frozen dataclasses, loaded from Python files, changed by dotted keys.

One system for every run: an experiment's ``config.py`` defines ``get_config() -> Config``; the
command line changes single values with ``--set optimizer.lr=3e-4``; a run directory stores the
resolved configuration as ``config.json`` (`to_dict`), from which `from_dict` rebuilds
it exactly.

Values are plain Python data (numbers, strings, bools, ``None``, tuples, and string-keyed dicts
for the free-form ``options`` fields), so a configuration is JSON-serialisable and hashable by
content (`spikejax.train.logging.config_hash`).
"""

from spikejax.config._io import apply_overrides as apply_overrides
from spikejax.config._io import from_dict as from_dict
from spikejax.config._io import load_config as load_config
from spikejax.config._io import to_dict as to_dict
from spikejax.config._schema import ChipConfig as ChipConfig
from spikejax.config._schema import Config as Config
from spikejax.config._schema import DataConfig as DataConfig
from spikejax.config._schema import LearningConfig as LearningConfig
from spikejax.config._schema import ModelConfig as ModelConfig
from spikejax.config._schema import OptimizerConfig as OptimizerConfig
from spikejax.config._schema import TrainConfig as TrainConfig

__all__ = [
    "ChipConfig",
    "Config",
    "DataConfig",
    "LearningConfig",
    "ModelConfig",
    "OptimizerConfig",
    "TrainConfig",
    "apply_overrides",
    "from_dict",
    "load_config",
    "to_dict",
]
