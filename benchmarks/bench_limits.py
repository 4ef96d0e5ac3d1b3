"""Seconds per 90% C.L. upper limit: the batched search against one point at a time and SciPy.

For each measurement, the limit on one moment (others 0, Delta(-2 ln L) = 2.71, nuisances
profiled) by :func:`cevns_jax.inference.profile_grid.upper_limits` with ``chunk=64`` (coarse
scan and multisection, 64 points per compiled call) and with ``chunk=1`` (Brent minimum,
Illinois regula falsi), beside a SciPy reference on the same compiled one-point kernel (16-point
grid, ``minimize_scalar`` where the minimum is inside, ``brentq`` on the crossing). Compile
time (first call) is reported apart; the steady-state time is the median of ``--repeat``
further calls, each ending in NumPy values (the results are on the host, so every call has
finished). The SciPy reference shares the one-point kernel, so its first call compiles nothing.
Writes JSON naming the machine, device, jax version and dtype.

    python benchmarks/bench_limits.py [--device cpu|gpu] [--repeat 3]
        [--output benchmarks/results/bench_limits_cpu.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from scipy import optimize  # noqa: E402

from cevns_jax.analyses import coherent_csi2021  # noqa: E402
from cevns_jax.inference.profile_grid import evaluate_points, upper_limits  # noqa: E402
from cevns_jax.likelihood.physics_model import FlavourMoments  # noqa: E402
from cevns_jax.papers import paper000  # noqa: E402

UPPER = 500.0


def cases():
    """(label, measurement, model, parameter): one count (paper 000 Eq. 35, its mixing with
    delta_CP = 0: Table II's full-beam row) and the CsI 2021 time-energy likelihood (flux
    profiled)."""
    options = paper000.Paper000Options()
    lar = paper000.experiment_counts("COHERENT-LAr", "current", options)
    return [("paper000 LAr current, Eq. 35 (1 count)",
             paper000.measurement(lar, "SNS full", options), paper000.model(options), "lambda1"),
            ("COHERENT CsI 2021, PE x time (flux profiled)",
             coherent_csi2021.build("moments"), FlavourMoments(), "mu_mu")]


def scipy_limit(measurement, model, name):
    """Grid, bounded minimum, Brent crossing on the one-point profiled -2 ln L."""
    f = lambda x: float(evaluate_points(measurement, model, {name: x}, chunk=1)[0])
    xs = np.concatenate([[0.0], np.geomspace(1e-3, 1.0, 15) * UPPER])
    values = np.array([f(x) for x in xs])
    i = int(np.argmin(values))
    x_min, f_min = xs[i], values[i]
    if 0 < i < xs.size - 1:
        res = optimize.minimize_scalar(f, bounds=(xs[i - 1], xs[i + 1]), method="bounded",
                                       options={"xatol": 1e-6 * xs[i + 1]})
        x_min, f_min = res.x, min(res.fun, f_min)
    j = int(np.argmax((xs > x_min) & (values - f_min >= 2.71)))
    return optimize.brentq(lambda x: f(x) - f_min - 2.71, max(xs[j - 1], x_min), xs[j],
                           rtol=1e-10)


def timed(run, repeat):
    start = time.perf_counter()
    value = run()
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return compile_s, statistics.median(times), value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    device = jax.devices(args.device)[0]
    out = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
           "device": str(device), "jax": jax.__version__, "dtype": "float64", "cases": {}}
    with jax.default_device(device):
        for label, m, model, name in cases():
            row = {"parameter": name, "n_bins": int(sum(c.observed.size for c in m.channels)),
                   "n_nuisances": len(m.profiled_names)}
            for key, run in (
                    ("batched_chunk64", lambda: upper_limits(m, model, [name], upper=UPPER,
                                                             rtol=1e-10)[name].value),
                    ("one_point_chunk1", lambda: upper_limits(m, model, [name], upper=UPPER,
                                                              rtol=1e-10, chunk=1,
                                                              n_coarse=16)[name].value),
                    ("scipy_brent", lambda: scipy_limit(m, model, name))):
                compile_s, run_s, value = timed(run, args.repeat)
                row[key] = {"limit": value, "first_call_s": compile_s, "steady_s": run_s}
            out["cases"][label] = row
            print(f"{label}: " + " | ".join(
                f"{k} {row[k]['limit']:.8g} in {row[k]['steady_s']:.3f} s "
                f"(first {row[k]['first_call_s']:.2f} s)"
                for k in ("batched_chunk64", "one_point_chunk1", "scipy_brent")), flush=True)
    path = args.output or f"benchmarks/results/bench_limits_{args.device}.json"
    with open(path, "w") as handle:
        json.dump(out, handle, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
