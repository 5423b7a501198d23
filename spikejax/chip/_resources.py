"""Resource limits of a chip as data: cores, neurons, fan-in/fan-out, weight memory, channels."""

from __future__ import annotations

import dataclasses

__all__ = ["Resources"]


@dataclasses.dataclass(frozen=True)
class Resources:
    """What one chip offers a network. ``None``: no published figure (to be calibrated).

    Attributes:
        cores: neuro-cores (or NPUs / processing cores) per chip.
        neurons_per_core: neurons (Loihi: compartments) one core holds.
        neurons: neurons per chip (Xylo: hidden neurons; elsewhere ``cores * neurons_per_core``
            where both are known).
        fan_in_per_core: input axons one core accepts (every presynaptic neuron or input line
            that reaches the core takes one).
        fan_out_per_core: output axons one core can drive (one per neuron and target core).
        synapse_bits_per_core: synaptic (weight) memory per core, in bits.
        input_channels: input lines of the chip's spike input (``None``: limited only by fan-in).
        output_neurons: readout neurons (``None``: any neuron can be read out).
        max_fan_out: largest number of synapses leaving one neuron.
        hidden_synapses: synaptic input states per hidden neuron.
        max_input_events: input events per channel and time step.
        max_spikes_per_step: spikes per neuron and time step.
        memory_bytes: total on-chip memory for weights and state, in bytes.
    """

    cores: int | None = None
    neurons_per_core: int | None = None
    neurons: int | None = None
    fan_in_per_core: int | None = None
    fan_out_per_core: int | None = None
    synapse_bits_per_core: int | None = None
    input_channels: int | None = None
    output_neurons: int | None = None
    max_fan_out: int | None = None
    hidden_synapses: int | None = None
    max_input_events: int | None = None
    max_spikes_per_step: int | None = None
    memory_bytes: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        """Every limit by name (``None`` where there is no figure)."""
        return dataclasses.asdict(self)
