"""Energy estimates from real activity: synaptic-operation counts per layer, hardware profiles,
reports."""

from spikejax.energy.cli import energy_command as energy_command
from spikejax.energy.counting import LayerCount as LayerCount
from spikejax.energy.counting import OpCounts as OpCounts
from spikejax.energy.counting import count_ops as count_ops
from spikejax.energy.counting import count_recording as count_recording
from spikejax.energy.plot import plot_energy as plot_energy
from spikejax.energy.profiles import PROFILES as PROFILES
from spikejax.energy.profiles import EnergyProfile as EnergyProfile
from spikejax.energy.profiles import available_profiles as available_profiles
from spikejax.energy.profiles import get_profile as get_profile
from spikejax.energy.report import EnergyReport as EnergyReport
from spikejax.energy.report import EnergyRow as EnergyRow
from spikejax.energy.report import energy_from_sops as energy_from_sops
from spikejax.energy.report import energy_report as energy_report
from spikejax.energy.report import estimate as estimate

__all__ = [
    "PROFILES",
    "EnergyProfile",
    "EnergyReport",
    "EnergyRow",
    "LayerCount",
    "OpCounts",
    "available_profiles",
    "count_ops",
    "count_recording",
    "energy_command",
    "energy_from_sops",
    "energy_report",
    "estimate",
    "get_profile",
    "plot_energy",
]
