#!/usr/bin/env bash
# Create .venv-bench: spikejax plus the peer frameworks (snnTorch, SpikingJelly, Norse, Spyx) on a
# CPU-only torch, for benchmarks/run_all.py. One command, from the repository root:
#
#     bash benchmarks/setup_env.sh
#
# torch is pinned to the CPU wheel (torch==2.13.0+cpu); the install stops if pip would fetch any
# CUDA package. torchvision/torchaudio are not installed: SpikingJelly and Norse list them as
# requirements but their neuron and layer modules do not import them, so both are installed with
# --no-deps plus the light dependencies those modules do import. jax/jaxlib/flax are held at the
# versions spikejax uses (constraints file), so Spyx runs on the same jax as spikejax.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv-bench
PY="${PYTHON:-python3}"
TORCH_VERSION=2.13.0

test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. torch: check first that the wheel pip picks is a CPU build, then install it.
"${PIP[@]}" download --quiet --no-deps "torch==$TORCH_VERSION" -d "$tmp/torch"
wheel=$(ls "$tmp/torch")
case "$wheel" in
  *+cpu*) echo "torch wheel: $wheel" ;;
  *) echo "setup_env.sh: refusing to install $wheel (not a +cpu build)" >&2; exit 1 ;;
esac

# Constraints shared by every install below: same jax stack as spikejax, CPU torch only.
jax_version=$(.venv/bin/python -c "import jax; print(jax.__version__)" 2>/dev/null || echo 0.10.2)
flax_version=$(.venv/bin/python -c "import flax; print(flax.__version__)" 2>/dev/null || echo 0.12.8)
cat > "$tmp/constraints.txt" <<CONS
torch==$TORCH_VERSION
jax==$jax_version
jaxlib==$jax_version
flax==$flax_version
CONS
PIP_C=("${PIP[@]}" install --quiet -c "$tmp/constraints.txt")

"${PIP_C[@]}" "$tmp/torch/$wheel"
"${PIP_C[@]}" -e . matplotlib psutil

# 2. peers.
"${PIP_C[@]}" snntorch
"${PIP_C[@]}" --no-deps spikingjelly
"${PIP_C[@]}" h5py "loguru>=0.7,<1" packaging requests scipy tqdm
"${PIP_C[@]}" --no-deps norse
"${PIP_C[@]}" nir nirtorch
"${PIP_C[@]}" spyx

# 3. no CUDA package may have slipped in.
if "$VENV/bin/python" -m pip list 2>/dev/null | grep -i -E '^(nvidia-|triton|cuda)'; then
  echo "setup_env.sh: CUDA packages were installed (listed above)" >&2
  exit 1
fi
"$VENV/bin/python" - <<'PY'
import importlib
import importlib.metadata

for name in ("torch", "jax", "spikejax", "snntorch", "spikingjelly", "norse", "spyx"):
    try:
        importlib.import_module(name)
        print(f"{name:13s} {importlib.metadata.version(name)}")
    except Exception as error:  # report and continue: run_all.py skips missing peers
        print(f"{name:13s} NOT IMPORTABLE: {error!r}")
PY
