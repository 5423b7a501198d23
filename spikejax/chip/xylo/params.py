"""Integer parameter tree of the Xylo core v2 emulator (field names as in XyloSim/Rockpool)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int

from spikejax._errors import is_concrete
from spikejax._pytree import pytree_dataclass, static
from spikejax.chip._checks import as_int, check_shape
from spikejax.chip.xylo.profile import XYLO, XyloProfile

__all__ = ["HIDDEN_FIELDS", "READOUT_FIELDS", "SHIFT_FIELDS", "XyloNetwork"]

HIDDEN_FIELDS = ("dash_syn", "dash_syn_2", "dash_mem", "threshold", "bias")
READOUT_FIELDS = ("dash_syn_out", "dash_mem_out", "threshold_out", "bias_out")
SHIFT_FIELDS = ("weight_shift_in", "weight_shift_rec", "weight_shift_out")


@pytree_dataclass
class XyloNetwork:
    """Xylo core v2 parameters: inputs -> hidden (2 synapses, recurrent) -> readout (1 synapse).

    Layouts are (pre, post[, synapse]). Per-neuron parameters may be given as scalars; they are
    stored per neuron. The dynamics are documented in `spikejax.chip.xylo.step`.

    Args:
        weights_in: (n_in, n_hid, 2), int8 range.
        weights_rec: (n_hid, n_hid, 2), int8 range.
        weights_out: (n_hid, n_out), int8 range.
        dash_syn, dash_syn_2, dash_mem: hidden decay shifts of synapse 1, synapse 2 and membrane,
            ``0..15``.
        threshold: hidden thresholds, ``1..32767`` (0 is unsupported).
        dash_syn_out, dash_mem_out: readout decay shifts, ``0..15``.
        threshold_out: readout thresholds, ``1..32767``.
        bias, bias_out: hidden / readout biases, int16 range.
        weight_shift_in, weight_shift_rec, weight_shift_out: left shifts of the weights, ``0..7``.
        profile: the Xylo profile (static).
    """

    weights_in: Int[Array, "n_in n_hid 2"]
    weights_rec: Int[Array, "n_hid n_hid 2"]
    weights_out: Int[Array, "n_hid n_out"]
    dash_syn: Int[Array, " n_hid"]
    dash_syn_2: Int[Array, " n_hid"]
    dash_mem: Int[Array, " n_hid"]
    threshold: Int[Array, " n_hid"]
    dash_syn_out: Int[Array, " n_out"]
    dash_mem_out: Int[Array, " n_out"]
    threshold_out: Int[Array, " n_out"]
    bias: Int[Array, " n_hid"] = 0
    bias_out: Int[Array, " n_out"] = 0
    weight_shift_in: Int[Array, ""] = 0
    weight_shift_rec: Int[Array, ""] = 0
    weight_shift_out: Int[Array, ""] = 0
    profile: XyloProfile = static(XYLO)

    def __post_init__(self):
        fn = "XyloNetwork"
        p = self.profile
        w_lo, w_hi = p.weight_bounds
        s_lo, s_hi = p.state_bounds
        for name in ("weights_in", "weights_rec", "weights_out"):
            object.__setattr__(
                self, name, as_int(fn, name, getattr(self, name), low=w_lo, high=w_hi)
            )
        if self.weights_in.ndim != 3:
            raise ValueError(
                f"`{fn}`: `weights_in` must have shape (n_in, n_hid, {p.hidden_synapses}); "
                f"got {self.weights_in.shape}."
            )
        n_in, n_hid, _ = self.weights_in.shape
        check_shape(fn, "weights_in", self.weights_in, (n_in, n_hid, p.hidden_synapses))
        check_shape(fn, "weights_rec", self.weights_rec, (n_hid, n_hid, p.hidden_synapses))
        if self.weights_out.ndim != 2 or self.weights_out.shape[0] != n_hid:
            raise ValueError(
                f"`{fn}`: `weights_out` must have shape ({n_hid}, n_out); "
                f"got {self.weights_out.shape}."
            )
        n_out = self.weights_out.shape[1]
        ranges = {"dash": (0, p.dash_max), "threshold": (0, p.threshold_max), "bias": (s_lo, s_hi)}
        for names, n in ((HIDDEN_FIELDS, n_hid), (READOUT_FIELDS, n_out)):
            for name in names:
                low, high = ranges[name.split("_")[0]]
                value = as_int(fn, name, getattr(self, name), low=low, high=high)
                if value.shape not in ((), (n,)):
                    raise ValueError(
                        f"`{fn}`: `{name}` must be a scalar or have shape ({n},) (one per neuron); "
                        f"got {value.shape}."
                    )
                if name.startswith("threshold") and is_concrete(value) and np.any(value == 0):
                    raise ValueError(
                        f"`{fn}`: `{name}` must be >= 1: threshold 0 is unsupported (the vendor "
                        f"core would fire the cap whenever vmem >= 0 and never reset); got 0."
                    )
                object.__setattr__(self, name, jnp.broadcast_to(value, (n,)))
        for name in SHIFT_FIELDS:
            value = as_int(fn, name, getattr(self, name), low=0, high=p.weight_shift_max)
            if value.ndim != 0:
                raise ValueError(f"`{fn}`: `{name}` must be a scalar; got shape {value.shape}.")
            object.__setattr__(self, name, value)

    @property
    def sizes(self) -> tuple[int, int, int]:
        """``(n_in, n_hid, n_out)``."""
        n_in, n_hid, _ = self.weights_in.shape
        return n_in, n_hid, self.weights_out.shape[1]
