"""The Xylo profile: every constant (bit widths, caps, bounds) of the Xylo core v2 integer core.

A profile is a frozen, hashable dataclass: static metadata of a chip parameter tree (never a leaf).
The arithmetic (`spikejax.chip.xylo.arithmetic`) reads every constant from it, so a custom
profile changes the trace replay, the batched emulator and the straight-through twin alike.
"""

from __future__ import annotations

import dataclasses

from spikejax.chip.intmath import check_widths, signed_bounds

__all__ = ["XYLO", "XyloProfile"]


@dataclasses.dataclass(frozen=True)
class XyloProfile:
    """SynSense Xylo core v2 (XyloSim) integer arithmetic.

    Attributes:
        state_bits: width of the saturating synaptic and membrane states (int16) and of the biases.
        weight_bits: width of the signed weights (int8).
        weight_shift_max: largest weight left shift (the smallest is 0).
        dash_bits: width of the decay shifts ``dash_*`` (0..15).
        input_cap: input events per channel and step (larger counts are clipped).
        hidden_cap: hidden spikes per neuron and step.
        readout_cap: readout spikes per neuron and step.
        hidden_synapses: synapses per hidden neuron.
    """

    state_bits: int = 16
    weight_bits: int = 8
    weight_shift_max: int = 7
    dash_bits: int = 4
    input_cap: int = 15
    hidden_cap: int = 31
    readout_cap: int = 1
    hidden_synapses: int = 2

    def __post_init__(self):
        fn = "XyloProfile"
        rules = {
            "state_bits": (2, 24, "saturating sums of shifted weights times counts fit int32"),
            "weight_bits": (1, 9, "weights are exact bfloat16 operands of the batched sums"),
            "dash_bits": (1, 5, "a decay shift stays below 32"),
            "input_cap": (1, 255, "input counts are exact bfloat16 operands"),
            "hidden_cap": (1, 255, "spike counts are exact bfloat16 operands"),
            "readout_cap": (1, 255, "spike counts are exact bfloat16 operands"),
            "hidden_synapses": (1, 2, "the mapped networks use synapse 1, the traces synapse 2"),
        }
        check_widths(fn, self, rules)
        rules = {
            "weight_shift_max": (
                0,
                self.state_bits - self.weight_bits,
                "a shifted weight fits the state width",
            ),
        }
        check_widths(fn, self, rules)

    @property
    def state_bounds(self) -> tuple[int, int]:
        """Inclusive saturation range of states and biases (-32768, 32767)."""
        return signed_bounds(self.state_bits)

    @property
    def weight_bounds(self) -> tuple[int, int]:
        """Inclusive range of the weights (-128, 127)."""
        return signed_bounds(self.weight_bits)

    @property
    def dash_max(self) -> int:
        """Largest decay shift (15)."""
        return (1 << self.dash_bits) - 1

    @property
    def threshold_max(self) -> int:
        """Largest threshold (32767)."""
        return self.state_bounds[1]


XYLO = XyloProfile()
"""The Xylo core v2 profile of XyloSim 0.1 (Rockpool 3.1)."""
