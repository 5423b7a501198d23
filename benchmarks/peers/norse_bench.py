"""Norse on the three canonical workloads (``LIFBoxCell``/``LIBoxCell`` looped over time).

Closest equivalent: ``LIFBoxCell(LIFBoxParameters(tau_mem_inv=100, v_th=1, v_leak=0,
reset_method=reset_subtract), dt=1e-3)``: ``v ← v + dt/τ·(I - v)``, i.e. ``v ← 0.9 v + 0.1 I``,
spike ``Θ(v - 1)``, soft reset. Known deviations: the input is scaled by ``dt/τ = 0.1`` (all
initial weights and biases ×10 compensate, up to rounding), the surrogate is Norse's SuperSpike
(no arctan), and the reset is not detached. The readout is ``LIBoxCell`` with the same scaling.
Prints one JSON record.

    .venv-bench/bin/python benchmarks/peers/norse_bench.py --workload lif_layer --mode fwd
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
from norse.torch import LIBoxCell, LIBoxParameters, LIFBoxCell, LIFBoxParameters
from norse.torch.functional.reset import reset_subtract

DT = 1e-3
TAU_MEM_INV = (1.0 - BETA) / DT  # 100 /s: dt/τ = 0.1
GAIN = 1.0 / (DT * TAU_MEM_INV)  # 10: undoes the input scaling
DEVIATION = "input scaled by dt/tau (weights x10), SuperSpike surrogate, reset not detached"


def _over_time(cell):
    def call(currents):
        state = None
        outs = []
        for current in currents.unbind(0):
            out, state = cell(current, state)
            outs.append(out)
        return torch.stack(outs)

    return call


def neurons(workload: str) -> dict:
    def lif():
        p = LIFBoxParameters(
            tau_mem_inv=torch.as_tensor(TAU_MEM_INV),
            v_leak=torch.as_tensor(0.0),
            v_th=torch.as_tensor(THRESHOLD),
            reset_method=reset_subtract,
        )
        return _over_time(LIFBoxCell(p, dt=DT))

    li = LIBoxCell(LIBoxParameters(tau_mem_inv=torch.as_tensor(TAU_MEM_INV)), dt=DT)
    return {"lif1": lif(), "lif2": lif(), "lif3": lif(), "li": _over_time(li)}


def main():
    args = parse_args(__doc__.splitlines()[0])
    names = {
        "lif_layer": ("w",),
        "shd_mlp": ("w1", "w2"),
        "conv_nmnist": ("c1w", "c1b", "c2w", "c2b", "fcw", "fcb"),
    }[args.workload]
    run(
        framework="norse",
        version=version("norse"),
        args=args,
        neurons=neurons,
        deviation=DEVIATION,
        scale={k: GAIN for k in names},
    )


if __name__ == "__main__":
    main()
