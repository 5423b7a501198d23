"""The compiled steps of a population (`spikejax.train.fit_population`): the members'
train and evaluation steps ``vmap``-ed over the population axis, and its data streams."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from flax import nnx

from spikejax._errors import check_finite
from spikejax.data import Loader
from spikejax.layers import check_params
from spikejax.train._rundir import abstract, restore_into, saveable

__all__ = ["Population", "best_checkpoints", "member_state", "stack"]


def stack(trees: list[Any]) -> Any:
    """The trees of the members stacked along a new leading (population) axis."""
    return jax.tree.map(lambda *a: jnp.stack(a), *trees)


def member_state(state: Any, m: int) -> Any:
    """Member ``m``'s slice of a stacked tree."""
    return jax.tree.map(lambda a: a[m], state)


class Population:
    """The compiled population steps and the data streams of a list of members."""

    def __init__(self, members: list[Any], devices: int):
        first = members[0]
        self.members, self.steps = members, first.steps
        self.stream_of = jnp.asarray([m.stream for m in members], jnp.int32)
        self.train_keys = jnp.stack([m.steps.train_key for m in members])
        self.eval_keys = jnp.stack([m.steps.eval_key for m in members])
        self.schedules = [m.steps.schedule for m in members]
        self.traces = {"train": 0, "eval": 0}
        self.sharding = None
        if devices > 1:
            mesh = jax.make_mesh(
                (devices,),
                ("population",),
                devices=jax.devices()[:devices],
                axis_types=(jax.sharding.AxisType.Auto,),
            )
            self.sharding = jax.NamedSharding(mesh, jax.sharding.PartitionSpec("population"))
        self.train_step = jax.jit(self._train_step, donate_argnums=0)
        self.eval_step = jax.jit(self._eval_step)

    def place(self, tree: Any) -> Any:
        """``tree`` (population axis first) split across the devices, if several."""
        return tree if self.sharding is None else jax.device_put(tree, self.sharding)

    def _gather(self, batches: jax.Array) -> jax.Array:
        x = batches[self.stream_of]  # [streams, B, ...] -> [members, B, ...]
        if self.sharding is not None:
            x = jax.lax.with_sharding_constraint(x, self.sharding)
        return x

    def _train_step(self, state, xs, ys, step):
        self.traces["train"] += 1
        keys = jax.vmap(jr.fold_in, (0, None))(self.train_keys, step)
        with jax.numpy_dtype_promotion("standard"):
            lrs = jnp.stack([jnp.asarray(s(step), jnp.float32) for s in self.schedules])
        return jax.vmap(self.steps.train_fn)(state, self._gather(xs), self._gather(ys), keys, lrs)

    def _eval_step(self, model_state, xs, ys, masks, index):
        self.traces["eval"] += 1
        keys = jax.vmap(jr.fold_in, (0, None))(self.eval_keys, index)
        args = (self._gather(xs), self._gather(ys), self._gather(masks))
        return jax.vmap(self.steps.eval_fn)(model_state, *args, keys)

    def streams(self) -> list[Any]:
        """One member per data stream, in stream order."""
        first: dict[int, Any] = {}
        for m in self.members:
            first.setdefault(m.stream, m)
        return [first[s] for s in sorted(first)]

    def evaluate(self, model_state: Any, split: str) -> list[dict[str, float]]:
        """Every member's accuracy, loss and firing rates on its own ``split`` (the arithmetic of
        `spikejax.train.evaluate` per member)."""
        loaders = [
            Loader(
                getattr(m.splits, split),
                m.config.train.eval_batch_size,
                shuffle=False,
                last_batch="pad",
                prefetch=m.config.data.prefetch,
                name=f"{split} split",
            )
            for m in self.streams()
        ]
        totals: dict[str, Any] = {}
        for index, batches in enumerate(zip(*loaders, strict=True)):
            xs = np.stack([b.x for b in batches])
            ys = np.stack([b.y.astype(np.int32) for b in batches])
            masks = np.stack([b.mask for b in batches])
            sums, _ = self.eval_step(model_state, xs, ys, masks, jnp.int32(index))
            totals = sums if not totals else {k: totals[k] + v for k, v in sums.items()}
        host = jax.device_get(totals)
        out = []
        for m in range(len(self.members)):
            values = {k: float(v[m]) for k, v in host.items()}
            count = values.pop("count")
            metrics = {
                "accuracy": values.pop("correct") / count,
                "loss": values.pop("loss") / count,
            }
            metrics.update({k: v / count for k, v in values.items()})
            out.append(metrics)
        return out


def best_checkpoints(
    pop, members, checkpointers, state, last_eval, step, has_val
) -> list[dict | None]:
    """Each member's best checkpoint and its test evaluation (one population evaluation of the
    best states; members whose best is the final model keep the final evaluation)."""
    if not has_val:
        return [None] * len(members)
    best_steps = [c.best_step() if c.exists("best") else None for c in checkpointers]
    states, restored = [], False
    for m, (member, best_step) in enumerate(zip(members, best_steps, strict=True)):
        one = member_state(state, m)
        if best_step is not None and best_step != step:
            like = jax.tree.map(lambda a: a, one)
            _, tree, _ = checkpointers[m].restore("best", target=abstract(saveable(like)))
            one = restore_into(like, tree)
            check_finite(
                "fit_population",
                f"checkpoint['best'] of member {m}",
                nnx.to_pure_dict(one["model"]),
            )
            check_params(
                member.steps.eval_model(one["model"]),
                fn="fit_population",
                where="checkpoint['best']",
            )
            restored = True
        # On one device, whether restored or a slice of the (maybe sharded) population state.
        states.append(jax.tree.map(lambda a: jax.device_put(a, jax.devices()[0]), one))
    tests = pop.evaluate(pop.place(stack(states))["model"], "test") if restored else None
    out: list[dict | None] = []
    for m, best_step in enumerate(best_steps):
        if best_step is None:
            out.append(None)
            continue
        test = last_eval[m]["test"] if best_step == step else tests[m]
        out.append({"step": best_step, "val": checkpointers[m].metrics("best"), "test": test})
    return out
