"""The network graph: ``trace(model, example_input) -> Graph``, the one description of a network
that chip deployment, energy estimation and the zoo's counts read."""

from spikejax.graph import costs as costs
from spikejax.graph._nodes import KINDS as KINDS
from spikejax.graph._nodes import SYNAPTIC as SYNAPTIC
from spikejax.graph._nodes import Graph as Graph
from spikejax.graph._nodes import Node as Node
from spikejax.graph._nodes import NodeSpec as NodeSpec
from spikejax.graph._protocol import AbstractNode as AbstractNode
from spikejax.graph._record import Recording as Recording
from spikejax.graph._record import record as record
from spikejax.graph._trace import path_str as path_str
from spikejax.graph._trace import trace as trace

__all__ = [
    "KINDS",
    "SYNAPTIC",
    "AbstractNode",
    "Graph",
    "Node",
    "NodeSpec",
    "Recording",
    "costs",
    "path_str",
    "record",
    "trace",
]
