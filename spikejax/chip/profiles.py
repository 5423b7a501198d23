"""The registry of chip profiles: bit widths, integer arithmetic and resource limits as data.

Two profiles are **bit-exact** (``bit_exact=True``): ``"loihi"`` and ``"xylo"`` carry the integer
arithmetic of a verified emulator (`LoihiProfile`,
`XyloProfile`). The others describe what is published about a target
(weight and activation widths, resources) so that a network can be checked against it; they have
no emulator. Every value a profile is not sure of is named in its ``uncertain`` set, and ``None``
means that no figure is known (to be calibrated).
"""

from __future__ import annotations

import dataclasses

from spikejax.chip._resources import Resources
from spikejax.chip.loihi.profile import LOIHI, LoihiProfile
from spikejax.chip.xylo.profile import XYLO, XyloProfile

__all__ = ["ChipProfile", "Resources", "get_profile", "profiles"]


@dataclasses.dataclass(frozen=True)
class ChipProfile:
    """One deployment target.

    Attributes:
        name: registry name (lowercase), e.g. ``"loihi"``.
        title: the chip and the reference its figures come from.
        bit_exact: an emulator reproduces a vendor simulator bit for bit.
        arithmetic: the integer core of the emulator (bit-exact profiles only), else ``None``.
        weight_bits: supported synaptic weight precisions, in bits including the sign.
        activation_bits: supported spike/activation payload widths, in bits (1: binary spikes).
        state_bits: width of the neuron state (membrane), ``None`` if unknown.
        time_step: the chip's time step, in words (``None`` if it is set by the user).
        resources: the resource limits (`Resources`).
        uncertain: names of the attributes (``"resources.<name>"`` for limits) whose values are
            not confirmed by the sources.
        sources: where the figures come from.
        notes: what the profile does not capture.
    """

    name: str
    title: str
    bit_exact: bool
    arithmetic: LoihiProfile | XyloProfile | None
    weight_bits: tuple[int, ...]
    activation_bits: tuple[int, ...]
    state_bits: int | None
    time_step: str | None
    resources: Resources
    uncertain: frozenset[str] = frozenset()
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        if self.bit_exact != (self.arithmetic is not None):
            raise ValueError(
                f"`ChipProfile`: `arithmetic` must be given exactly when `bit_exact` is true; got "
                f"bit_exact={self.bit_exact} and arithmetic={self.arithmetic!r}."
            )
        known = {f.name for f in dataclasses.fields(self)}
        known |= {f"resources.{f.name}" for f in dataclasses.fields(Resources)}
        unknown = sorted(set(self.uncertain) - known)
        if unknown:
            raise ValueError(
                f"`ChipProfile`: `uncertain` must name attributes of the profile or "
                f"'resources.<limit>'; got unknown {unknown}."
            )


_LOIHI = ChipProfile(
    name="loihi",
    title="Intel Loihi 1, CUBA-LIF arithmetic of Lava 0.10's bit-accurate models",
    bit_exact=True,
    arithmetic=LOIHI,
    weight_bits=(1, 2, 3, 4, 5, 6, 7, 8),
    activation_bits=(1,),
    state_bits=24,
    time_step=None,
    resources=Resources(
        cores=128,
        neurons_per_core=1024,
        neurons=128 * 1024,
        fan_in_per_core=4096,
        fan_out_per_core=4096,
        synapse_bits_per_core=1 << 20,
        max_spikes_per_step=1,
    ),
    uncertain=frozenset({"resources.synapse_bits_per_core"}),
    sources=(
        "Davies et al., 'Loihi: A Neuromorphic Manycore Processor with On-Chip Learning', "
        "IEEE Micro 38(1), 2018 (128 neuro-cores, 1,024 compartments per core)",
        "NengoLoihi block limits: 1,024 compartments, 4,096 input axons, 4,096 output axons and "
        "1,048,576 synapse bits per core",
        "Lava 0.10 PyLifModelBitAcc / PyDenseModelBitAcc "
        "(arithmetic: docs/explanation/chip-semantics.md)",
    ),
    notes=(
        "Synapse memory use is estimated with NengoLoihi's dense format (64-synapse blocks of "
        "weight bits plus 10 header bits, rounded up to 64-bit words); the real compiler may "
        "pack differently.",
        "Loihi 2 programmable neurons and graded spikes are out of scope.",
    ),
)

_XYLO = ChipProfile(
    name="xylo",
    title="SynSense Xylo Audio 2 (SYNS61201, core v2), arithmetic of XyloSim 0.1 (Rockpool 3.1)",
    bit_exact=True,
    arithmetic=XYLO,
    weight_bits=(8,),
    activation_bits=(1, 2, 3, 4, 5),
    state_bits=16,
    time_step=None,
    resources=Resources(
        cores=1,
        neurons=1000,
        input_channels=16,
        output_neurons=8,
        max_fan_out=64,
        hidden_synapses=2,
        max_input_events=15,
        max_spikes_per_step=31,
    ),
    uncertain=frozenset({"resources.max_fan_out"}),
    sources=(
        "Rockpool documentation, 'Deploying to Xylo' and the Xylo family overview (16 input "
        "channels, 1,000 hidden neurons, 8 output neurons, 2 synapses per hidden neuron, 15 "
        "input events and 31 hidden spikes per step, max. fan-out 64)",
        "Rockpool xylo_mapper for SYNS61201 (max_hidden_neurons=1000, max_output_neurons=8)",
    ),
    notes=(
        "The fan-out limit is checked on the recurrent weights of each hidden neuron (synapses "
        "1 and 2 counted separately) and on its readout weights; the documentation does not say "
        "exactly which weights the limit covers.",
        "Readout neurons emit at most one spike per step; their membrane can be read out.",
    ),
)

_AKIDA = ChipProfile(
    name="akida",
    title="BrainChip Akida AKD1000 (MetaTF documentation)",
    bit_exact=False,
    arithmetic=None,
    weight_bits=(1, 2, 4, 8),
    activation_bits=(1, 2, 4),
    state_bits=None,
    time_step=None,
    resources=Resources(cores=80, neurons=1_200_000),
    uncertain=frozenset({"resources.neurons", "state_bits"}),
    sources=(
        "BrainChip MetaTF / Akida documentation: event-based CNN engine of 80 neural processing "
        "units; weights and activations of 1, 2 or 4 bits, 8-bit weights in the input layer",
        "BrainChip announcement (1.2 million 'virtual' neurons, 10 billion synapses per chip)",
    ),
    notes=(
        "8-bit weights are accepted only in the input layer (AKD1000); the 2nd generation adds "
        "8-bit weights and activations in every layer.",
        "Accumulator width, rounding, activation thresholds and neuron state semantics are to be "
        "calibrated: no emulator.",
    ),
)

_SPINNAKER = ChipProfile(
    name="spinnaker",
    title="SpiNNaker 1 (sPyNNaker), ARM968 cores without FPU",
    bit_exact=False,
    arithmetic=None,
    weight_bits=(16,),
    activation_bits=(1,),
    state_bits=32,
    time_step="1 ms (sPyNNaker default; configurable)",
    resources=Resources(
        cores=16,
        neurons_per_core=256,
        neurons=16 * 256,
        memory_bytes=128 * (1 << 20),
        max_spikes_per_step=1,
    ),
    uncertain=frozenset(
        {"resources.neurons_per_core", "resources.neurons", "resources.memory_bytes", "time_step"}
    ),
    sources=(
        "sPyNNaker: neuron state in ISO-C accum s16.15, LIF integrated with precomputed "
        "exp(-dt/tau) factors, 16-bit synaptic weights with a per-synapse-type scaling shift",
        "SpiNNaker 1 chip: 18 ARM968 cores (16 for applications), 128 MB SDRAM",
    ),
    notes=(
        "Neurons per core (256 for LIF) is a software default of sPyNNaker, not a hardware limit.",
        "Exact rounding of each multiply, decay tables, ring-buffer saturation and delay width "
        "are to be calibrated: no emulator. SpiNNaker 2 (Cortex-M4F with FPU) may need a float "
        "profile.",
    ),
)

_TRUENORTH = ChipProfile(
    name="truenorth",
    title="IBM TrueNorth",
    bit_exact=False,
    arithmetic=None,
    weight_bits=(9,),
    activation_bits=(1,),
    state_bits=None,
    time_step="1 ms tick",
    resources=Resources(
        cores=4096,
        neurons_per_core=256,
        neurons=4096 * 256,
        fan_in_per_core=256,
        fan_out_per_core=256,
        synapse_bits_per_core=256 * 256,
        max_fan_out=256,
        max_spikes_per_step=1,
    ),
    sources=(
        "Merolla et al., Science 345(6197), 2014: 4,096 cores of 256 axons x 256 neurons with a "
        "binary crossbar; 4 axon types, one signed 9-bit weight per neuron and axon type",
    ),
    notes=(
        "Weights are per (neuron, axon type), not per synapse: a crossbar bit selects whether an "
        "axon reaches a neuron.",
        "Membrane, threshold and leak widths, stochastic modes and reset variants are to be "
        "calibrated: no emulator.",
    ),
)

_NORTHPOLE = ChipProfile(
    name="northpole",
    title="IBM NorthPole (Modha et al., Science 382, 2023)",
    bit_exact=False,
    arithmetic=None,
    weight_bits=(2, 4, 8),
    activation_bits=(2, 4, 8),
    state_bits=None,
    time_step=None,
    resources=Resources(cores=256, memory_bytes=224 * 1000 * 1000),
    uncertain=frozenset({"resources.memory_bytes"}),
    sources=(
        "Modha et al., 'Neural inference at the frontier of energy, space, and time', Science "
        "382(6668), 2023: 256 cores, 8-, 4- and 2-bit weights and activations, on-chip memory "
        "only (224 MB reported)",
    ),
    notes=(
        "Not a spiking chip: a digital inference accelerator. Everything an SNN emulator needs "
        "is to be calibrated.",
    ),
)

_REGISTRY: dict[str, ChipProfile] = {
    p.name: p for p in (_LOIHI, _XYLO, _AKIDA, _SPINNAKER, _TRUENORTH, _NORTHPOLE)
}


def profiles() -> dict[str, ChipProfile]:
    """Every registered profile by name (a new dict; the profiles are frozen).

    Example:
        >>> from spikejax.chip import profiles
        >>> sorted(profiles.profiles())
        ['akida', 'loihi', 'northpole', 'spinnaker', 'truenorth', 'xylo']
        >>> [p.name for p in profiles.profiles().values() if p.bit_exact]
        ['loihi', 'xylo']
    """
    return dict(_REGISTRY)


def get_profile(name: str | ChipProfile) -> ChipProfile:
    """The profile registered under ``name`` (a `ChipProfile` is returned unchanged).

    Example:
        >>> from spikejax.chip.profiles import get_profile
        >>> get_profile("xylo").resources.input_channels
        16
    """
    if isinstance(name, ChipProfile):
        return name
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(
            f"`get_profile`: `name` must be one of {tuple(sorted(_REGISTRY))}; got {name!r}."
        )
    return _REGISTRY[name]
