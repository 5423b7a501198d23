"""Encoders to time-major ``[T, ...]`` inputs: rate (Poisson), latency, delta, direct."""

from spikejax.encoding._delta import delta as delta
from spikejax.encoding._direct import direct as direct
from spikejax.encoding._latency import latency as latency
from spikejax.encoding._rate import poisson as poisson

__all__ = ["delta", "direct", "latency", "poisson"]
