"""Integer parameter trees of the Loihi emulator: LIF layers, Dense connections, the network."""

from __future__ import annotations

from typing import Any

from jaxtyping import Array, Int

from spikejax._pytree import pytree_dataclass, static
from spikejax.chip._checks import as_int
from spikejax.chip.loihi.profile import LOIHI, LoihiProfile
from spikejax.chip.loihi.weights import effective_weights

__all__ = ["LoihiDense", "LoihiLIF", "LoihiNetwork", "LoihiReset"]


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@pytree_dataclass
class LoihiReset:
    """Periodic reset of Lava's ``LIFReset``: ``u = v = 0`` before integrating at every Lava time
    step ``ts`` (``ts = row + 1``) with ``ts mod interval == offset mod interval``.

    Args:
        interval: reset period in steps, ``>= 1``.
        offset: phase of the reset (any int32; taken modulo ``interval``).
    """

    interval: Int[Array, ""]
    offset: Int[Array, ""] = 0

    def __post_init__(self):
        _set(self, "interval", as_int("LoihiReset", "interval", self.interval, low=1))
        _set(self, "offset", as_int("LoihiReset", "offset", self.offset))
        for name in ("interval", "offset"):
            if getattr(self, name).ndim != 0:
                shape = getattr(self, name).shape
                raise ValueError(f"`LoihiReset`: `{name}` must be a scalar; got shape {shape}.")


@pytree_dataclass
class LoihiLIF:
    """Integer parameters of one Loihi CUBA-LIF layer (scalars or per-neuron vectors).

    The update is documented in `spikejax.chip.loihi.lif_step`.

    Args:
        du: current decay constant, ``0..4095`` (the current decays with ``du + 1``).
        dv: voltage decay constant, ``0..4095``.
        vth: threshold mantissa, ``0..131071``; the threshold is ``vth << 6``.
        bias_mant: bias mantissa, ``-4096..4095``.
        bias_exp: bias exponent, ``0..7``; the bias is ``bias_mant << bias_exp``.
        reset: optional periodic reset (Lava ``LIFReset``); ``None`` for plain ``LIF``.
        profile: the Loihi profile (static).
    """

    du: Int[Array, "..."]
    dv: Int[Array, "..."]
    vth: Int[Array, "..."]
    bias_mant: Int[Array, "..."] = 0
    bias_exp: Int[Array, "..."] = 0
    reset: LoihiReset | None = None
    profile: LoihiProfile = static(LOIHI)

    def __post_init__(self):
        p = self.profile
        lo_b, hi_b = p.bias_mant_bounds
        ranges = {
            "du": (0, p.decay_max),
            "dv": (0, p.decay_max),
            "vth": (0, p.vth_max),
            "bias_mant": (lo_b, hi_b),
            "bias_exp": (0, p.bias_exp_max),
        }
        for name, (low, high) in ranges.items():
            value = as_int("LoihiLIF", name, getattr(self, name), low=low, high=high)
            if value.ndim > 1:
                raise ValueError(
                    f"`LoihiLIF`: `{name}` must be a scalar or a per-neuron vector; "
                    f"got shape {value.shape}."
                )
            _set(self, name, value)
        if self.reset is not None and not isinstance(self.reset, LoihiReset):
            raise TypeError(
                f"`LoihiLIF`: `reset` must be a LoihiReset or None; got {self.reset!r}."
            )


@pytree_dataclass
class LoihiDense:
    """A Loihi Dense connection: effective weights (layout (post, pre)) and a shared exponent.

    The output for binary presynaptic spikes ``s`` is ``shift(W @ s, weight_exp)``, delivered one
    step later (`spikejax.chip.loihi.dense`).

    Args:
        weights: effective int weights (post, pre) in ``[-256, 255]``, as produced by
            `effective_weights`; `from_raw` reduces raw weights.
        weight_exp: shared base-2 exponent of the output, ``-8..7``.
        profile: the Loihi profile (static).
    """

    weights: Int[Array, "post pre"]
    weight_exp: Int[Array, ""] = 0
    profile: LoihiProfile = static(LOIHI)

    def __post_init__(self):
        p = self.profile
        w = as_int("LoihiDense", "weights", self.weights, low=p.weight_min_mixed, high=p.weight_max)
        if w.ndim != 2:
            raise ValueError(
                f"`LoihiDense`: `weights` must be a matrix (post, pre); got {w.shape}."
            )
        exp = as_int(
            "LoihiDense", "weight_exp", self.weight_exp, low=p.weight_exp_min, high=p.weight_exp_max
        )
        if exp.ndim != 0:
            raise ValueError(f"`LoihiDense`: `weight_exp` must be a scalar; got shape {exp.shape}.")
        _set(self, "weights", w)
        _set(self, "weight_exp", exp)

    @classmethod
    def from_raw(
        cls,
        weights: Any,
        num_weight_bits: int = 8,
        weight_exp: int = 0,
        *,
        profile: LoihiProfile = LOIHI,
    ) -> LoihiDense:
        """A Dense from raw weights, reduced by `effective_weights`."""
        w = effective_weights(weights, num_weight_bits, profile=profile)
        return cls(w, weight_exp, profile=profile)


def _check_neurons(fn: str, lif: LoihiLIF, n: int, layer: str) -> None:
    for name in ("du", "dv", "vth", "bias_mant", "bias_exp"):
        shape = getattr(lif, name).shape
        if shape not in ((), (n,)):
            raise ValueError(
                f"`{fn}`: `{layer}.{name}` must be a scalar or have shape ({n},) (one per neuron); "
                f"got {shape}."
            )


@pytree_dataclass
class LoihiNetwork:
    """The traced Loihi network: in -> Dense ``dense1`` -> ``lif1`` -> Dense ``dense2`` -> ``lif2``,
    with an optional recurrent Dense ``dense_rec`` from ``lif1`` to ``lif1``.

    Args:
        dense1: input connection, weights (n_hid, n_in).
        lif1: hidden layer.
        dense2: output connection, weights (n_out, n_hid).
        lif2: output layer.
        dense_rec: optional recurrent connection, weights (n_hid, n_hid).
    """

    dense1: LoihiDense
    lif1: LoihiLIF
    dense2: LoihiDense
    lif2: LoihiLIF
    dense_rec: LoihiDense | None = None

    def __post_init__(self):
        fn = "LoihiNetwork"
        kinds = {"dense1": LoihiDense, "lif1": LoihiLIF, "dense2": LoihiDense, "lif2": LoihiLIF}
        for name, kind in kinds.items():
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise TypeError(f"`{fn}`: `{name}` must be a {kind.__name__}; got {value!r}.")
        n_hid, _ = self.dense1.weights.shape
        if self.dense2.weights.shape[1] != n_hid:
            raise ValueError(
                f"`{fn}`: `dense2.weights` must have shape (n_out, {n_hid}) to follow `dense1` "
                f"with {n_hid} neurons; got {self.dense2.weights.shape}."
            )
        if self.dense_rec is not None:
            if not isinstance(self.dense_rec, LoihiDense):
                raise TypeError(
                    f"`{fn}`: `dense_rec` must be a LoihiDense or None; got {self.dense_rec!r}."
                )
            if self.dense_rec.weights.shape != (n_hid, n_hid):
                raise ValueError(
                    f"`{fn}`: `dense_rec.weights` must have shape ({n_hid}, {n_hid}); "
                    f"got {self.dense_rec.weights.shape}."
                )
        _check_neurons(fn, self.lif1, n_hid, "lif1")
        _check_neurons(fn, self.lif2, self.dense2.weights.shape[0], "lif2")

    @property
    def sizes(self) -> tuple[int, int, int]:
        """``(n_in, n_hid, n_out)``."""
        n_hid, n_in = self.dense1.weights.shape
        return n_in, n_hid, self.dense2.weights.shape[0]
