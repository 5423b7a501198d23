"""snnTorch on the three canonical workloads (time-folded layers, ``snn.Leaky`` looped over time).

Closest equivalent: ``snn.Leaky(beta=0.9, threshold=1, reset_mechanism="subtract",
spike_grad=surrogate.atan(alpha=2))``. Known deviation: snnTorch's default ``Leaky`` subtracts the
threshold, undecayed, for a spike of the *previous* membrane (``U[t] = βU[t-1] + I[t] - S[t-1]θ``),
so its first losses differ from the reference. The readout is ``Leaky(reset_mechanism="none")``'s
membrane, which is exactly ``u[t] = 0.9 u[t-1] + I[t]``. Prints one JSON record.

    .venv-bench/bin/python benchmarks/peers/snntorch_bench.py --workload conv_nmnist --mode step
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import snntorch as snn
import torch
from _harness import parse_args
from _torch_common import run
from _workloads import BETA, THRESHOLD
from snntorch import surrogate

DEVIATION = "Leaky subtracts an undecayed threshold for the previous step's spike"


def _over_time(neuron, output: str):
    def call(currents):
        mem = torch.zeros_like(currents[0])
        outs = []
        for current in currents.unbind(0):  # one UnbindBackward, not T SelectBackwards
            spk, mem = neuron(current, mem)
            outs.append(spk if output == "spikes" else mem)
        return torch.stack(outs)

    return call


def neurons(workload: str) -> dict:
    def lif():
        neuron = snn.Leaky(
            beta=BETA,
            threshold=THRESHOLD,
            reset_mechanism="subtract",
            spike_grad=surrogate.atan(alpha=2.0),
        )
        return _over_time(neuron, "spikes")

    li = snn.Leaky(beta=BETA, threshold=THRESHOLD, reset_mechanism="none")
    return {"lif1": lif(), "lif2": lif(), "lif3": lif(), "li": _over_time(li, "mem")}


def main():
    args = parse_args(__doc__.splitlines()[0])
    run(
        framework="snntorch",
        version=snn.__version__,
        args=args,
        neurons=neurons,
        deviation=DEVIATION,
    )


if __name__ == "__main__":
    main()
