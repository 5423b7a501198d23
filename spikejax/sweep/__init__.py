"""Hyperparameter sweeps: populations of runs ``vmap``-ed in one jit, and Optuna studies.

A sweep file (Python, like a configuration file) defines ``get_sweep() -> Sweep``: a base
experiment and either a ``grid`` of values (trained as populations, see
`spikejax.train.fit_population`) or a ``space`` of distributions (an Optuna study: TPE,
pruning on validation accuracy, SQLite or PostgreSQL storage). ``spikejax sweep <file> --out
<dir>`` runs it (`run_sweep`). Optuna is imported only by Optuna sweeps.
"""

from spikejax.sweep._results import write_results as write_results
from spikejax.sweep._run import run_sweep as run_sweep
from spikejax.sweep._spec import Choice as Choice
from spikejax.sweep._spec import Float as Float
from spikejax.sweep._spec import Int as Int
from spikejax.sweep._spec import Sweep as Sweep
from spikejax.sweep._spec import load_sweep as load_sweep
from spikejax.sweep._spec import override as override
from spikejax.sweep._spec import with_values as with_values

__all__ = [
    "Choice",
    "Float",
    "Int",
    "Sweep",
    "load_sweep",
    "override",
    "run_sweep",
    "with_values",
    "write_results",
]
