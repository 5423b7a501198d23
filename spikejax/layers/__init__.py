"""NNX layers: spiking neurons over time, time folding, sequence batch norm and dropout; keeping
trained neuron parameters valid (`project_params`, `check_params`)."""

from spikejax.layers._batchnorm import SeqBatchNorm as SeqBatchNorm
from spikejax.layers._bounds import check_params as check_params
from spikejax.layers._bounds import project_params as project_params
from spikejax.layers._conv import conv2d_im2col as conv2d_im2col
from spikejax.layers._dropout import SeqDropout as SeqDropout
from spikejax.layers._fold import TimeFolded as TimeFolded
from spikejax.layers._fold import fold as fold
from spikejax.layers._fold import unfold as unfold
from spikejax.layers._spiking import Fixed as Fixed
from spikejax.layers._spiking import Spiking as Spiking

__all__ = [
    "Fixed",
    "SeqBatchNorm",
    "SeqDropout",
    "Spiking",
    "TimeFolded",
    "check_params",
    "conv2d_im2col",
    "fold",
    "project_params",
    "unfold",
]
