"""NNX layers: spiking neurons over time, convolution lowered for the backend, event-driven
synapses and convolutions, time folding, sequence batch norm and dropout; keeping trained neuron
parameters valid (`project_params`, `check_params`)."""

from spikejax.layers._batchnorm import SeqBatchNorm as SeqBatchNorm
from spikejax.layers._bounds import check_params as check_params
from spikejax.layers._bounds import project_params as project_params
from spikejax.layers._conv import conv2d_im2col as conv2d_im2col
from spikejax.layers._conv_layer import LOWERINGS as LOWERINGS
from spikejax.layers._conv_layer import Conv as Conv
from spikejax.layers._dropout import SeqDropout as SeqDropout
from spikejax.layers._event import EVENT_METHODS as EVENT_METHODS
from spikejax.layers._event import event_matmul as event_matmul
from spikejax.layers._event import event_slots as event_slots
from spikejax.layers._event import resolve_method as resolve_method
from spikejax.layers._event_conv import EVENT_CONV_THRESHOLD as EVENT_CONV_THRESHOLD
from spikejax.layers._event_conv import EventConv as EventConv
from spikejax.layers._event_linear import EVENT_THRESHOLD as EVENT_THRESHOLD
from spikejax.layers._event_linear import NATIVE_EVENT_THRESHOLD as NATIVE_EVENT_THRESHOLD
from spikejax.layers._event_linear import EventLinear as EventLinear
from spikejax.layers._event_linear import default_threshold as default_threshold
from spikejax.layers._fold import TimeFolded as TimeFolded
from spikejax.layers._fold import fold as fold
from spikejax.layers._fold import unfold as unfold
from spikejax.layers._pool import max_pool as max_pool
from spikejax.layers._spiking import Fixed as Fixed
from spikejax.layers._spiking import Spiking as Spiking

__all__ = [
    "LOWERINGS",
    "Conv",
    "EVENT_CONV_THRESHOLD",
    "EVENT_METHODS",
    "EVENT_THRESHOLD",
    "EventConv",
    "EventLinear",
    "NATIVE_EVENT_THRESHOLD",
    "Fixed",
    "SeqBatchNorm",
    "SeqDropout",
    "Spiking",
    "TimeFolded",
    "check_params",
    "conv2d_im2col",
    "event_matmul",
    "default_threshold",
    "event_slots",
    "resolve_method",
    "fold",
    "max_pool",
    "project_params",
    "unfold",
]
