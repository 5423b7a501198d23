"""What the PyTorch-based peers (snnTorch, SpikingJelly, Norse) share: data, layers, timed calls.

Stateless layers are time-folded: one ``linear``/``conv2d`` call on ``[T*B, ...]`` (or on the
``[T, B, features]`` tensor, which torch's ``linear`` treats as one matrix product); only the
neuron loops over time. Each framework supplies a function ``neurons(workload) -> dict`` that
returns its neuron callables, each mapping time-major currents ``[T, ...]`` to time-major outputs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import torch.nn.functional as F
from _harness import report, time_calls
from _workloads import LR, draw

__all__ = ["build_forward", "run"]


def _threads() -> None:
    n = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(n)
    torch.set_num_interop_threads(1)


def _params(workload: str, scale: dict[str, float]) -> tuple[dict, dict]:
    arrays = draw(workload)
    data = {"x": torch.from_numpy(arrays["x"])}
    if "y" in arrays:
        data["y"] = torch.from_numpy(arrays["y"])
    params = {}
    for k, v in arrays.items():
        if k in ("x", "y"):
            continue
        t = torch.from_numpy(v.copy())
        if k in scale:
            t = t * scale[k]
        params[k] = t.requires_grad_(True)
    return params, data


def build_forward(workload: str, neurons: dict[str, Callable], params: dict, data: dict):
    """``forward() -> (loss, layer-1 spike rate)`` of ``workload`` with the given neurons."""
    x = data["x"]
    T, B = x.shape[:2]
    lif1, lif2, lif3, li = (neurons.get(k) for k in ("lif1", "lif2", "lif3", "li"))

    if workload == "lif_layer":

        def forward():
            s1 = lif1(F.linear(x, params["w"]))
            return s1.sum(), s1.mean()

    elif workload == "shd_mlp":
        y = data["y"]

        def forward():
            s1 = lif1(F.linear(x, params["w1"]))
            u = li(F.linear(s1, params["w2"]))
            return F.cross_entropy(u.mean(0), y), s1.mean()

    else:
        y = data["y"]
        folded = x.reshape(T * B, *x.shape[2:])

        def forward():
            c1 = F.max_pool2d(F.conv2d(folded, params["c1w"], params["c1b"]), 2)
            s1 = lif1(c1.reshape(T, B, *c1.shape[1:]))
            c2 = F.conv2d(s1.reshape(T * B, *s1.shape[2:]), params["c2w"], params["c2b"])
            c2 = F.max_pool2d(c2, 2)
            s2 = lif2(c2.reshape(T, B, *c2.shape[1:]))
            s3 = lif3(F.linear(s2.reshape(T, B, -1), params["fcw"], params["fcb"]))
            return F.cross_entropy(s3.sum(0), y), s1.mean()

    return forward


def run(
    *,
    framework: str,
    version: str,
    args,
    neurons: Callable[[str], dict[str, Callable]],
    deviation: str | None,
    scale: dict[str, float] | None = None,
    before_forward: Callable[[], None] | None = None,
    forward_builder: Callable | None = None,
) -> dict:
    """Time one (workload, mode) of a torch framework and print its JSON record.

    ``scale`` multiplies named initial weights (e.g. Norse's ×10 for its input scaling by dt/τ);
    ``before_forward`` runs before every forward pass (e.g. SpikingJelly's ``reset_net``).
    """
    _threads()
    params, data = _params(args.workload, scale or {})
    build = forward_builder or build_forward
    forward = build(args.workload, neurons(args.workload), params, data)
    reset = before_forward or (lambda: None)

    with torch.no_grad():
        reset()
        loss0_probe, rate1 = forward()
    rate1 = float(rate1)

    if args.mode == "fwd":

        def call():
            with torch.no_grad():
                reset()
                return float(forward()[0].detach())

    elif args.workload == "lif_layer":

        def call():
            for p in params.values():
                p.grad = None
            reset()
            loss = forward()[0]
            loss.backward()
            return float(loss.detach())

    else:
        optimizer = torch.optim.Adam(list(params.values()), lr=LR)

        def call():
            optimizer.zero_grad(set_to_none=True)
            reset()
            loss = forward()[0]
            loss.backward()
            optimizer.step()
            return float(loss.detach())

    timing = time_calls(call, warmup=args.warmup, repeats=args.repeats)
    return report(
        framework=framework,
        version=version,
        workload=args.workload,
        mode=args.mode,
        timing=timing,
        compile_s=None,
        loss0=float(timing["first_result"]),
        rate1=rate1,
        deviation=deviation,
        extra={
            "probe_loss0": float(loss0_probe),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
    )
