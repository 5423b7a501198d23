"""Model zoo: SEW-ResNet, Spikformer and CPU-sized experiment networks, by name or by class;
pretrained weights as a flat ``.npz`` with a JSON sidecar."""

from spikejax.graph import Recording as Recording
from spikejax.graph import record as record
from spikejax.models._macs import macs_per_step as macs_per_step
from spikejax.models._pretrained import PretrainedError as PretrainedError
from spikejax.models._pretrained import pretrained_info as pretrained_info
from spikejax.models._pretrained import save_pretrained as save_pretrained
from spikejax.models._registry import ModelInfo as ModelInfo
from spikejax.models._registry import available as available
from spikejax.models._registry import count_params as count_params
from spikejax.models._registry import create as create
from spikejax.models._registry import info as info
from spikejax.models._registry import structure as structure
from spikejax.models._sew_blocks import SEWBasicBlock as SEWBasicBlock
from spikejax.models._sew_blocks import SEWBottleneck as SEWBottleneck
from spikejax.models._sew_dvs import SEWDVSNet as SEWDVSNet
from spikejax.models._sew_resnet import SEWResNet as SEWResNet
from spikejax.models._small import LIFMLP as LIFMLP
from spikejax.models._small import ConvSNN as ConvSNN
from spikejax.models._spikformer import Spikformer as Spikformer
from spikejax.models._spikformer_blocks import MLP as MLP
from spikejax.models._spikformer_blocks import SPS as SPS
from spikejax.models._spikformer_blocks import SSA as SSA
from spikejax.models._spikformer_blocks import AttentionProduct as AttentionProduct
from spikejax.models._spikformer_blocks import SpikformerBlock as SpikformerBlock

__all__ = [
    "LIFMLP",
    "MLP",
    "SPS",
    "SSA",
    "AttentionProduct",
    "ConvSNN",
    "ModelInfo",
    "PretrainedError",
    "Recording",
    "SEWBasicBlock",
    "SEWBottleneck",
    "SEWDVSNet",
    "SEWResNet",
    "Spikformer",
    "SpikformerBlock",
    "available",
    "count_params",
    "create",
    "info",
    "macs_per_step",
    "pretrained_info",
    "record",
    "save_pretrained",
    "structure",
]
