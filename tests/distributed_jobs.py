"""Training jobs that need their own process: JAX reads the device count
(``XLA_FLAGS=--xla_force_host_platform_device_count=N``) and joins a multi-process run only once,
before it starts. `tests.test_distributed_training` runs them with ``python -m
tests.distributed_jobs <job> <out>`` and checks what they leave in ``<out>``.

Jobs:
    mesh OUT    on 8 CPU devices: a tiny run on 8 devices (``OUT/eight``), the same run stopped
                after step 3 and resumed (``OUT/resumed``), and the errors of batches that do not
                divide across the mesh (``OUT/errors.json``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig

MLP = "spikejax.models._small:LIFMLP"


def tiny(**train) -> Config:
    """96 training digits, 64 -> 8 LIF (dropout) -> 10, T = 2, Poisson inputs: 6 steps of 16."""
    options = {
        "epochs": 1,
        "batch_size": 16,
        "num_steps": 2,
        "log_every": 1,
        "eval_every": 2,
        "checkpoint_every": 2,
        "eval_batch_size": 32,
        "max_steps": 4,
        **train,
    }
    return Config(
        name="tiny",
        data=DataConfig("digits", limit=96, prefetch=0, val_fraction=0.0, encoding="poisson"),
        model=ModelConfig(
            MLP, {"in_features": 64, "hidden": (8,), "num_classes": 10, "dropout": 0.2}
        ),
        optimizer=OptimizerConfig("adam", lr=1e-2),
        train=TrainConfig(**options),
    )


def _mesh(out: Path) -> None:
    import jax

    from spikejax.train import _loop
    from spikejax.train._loop import fit

    assert jax.device_count() == 8, jax.devices()
    errors = {}
    for key, train in (
        ("batch_size", {"batch_size": 12}),
        ("eval_batch_size", {"eval_batch_size": 20}),
    ):
        try:
            fit(tiny(devices=8, **train), out / f"bad_{key}", progress=False, plots=False)
        except ValueError as error:
            errors[key] = str(error)
    (out / "errors.json").write_text(json.dumps(errors))

    fit(tiny(devices=8), out / "eight", progress=False, plots=False)

    class Crash(Exception):
        pass

    class StopAtThree(_loop.ProgressBar):
        def update(self, n=1, **postfix):
            super().update(n, **postfix)
            if self.n == 3:
                raise Crash

    plain = _loop.ProgressBar
    _loop.ProgressBar = StopAtThree
    try:
        fit(tiny(devices=8), out / "resumed", progress=False, plots=False)
    except Crash:
        pass
    finally:
        _loop.ProgressBar = plain
    summary = fit(tiny(devices=8), out / "resumed", resume=True, progress=False, plots=False)
    assert summary["resumed_from"] == 2, summary["resumed_from"]


def main(argv: list[str]) -> None:
    job, out = argv
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    {"mesh": _mesh}[job](out)


if __name__ == "__main__":
    main(sys.argv[1:])
