"""Integer neuromorphic chips: profiles, quantization, bit-exact emulation, fine-tuning, deployment.

Per chip, `spikejax.chip.loihi` and `spikejax.chip.xylo` hold the profile, the one
integer arithmetic (``arithmetic``), the step-by-step network with its trace ``replay`` and the
batched ``layer`` emulator; the modules here are common to all chips.

``quantize`` maps a float MLP (``nnx.Linear → Spiking`` layers) to a `ChipModel` with the
same tree structure and integer leaves; ``emulate`` runs it on the chip's integer arithmetic
(``loihi``, ``xylo``), and ``init_state``/``run`` stream it chunk by chunk with an explicit
integer state; `ste` fine-tunes on the chip's exact forward;
`spikejax.chip.deploy.deploy` does all of it for a trained run and exports the vendor layout.
"""

from spikejax.chip import connectivity as connectivity
from spikejax.chip import cores as cores
from spikejax.chip import deploy as deploy
from spikejax.chip import export as export
from spikejax.chip import finetune as finetune
from spikejax.chip import fit as fit
from spikejax.chip import loihi as loihi
from spikejax.chip import profiles as profiles
from spikejax.chip import ste as ste
from spikejax.chip import xylo as xylo
from spikejax.chip._calibrate import calibrate as calibrate
from spikejax.chip._emulate import ChipSaturationError as ChipSaturationError
from spikejax.chip._emulate import emulate as emulate
from spikejax.chip._emulate import encode_inputs as encode_inputs
from spikejax.chip._emulate import outputs_to_float as outputs_to_float
from spikejax.chip._model import ChipLayer as ChipLayer
from spikejax.chip._model import ChipModel as ChipModel
from spikejax.chip._model import LeafFormat as LeafFormat
from spikejax.chip._model import LeafReport as LeafReport
from spikejax.chip._quantize import dequantize as dequantize
from spikejax.chip._quantize import quantize as quantize
from spikejax.chip._quantize import requantize as requantize
from spikejax.chip._stream import init_state as init_state
from spikejax.chip._stream import run as run
from spikejax.chip.loihi import LOIHI as LOIHI
from spikejax.chip.loihi import LoihiDense as LoihiDense
from spikejax.chip.loihi import LoihiLIF as LoihiLIF
from spikejax.chip.loihi import LoihiNetwork as LoihiNetwork
from spikejax.chip.loihi import LoihiProfile as LoihiProfile
from spikejax.chip.loihi import LoihiReset as LoihiReset
from spikejax.chip.profiles import ChipProfile as ChipProfile
from spikejax.chip.profiles import Resources as Resources
from spikejax.chip.profiles import get_profile as get_profile
from spikejax.chip.ste import chip_forward as chip_forward
from spikejax.chip.ste import fake_quant as fake_quant
from spikejax.chip.xylo import XYLO as XYLO
from spikejax.chip.xylo import XyloNetwork as XyloNetwork
from spikejax.chip.xylo import XyloProfile as XyloProfile

__all__ = [
    "LOIHI",
    "XYLO",
    "ChipLayer",
    "ChipModel",
    "ChipProfile",
    "ChipSaturationError",
    "LeafFormat",
    "LeafReport",
    "LoihiDense",
    "LoihiLIF",
    "LoihiNetwork",
    "LoihiProfile",
    "LoihiReset",
    "Resources",
    "XyloNetwork",
    "XyloProfile",
    "calibrate",
    "chip_forward",
    "connectivity",
    "cores",
    "deploy",
    "dequantize",
    "emulate",
    "encode_inputs",
    "export",
    "fake_quant",
    "finetune",
    "fit",
    "get_profile",
    "init_state",
    "loihi",
    "outputs_to_float",
    "profiles",
    "quantize",
    "requantize",
    "run",
    "ste",
    "xylo",
]
