"""Losses on time-major outputs: cross-entropy variants, spike-count MSE, TET, rate regularisers."""

from spikejax.losses._classification import ce_count as ce_count
from spikejax.losses._classification import ce_membrane as ce_membrane
from spikejax.losses._classification import mse_count as mse_count
from spikejax.losses._regularisers import rate_l2 as rate_l2
from spikejax.losses._regularisers import rate_lower as rate_lower
from spikejax.losses._regularisers import rate_upper as rate_upper
from spikejax.losses._tet import tet as tet

__all__ = [
    "ce_count",
    "ce_membrane",
    "mse_count",
    "rate_l2",
    "rate_lower",
    "rate_upper",
    "tet",
]
