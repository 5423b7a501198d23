"""NIR (Neuromorphic Intermediate Representation): ``load`` a NIR graph as a spikejax model and
``export`` a spikejax model as a NIR graph (``write`` it to a file). Needs the ``nir`` extra for
``export``/``write`` and for reading files (``h5py``)."""

from spikejax.nir._delay import Delay as Delay
from spikejax.nir._delay import DelayState as DelayState
from spikejax.nir._export import export as export
from spikejax.nir._export import write as write
from spikejax.nir._layers import Conv as Conv
from spikejax.nir._layers import Flatten as Flatten
from spikejax.nir._layers import Pool as Pool
from spikejax.nir._layers import Scale as Scale
from spikejax.nir._layers import Threshold as Threshold
from spikejax.nir._loop import Loop as Loop
from spikejax.nir._loop import LoopState as LoopState
from spikejax.nir._network import NIRNetwork as NIRNetwork
from spikejax.nir._network import load as load
from spikejax.nir._neurons_out import ExportError as ExportError
from spikejax.nir._params import LoadError as LoadError
from spikejax.nir._read import PARAMS as PARAMS

__all__ = [
    "PARAMS",
    "Conv",
    "Delay",
    "DelayState",
    "ExportError",
    "Flatten",
    "LoadError",
    "Loop",
    "LoopState",
    "NIRNetwork",
    "Pool",
    "Scale",
    "Threshold",
    "export",
    "load",
    "write",
]
