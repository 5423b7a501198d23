"""ANN→SNN conversion: a trained ReLU (or QCFS) network as a spiking network of IF neurons."""

from spikejax.convert._convert import METHODS as METHODS
from spikejax.convert._convert import ann_to_snn as ann_to_snn
from spikejax.convert._fold import fold_batchnorm as fold_batchnorm
from spikejax.convert._network import ConvertedSNN as ConvertedSNN
from spikejax.convert._qcfs import QCFS as QCFS

__all__ = ["METHODS", "QCFS", "ConvertedSNN", "ann_to_snn", "fold_batchnorm"]
