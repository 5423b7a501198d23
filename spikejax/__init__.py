"""spikejax: spiking neural networks in JAX, deployed bit-exactly to integer neuromorphic chips."""

# First, before JAX starts: XLA:CPU convolutions by Eigen (see spikejax/_xla_flags.py),
# XLA:CPU's buffers reused between calls (see spikejax/_malloc.py), also those of a train step's
# temporaries, by running CPU computations on the calling thread (see spikejax/_dispatch.py).
from spikejax import _dispatch as _dispatch
from spikejax import _malloc as _malloc
from spikejax import _xla_flags as _xla_flags
from spikejax import chip as chip
from spikejax import convert as convert
from spikejax import data as data
from spikejax import debug as debug
from spikejax import encoding as encoding
from spikejax import energy as energy
from spikejax import evolve as evolve
from spikejax import graph as graph
from spikejax import kernels as kernels
from spikejax import layers as layers
from spikejax import losses as losses
from spikejax import models as models
from spikejax import neurons as neurons
from spikejax import nir as nir
from spikejax import online as online
from spikejax import plasticity as plasticity
from spikejax import readout as readout
from spikejax import surrogate as surrogate
from spikejax import train as train
from spikejax import viz as viz
from spikejax._settings import process_settings as process_settings
from spikejax._stream import init_state as init_state
from spikejax._stream import run as run
from spikejax._unroll import truncated_unroll as truncated_unroll
from spikejax._unroll import unroll as unroll

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "chip",
    "convert",
    "data",
    "debug",
    "encoding",
    "energy",
    "evolve",
    "graph",
    "init_state",
    "kernels",
    "layers",
    "losses",
    "models",
    "neurons",
    "nir",
    "online",
    "plasticity",
    "process_settings",
    "readout",
    "run",
    "surrogate",
    "train",
    "truncated_unroll",
    "unroll",
    "viz",
]
