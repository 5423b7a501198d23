"""Online learning: gradients computed forward in time (OTTT, e-prop), memory independent of T."""

from spikejax.online._chain import Chain as Chain
from spikejax.online._chain import Link as Link
from spikejax.online._chain import batch_norm_layers as batch_norm_layers
from spikejax.online._chain import chain_of as chain_of
from spikejax.online._chain import refuse_batch_statistics as refuse_batch_statistics
from spikejax.online._methods import METHODS as METHODS
from spikejax.online._methods import OnlineGradient as OnlineGradient
from spikejax.online._methods import OnlineResult as OnlineResult
from spikejax.online._methods import ce_step as ce_step

__all__ = [
    "METHODS",
    "Chain",
    "Link",
    "OnlineGradient",
    "OnlineResult",
    "batch_norm_layers",
    "ce_step",
    "chain_of",
    "refuse_batch_statistics",
]
