"""SpikingJelly on the three canonical workloads (multi-step ``LIFNode``, time-folded layers).

Closest equivalent: ``neuron.LIFNode(tau=10, decay_input=False, v_threshold=1, v_reset=None,
surrogate_function=surrogate.ATan(alpha=2), detach_reset=True, step_mode="m")``: ``H = V(1 - 1/τ)
+ X``, soft reset, detached reset, the same arctan surrogate: the reference semantics. The readout
is ``NonSpikingLIFNode(tau=10, decode="mean-mem")``, which decays its input
(``v += (x - v)/τ``); its weights are ×10 so that ``v[t] = 0.9 v[t-1] + I[t]``. Hidden states
are cleared with ``functional.reset_net`` before every forward pass. Prints one JSON record.

    .venv-bench/bin/python benchmarks/peers/spikingjelly_bench.py --workload shd_mlp --mode step
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from _harness import parse_args
from _torch_common import run
from _workloads import BETA, THRESHOLD
from spikingjelly.activation_based import functional, neuron, surrogate

TAU = 1.0 / (1.0 - BETA)  # 10.0
DEVIATION = "readout NonSpikingLIFNode decays its input; w2 x10 compensates (rounding only)"

_modules: list[torch.nn.Module] = []


def neurons(workload: str) -> dict:
    def lif():
        node = neuron.LIFNode(
            tau=TAU,
            decay_input=False,
            v_threshold=THRESHOLD,
            v_reset=None,
            surrogate_function=surrogate.ATan(alpha=2.0),
            detach_reset=True,
            step_mode="m",
        )
        _modules.append(node)
        return node

    readout = neuron.NonSpikingLIFNode(tau=TAU, decode=None)
    _modules.append(readout)
    return {"lif1": lif(), "lif2": lif(), "lif3": lif(), "li": lambda c: torch.stack(readout(c))}


def reset() -> None:
    for module in _modules:
        functional.reset_net(module)


def main():
    args = parse_args(__doc__.splitlines()[0])
    run(
        framework="spikingjelly",
        version=version("spikingjelly"),
        args=args,
        neurons=neurons,
        deviation=DEVIATION if args.workload == "shd_mlp" else None,
        scale={"w2": 10.0},
        before_forward=reset,
    )


if __name__ == "__main__":
    main()
