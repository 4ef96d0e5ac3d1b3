#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU and JAX with CUDA installed (the
# project's device machine has both; the package runs from the checkout, nothing to install):
# the GPU-against-CPU tests (tests/test_gpu.py), then the benchmarks on the GPU. Results go
# to $OUT when set (the device tool's folder), else benchmarks/results/. A failing step does
# not stop the next one. About 8 minutes on one H200.
#   bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 JAX_PLATFORMS=cuda,cpu
python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
python3 -m pytest -m gpu -o addopts="" -q -rs tests/test_gpu.py 2>&1 | tee "$out/gpu_tests.log"
python3 benchmarks/bench_limits.py --device gpu --output "$out/bench_limits_gpu.json"
python3 benchmarks/bench_toys.py --device gpu --toys 4096 --scipy-toys 8 \
    --output "$out/bench_toys_gpu.json"
python3 benchmarks/bench_rates.py --output "$out/bench_rates_gpu.json"
python3 benchmarks/bench_scan.py --device gpu --numpy-max-points 1000000 \
    --output "$out/bench_scan_gpu.json"
