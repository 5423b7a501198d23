"""Hardware energy profiles: the energy of one dense multiply-accumulate (MAC) and of one
spike-driven accumulate (AC, a synaptic operation), with where each number comes from.

The ``cmos45nm_*`` profiles are the convention of the spiking-network literature (Horowitz,
"Computing's energy problem (and what we can do about it)", ISSCC 2014; 45 nm, 0.9 V): a MAC costs
a multiplication plus an addition, an AC an addition. ``cmos45nm_fp32`` (4.6 / 0.9 pJ) is the one
Spikformer and later spiking transformers use; the fp32, fp16 and int8 figures equal SpikingJelly's
presets. ``loihi`` prices synaptic operations on Intel's Loihi; it has no MAC path, so a layer with
a real-valued input (the first layer) is reported but not priced.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping

__all__ = ["PROFILES", "EnergyProfile", "available_profiles", "get_profile"]


def _check_energy(arg: str, value: float | None, *, optional: bool) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        rule = "a finite energy > 0 in pJ" + (" or None" if optional else "")
        raise ValueError(f"`EnergyProfile`: `{arg}` must be {rule}; got {value!r}.")


@dataclasses.dataclass(frozen=True)
class EnergyProfile:
    """The energy per operation of one hardware target, in picojoules.

    Attributes:
        name: registry name, e.g. ``"cmos45nm_fp32"``.
        e_mac: energy of one dense multiply-accumulate (pJ); ``None`` when the target has no MAC
            path (layers that would need one are reported, not priced).
        e_ac: energy of one synaptic operation, i.e. one accumulate triggered by an input spike
            (pJ).
        e_neuron_active: energy of one neuron update in a step where the neuron is active (pJ);
            ``None`` when the profile does not price neuron updates.
        e_neuron_inactive: the same for an inactive neuron (pJ).
        source: the publication the numbers come from.
        derivation: how ``e_mac`` and ``e_ac`` follow from the source's table.
        uncertain: names of the attributes whose values are not yet checked against the primary
            source.
    """

    name: str
    e_mac: float | None
    e_ac: float
    source: str
    derivation: str
    e_neuron_active: float | None = None
    e_neuron_inactive: float | None = None
    uncertain: frozenset[str] = frozenset()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"`EnergyProfile`: `name` must be a non-empty str; got {self.name!r}.")
        _check_energy("e_mac", self.e_mac, optional=True)
        _check_energy("e_ac", self.e_ac, optional=False)
        _check_energy("e_neuron_active", self.e_neuron_active, optional=True)
        _check_energy("e_neuron_inactive", self.e_neuron_inactive, optional=True)
        if (self.e_neuron_active is None) != (self.e_neuron_inactive is None):
            raise ValueError(
                "`EnergyProfile`: `e_neuron_active` and `e_neuron_inactive` must be given "
                f"together; got {self.e_neuron_active!r} and {self.e_neuron_inactive!r}."
            )
        known = {f.name for f in dataclasses.fields(self)}
        if not set(self.uncertain) <= known:
            raise ValueError(
                f"`EnergyProfile`: `uncertain` must name attributes among {sorted(known)}; got "
                f"{sorted(self.uncertain)}."
            )

    def describe(self) -> str:
        """One line: name, energies and source (``[verify]`` after unchecked values)."""

        def value(attr: str) -> str:
            v = getattr(self, attr)
            mark = " [verify]" if attr in self.uncertain else ""
            return ("none" if v is None else f"{v:g} pJ") + mark

        text = f"{self.name}: E_MAC {value('e_mac')}, E_AC {value('e_ac')}"
        if self.e_neuron_active is not None:
            text += (
                f", neuron update {value('e_neuron_active')} active / "
                f"{value('e_neuron_inactive')} inactive"
            )
        return f"{text} ({self.derivation}; {self.source})"


_HOROWITZ = (
    'Horowitz, "Computing\'s energy problem (and what we can do about it)", ISSCC 2014, '
    "45 nm, 0.9 V"
)
_DAVIES = (
    'Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning", '
    "IEEE Micro 38(1), 2018"
)

_PROFILES = (
    EnergyProfile(
        "cmos45nm_fp32",
        e_mac=4.6,
        e_ac=0.9,
        source=_HOROWITZ,
        derivation="MAC = fp32 mult 3.7 + fp32 add 0.9; AC = fp32 add 0.9",
    ),
    EnergyProfile(
        "cmos45nm_fp16",
        e_mac=1.5,
        e_ac=0.4,
        source=_HOROWITZ,
        derivation="MAC = fp16 mult 1.1 + fp16 add 0.4; AC = fp16 add 0.4",
    ),
    EnergyProfile(
        "cmos45nm_int8",
        e_mac=0.23,
        e_ac=0.03,
        source=_HOROWITZ,
        derivation=(
            "MAC = int8 mult 0.2 + int8 add 0.03; AC = int8 add 0.03 (SpikingJelly's preset)"
        ),
    ),
    EnergyProfile(
        "cmos45nm_int8_int32acc",
        e_mac=0.3,
        e_ac=0.1,
        source=_HOROWITZ,
        derivation=(
            "derived, int8 weights with a 32-bit accumulator: MAC = int8 mult 0.2 + int32 add "
            "0.1; AC = int32 add 0.1"
        ),
    ),
    EnergyProfile(
        "loihi",
        e_mac=None,
        e_ac=23.6,
        e_neuron_active=81.0,
        e_neuron_inactive=52.0,
        source=_DAVIES,
        derivation=(
            "AC = minimum energy of a synaptic spike operation; no MAC path; neuron update "
            "active / inactive; spike messages (1.7 / 3.5 nJ within / across tiles) not counted"
        ),
        uncertain=frozenset({"e_ac", "e_neuron_active", "e_neuron_inactive"}),
    ),
)

#: Every registered profile by name.
PROFILES: Mapping[str, EnergyProfile] = types.MappingProxyType({p.name: p for p in _PROFILES})


def available_profiles() -> list[str]:
    """Names of the registered energy profiles.

    Example:
        >>> from spikejax import energy
        >>> energy.available_profiles()[:2]
        ['cmos45nm_fp32', 'cmos45nm_fp16']
    """
    return list(PROFILES)


def get_profile(profile: str | EnergyProfile, *, fn: str = "get_profile") -> EnergyProfile:
    """The profile named ``profile`` (an `EnergyProfile` is returned as it is).

    Raises:
        ValueError: an unknown name; the message lists the registered names.
        TypeError: neither a name nor an `EnergyProfile`.

    Example:
        >>> from spikejax import energy
        >>> p = energy.get_profile("cmos45nm_fp32")
        >>> p.e_mac, p.e_ac
        (4.6, 0.9)
    """
    if isinstance(profile, EnergyProfile):
        return profile
    if not isinstance(profile, str):
        raise TypeError(
            f"`{fn}`: `profile` must be a profile name or an EnergyProfile; got "
            f"{type(profile).__name__}."
        )
    if profile not in PROFILES:
        raise ValueError(
            f"`{fn}`: `profile` must be one of {available_profiles()}; got {profile!r}."
        )
    return PROFILES[profile]
