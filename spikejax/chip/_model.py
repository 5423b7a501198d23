"""The chip model: the float network's state tree with integer leaves, plus static formats.

A `ChipModel` holds ``state``, an ``nnx.State`` with **the same tree structure** as the float
model's ``nnx.state`` and int32 leaves of the same shapes, and static metadata outside the leaves:
the chip, per-layer constants (`ChipLayer`) and one `LeafFormat` per quantized leaf
that says how its integers map back to floats.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from spikejax._pytree import pytree_dataclass, static
from spikejax.chip._graph import LayerSpec, flat_state
from spikejax.chip.loihi.profile import LOIHI, LoihiProfile
from spikejax.chip.xylo.profile import XYLO, XyloProfile

__all__ = ["ChipLayer", "ChipModel", "LeafFormat", "LeafReport"]

CODES = ("linear", "loihi_decay", "dash")


@dataclasses.dataclass(frozen=True)
class LeafFormat:
    """How the integers of one leaf encode the float values.

    * ``"linear"``: ``x = q * scale + origin`` (``scale`` and ``origin`` a float, or one float
      per output channel, i.e. along the last axis; ``origin`` is non-zero only for a leaf that a
      folded batch norm shifts, see `spikejax.chip._fold`).
    * ``"loihi_decay"``: ``x = 1 - (q + offset) / 2**decay_bits`` (Loihi ``dv``: offset 0;
      ``du``: offset 1, since the current decays with ``du + 1``).
    * ``"dash"``: ``x = 1 - 2**-q`` (Xylo bit-shift decay).

    Attributes:
        name: the chip parameter the leaf holds (``"weights"``, ``"vth"``, ``"dv"``, ...).
        layer: index of the layer.
        code: ``"linear"``, ``"loihi_decay"`` or ``"dash"``.
        low, high: legal integer range.
        scale: float value of one integer unit (``"linear"``).
        offset: decay offset (``"loihi_decay"``).
        decay_bits: fractional bits of a Loihi decay.
        step: spacing of the representable integers (2 for Loihi mixed-sign weights).
        origin: float value of the integer 0 (``"linear"``).
    """

    name: str
    layer: int
    code: str
    low: int
    high: int
    scale: float | tuple[float, ...] = 1.0
    offset: int = 0
    decay_bits: int = 12
    step: int = 1
    origin: float | tuple[float, ...] = 0.0

    def scale_array(self, shape: tuple[int, ...]) -> np.ndarray:
        """``scale`` broadcast to ``shape`` (float64)."""
        return np.broadcast_to(np.asarray(self.scale, np.float64), shape)

    def decode(self, q: Any) -> np.ndarray:
        """Float values (float64) of the integers ``q``."""
        q = np.asarray(q, np.float64)
        if self.code == "linear":
            return q * self.scale_array(q.shape) + self.origin_array(q.shape)
        if self.code == "loihi_decay":
            return 1.0 - (q + self.offset) / float(1 << self.decay_bits)
        return 1.0 - np.exp2(-q)

    def origin_array(self, shape: tuple[int, ...]) -> np.ndarray:
        """``origin`` broadcast to ``shape`` (float64)."""
        return np.broadcast_to(np.asarray(self.origin, np.float64), shape)

    def encode(self, x: Any, xp: Any = np) -> Any:
        """The nearest representable integers of the float values ``x``, not yet clipped to
        ``[low, high]`` (Xylo dashes: the nearest of ``low..high``), as int64 (NumPy) or int32
        (``xp=jax.numpy``, traceable). The arithmetic is float32 in both cases, so NumPy and
        JAX give the same integers."""
        f32 = xp.float32
        x = xp.asarray(x, dtype=f32)
        if self.code == "linear":
            s = xp.asarray(np.asarray(self.scale, np.float64) * self.step, dtype=f32)
            if np.any(np.asarray(self.origin) != 0):
                x = x - xp.broadcast_to(xp.asarray(np.asarray(self.origin), dtype=f32), x.shape)
            q = xp.rint(x / xp.broadcast_to(s, x.shape)) * self.step
        elif self.code == "loihi_decay":
            q = xp.rint((1 - x) * f32(1 << self.decay_bits)) - self.offset
        else:
            levels = np.arange(self.low, self.high + 1)
            grid = np.reshape(1.0 - np.exp2(-levels.astype(np.float64)), (1,) * x.ndim + (-1,))
            q = self.low + xp.argmin(xp.abs(x[..., None] - xp.asarray(grid, dtype=f32)), axis=-1)
        return q.astype(np.int64) if xp is np else q.astype(xp.int32)

    def lsb(self, x: Any) -> np.ndarray:
        """Half the spacing of the representable float values around each ``x`` (the bound of
        the rounding error for values inside the range)."""
        x = np.asarray(x, np.float64)
        if self.code == "linear":
            return 0.5 * self.step * np.abs(self.scale_array(x.shape))
        if self.code == "loihi_decay":
            return np.full(x.shape, 0.5 / (1 << self.decay_bits))
        grid = 1.0 - np.exp2(-np.arange(self.low, self.high + 1, dtype=np.float64))
        i = np.clip(np.searchsorted(grid, x), 1, grid.size - 1)
        return 0.5 * (grid[i] - grid[i - 1])


@dataclasses.dataclass(frozen=True)
class ChipLayer:
    """Static settings of one layer on the chip.

    Attributes:
        spec: the float layer (`LayerSpec`).
        v_scale: chip membrane units per float membrane unit (``S``).
        weight_exp: Loihi Dense ``weight_exp``; Xylo weight shift of the layer's matrix.
        bias_exp: Loihi bias exponent of the layer (0 on Xylo).
        constants: chip parameters that no float leaf holds, e.g. ``(("du", 4095),)``.
        input_delay: steps between the layer's presynaptic spikes and their arrival.
        rec_exp: Loihi ``weight_exp`` of the layer's recurrent Dense (``None``: no recurrence).
    """

    spec: LayerSpec
    v_scale: float
    weight_exp: int
    bias_exp: int
    constants: tuple[tuple[str, int], ...]
    input_delay: int
    rec_exp: int | None = None

    def constant(self, name: str) -> int | None:
        """The constant chip parameter ``name`` (``None`` if a leaf holds it)."""
        return dict(self.constants).get(name)


@dataclasses.dataclass(frozen=True)
class LeafReport:
    """Quantization error of one leaf (float units).

    Attributes:
        path: state path of the leaf.
        name: chip parameter.
        max_abs_error, rms_error: over the leaf's elements, after clipping.
        max_abs_value: largest float magnitude of the leaf.
        lsb: largest half-spacing of representable values over the leaf.
        clipped: values outside the legal range that were clipped (``saturate=True``).
    """

    path: str
    name: str
    max_abs_error: float
    rms_error: float
    max_abs_value: float
    lsb: float
    clipped: int


@pytree_dataclass
class ChipModel:
    """A network quantized for a chip (returned by `spikejax.chip.quantize`).

    Attributes:
        state: ``nnx.State`` with the float model's tree structure and int32 leaves (leaves no
            chip layer uses, e.g. random-number state, are kept unchanged).
        chip: the chip profile's name (``"loihi"`` or ``"xylo"``).
        layers: one `ChipLayer` per ``Linear → Spiking`` layer.
        formats: ``(state path, LeafFormat)`` of every quantized leaf.
        input_levels: input events per channel and step that encode the float input 1.0 (1 for
            binary spike inputs; e.g. 16 for analog inputs in ``[0, 1]`` sent as event counts).
        report: per-leaf quantization errors.
        notes: every semantic difference between the float network and the chip.
        arithmetic: the chip's integer profile (`LoihiProfile` or
            `XyloProfile`) when it is not the default one.
    """

    state: Any
    chip: str = static()
    layers: tuple[ChipLayer, ...] = static()
    formats: tuple[tuple[str, LeafFormat], ...] = static()
    input_levels: int = static(1)
    report: tuple[LeafReport, ...] = static(())
    notes: tuple[str, ...] = static(())
    arithmetic: LoihiProfile | XyloProfile | None = static(None)
    input_unit: float | None = static(None)

    @property
    def event_value(self) -> float:
        """The float input value of one input event: ``input_unit``, else ``1 / input_levels``."""
        return self.input_unit if self.input_unit is not None else 1.0 / self.input_levels

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-sample shape of the chip's input (channels last)."""
        return self.layers[0].spec.in_shape

    @property
    def profile(self) -> LoihiProfile | XyloProfile:
        """The integer arithmetic the model runs on: ``arithmetic``, or the chip's default."""
        if self.arithmetic is not None:
            return self.arithmetic
        return LOIHI if self.chip == "loihi" else XYLO

    @property
    def sizes(self) -> tuple[int, ...]:
        """``(n_in, n_1, ..., n_out)``."""
        return (self.layers[0].spec.n_in, *(layer.spec.n_out for layer in self.layers))

    def format(self, path: str) -> LeafFormat:
        """The format of the leaf at ``path``."""
        for p, fmt in self.formats:
            if p == path:
                return fmt
        raise KeyError(f"`ChipModel.format`: no quantized leaf at {path!r}.")

    def leaves(self) -> dict[str, np.ndarray]:
        """``{state path: integer array}`` of every quantized leaf."""
        flat = flat_state(self.state)
        return {p: np.asarray(flat[p]) for p, _ in self.formats}
