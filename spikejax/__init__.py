"""spikejax: spiking neural networks in JAX, deployed bit-exactly to integer neuromorphic chips."""

from spikejax import (
    encoding as encoding,
    layers as layers,
    losses as losses,
    neurons as neurons,
    readout as readout,
    surrogate as surrogate,
)
from spikejax._unroll import truncated_unroll as truncated_unroll, unroll as unroll

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "encoding",
    "layers",
    "losses",
    "neurons",
    "readout",
    "surrogate",
    "truncated_unroll",
    "unroll",
]
