"""Chip profiles as data: the constants (bit widths, shifts, caps, bounds) of each integer core.

A profile is a frozen, hashable dataclass. It is static metadata of a chip parameter tree (never a
leaf): the emulators read every constant from it instead of spelling numbers in the code.
"""

from __future__ import annotations

import dataclasses

__all__ = ["LOIHI", "XYLO", "LoihiProfile", "XyloProfile"]


def _signed_bounds(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


@dataclasses.dataclass(frozen=True)
class LoihiProfile:
    """Loihi 1 CUBA-LIF arithmetic as modelled by Lava's bit-accurate CPU models.

    Attributes:
        decay_bits: fractional bits of the decay constants; decay unity is ``2**decay_bits`` and
            ``du``, ``dv`` lie in ``[0, 2**decay_bits - 1]``.
        act_shift: left shift of the synaptic input before it is added to ``u``.
        vth_shift: left shift of the threshold mantissa, ``vth_eff = vth << vth_shift``.
        state_bits: width of the ``u``/``v`` domain; the bound is ``2**(state_bits - 1)``.
        du_offset: added to ``du`` (the current decays with ``du + du_offset``).
        dv_offset: added to ``dv``.
        vth_bits: width of the unsigned threshold mantissa.
        bias_mant_bits: width of the signed bias mantissa.
        bias_exp_max: largest bias exponent (the smallest is 0).
        weight_bits: width of the effective weights (their magnitude part).
        weight_exp_min: smallest Dense weight exponent.
        weight_exp_max: largest Dense weight exponent.
    """

    decay_bits: int = 12
    act_shift: int = 6
    vth_shift: int = 6
    state_bits: int = 24
    du_offset: int = 1
    dv_offset: int = 0
    vth_bits: int = 17
    bias_mant_bits: int = 13
    bias_exp_max: int = 7
    weight_bits: int = 8
    weight_exp_min: int = -8
    weight_exp_max: int = 7

    @property
    def decay_unity(self) -> int:
        """``2**decay_bits`` (4096): the decay factor of a zero decay constant."""
        return 1 << self.decay_bits

    @property
    def decay_max(self) -> int:
        """Largest ``du``/``dv`` (4095)."""
        return self.decay_unity - 1

    @property
    def state_bound(self) -> int:
        """``2**(state_bits - 1)`` (2^23): ``u`` wraps by twice this, ``v`` clips just inside it."""
        return 1 << (self.state_bits - 1)

    @property
    def vth_max(self) -> int:
        """Largest threshold mantissa (131071)."""
        return (1 << self.vth_bits) - 1

    @property
    def bias_mant_bounds(self) -> tuple[int, int]:
        """Inclusive range of the bias mantissa (-4096, 4095)."""
        return _signed_bounds(self.bias_mant_bits)

    @property
    def weight_max(self) -> int:
        """Largest effective weight magnitude of an unsigned (exc/inh) matrix (255)."""
        return (1 << self.weight_bits) - 1

    @property
    def weight_min_mixed(self) -> int:
        """Smallest effective weight of a mixed-sign matrix (-256)."""
        return -(1 << self.weight_bits)


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

    @property
    def state_bounds(self) -> tuple[int, int]:
        """Inclusive saturation range of states and biases (-32768, 32767)."""
        return _signed_bounds(self.state_bits)

    @property
    def weight_bounds(self) -> tuple[int, int]:
        """Inclusive range of the weights (-128, 127)."""
        return _signed_bounds(self.weight_bits)

    @property
    def dash_max(self) -> int:
        """Largest decay shift (15)."""
        return (1 << self.dash_bits) - 1

    @property
    def threshold_max(self) -> int:
        """Largest threshold (32767)."""
        return self.state_bounds[1]


LOIHI = LoihiProfile()
"""The Loihi profile of Lava 0.10 (``PyLifModelBitAcc`` + ``PyDenseModelBitAcc``)."""

XYLO = XyloProfile()
"""The Xylo core v2 profile of XyloSim 0.1 (Rockpool 3.1)."""
