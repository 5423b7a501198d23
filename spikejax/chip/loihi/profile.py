"""The Loihi profile: every constant (bit widths, shifts, bounds) of the CUBA-LIF integer core.

A profile is a frozen, hashable dataclass: static metadata of a chip parameter tree (never a leaf).
The arithmetic (`spikejax.chip.loihi.arithmetic`) reads every constant from it, so a custom
profile changes the trace replay, the batched emulator and the straight-through twin alike.
"""

from __future__ import annotations

import dataclasses

from spikejax.chip.intmath import check_widths, signed_bounds

__all__ = ["LOIHI", "LoihiProfile"]


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

    def __post_init__(self):
        fn = "LoihiProfile"
        rules = {
            "decay_bits": (1, 15, "the split decay product stays below 2**31"),
            "state_bits": (2, 25, "three state bounds fit int32"),
            "act_shift": (0, 16, "the shifted synaptic input fits int32"),
            "vth_shift": (0, self.state_bits - 2, "the threshold lies inside the state range"),
            "du_offset": (0, 1, "a decay constant stays within its unity"),
            "dv_offset": (0, 1, "a decay constant stays within its unity"),
            "weight_bits": (1, 15, "products of weights and counts fit the exact matmul"),
            "weight_exp_min": (-31, 0, "a Dense output can be kept unscaled"),
            "weight_exp_max": (0, 31, "a Dense output can be kept unscaled"),
        }
        check_widths(fn, self, rules)
        room = self.state_bits - 1
        rules = {
            "vth_bits": (1, room - self.vth_shift, "vth << vth_shift lies inside the state range"),
            "bias_mant_bits": (1, room, "the bias mantissa lies inside the state range"),
            "bias_exp_max": (
                0,
                room - self.bias_mant_bits + 1,
                "the shifted bias lies inside the state range",
            ),
        }
        check_widths(fn, self, rules)

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
        return signed_bounds(self.bias_mant_bits)

    @property
    def weight_max(self) -> int:
        """Largest effective weight magnitude of an unsigned (exc/inh) matrix (255)."""
        return (1 << self.weight_bits) - 1

    @property
    def weight_min_mixed(self) -> int:
        """Smallest effective weight of a mixed-sign matrix (-256)."""
        return -(1 << self.weight_bits)


LOIHI = LoihiProfile()
"""The Loihi profile of Lava 0.10 (``PyLifModelBitAcc`` + ``PyDenseModelBitAcc``)."""
