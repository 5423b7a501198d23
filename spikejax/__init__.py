"""spikejax: spiking neural networks in JAX, trained by surrogate gradients, deployed to integer chips."""

from spikejax import layers as layers
from spikejax import neurons as neurons
from spikejax import surrogate as surrogate
from spikejax._unroll import truncated_unroll as truncated_unroll
from spikejax._unroll import unroll as unroll

__version__ = "0.1.0"

__all__ = ["__version__", "layers", "neurons", "surrogate", "truncated_unroll", "unroll"]
