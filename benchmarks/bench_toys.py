"""Profiled toy fits per second: the vmapped JAX toy engine against SciPy fits of the same toys.

Each toy is a Feldman-Cousins statistic t(x) = -2 ln L(x, nu_hat(x)) + 2 ln L(x_hat, nu_hat):
two profiled fits (nuisances at the tested moment, and moment + nuisances). The JAX engine
(:func:`cevns_jax.inference.toys.toy_statistics`) draws and fits a whole batch in one
jit-compiled ``vmap``; the reference draws the same toys with NumPy and fits them one at a time
with ``scipy.optimize.minimize`` (L-BFGS-B, bounds from the nuisances, the moment >= 0) on
the same likelihood, jit-compiled once for its value and gradient. Compile time is reported
apart; steady-state times end with ``block_until_ready``. Writes JSON naming the machine,
device, jax version and dtype.

    python benchmarks/bench_toys.py [--toys 1024] [--scipy-toys 32] [--device cpu|gpu]
        [--models coherent_csi2021 combined] [--output benchmarks/results/bench_toys_cpu.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy import optimize  # noqa: E402

from cevns_jax.inference import toys  # noqa: E402
from cevns_jax.inference.profile_likelihood import upper_limit  # noqa: E402
from cevns_jax.likelihood.physics_model import FlavourMoments, channel_mu2s  # noqa: E402
from cevns_jax.results import global_fit  # noqa: E402

PARAMETER = "mu_mu"


def build(name):
    if name == "combined":
        return global_fit.combined_measurement(global_fit.measurements(quick=True))
    return global_fit.measurements([name], quick=True)[name].prefixed(name)


def time_jax(measurement, x_test, n_toys, key):
    model = FlavourMoments()
    run = lambda idx: toys.toy_statistics(measurement, model, PARAMETER, x_test, idx, key,
                                          batch_size=n_toys, n_steps=20)
    start = time.perf_counter()
    run(np.arange(n_toys))
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    values = run(np.arange(n_toys, 2 * n_toys))          # new toys, same compiled kernel
    return compile_s, n_toys / (time.perf_counter() - start), values


def time_scipy(measurement, x_test, n_toys, seed):
    """One toy at a time: NumPy draws, two L-BFGS-B fits on the jitted likelihood."""
    model = FlavourMoments()
    names = measurement.profiled_names
    nuis = {n.name: n for n in measurement.nuisances}
    bounds = [(max(nuis[k].lower, -1e6), min(nuis[k].upper, 1e6)) for k in names]

    def nll(vec, observed, x):
        toy = measurement.with_observed(observed)
        nu = dict(toy.nominal_nuisances())
        nu.update({k: vec[i] for i, k in enumerate(names)})
        return toy.twice_nll(channel_mu2s(toy, model, {PARAMETER: x}), nu)

    value_grad = jax.jit(jax.value_and_grad(nll, argnums=(0, 2)))
    theta0 = {PARAMETER: x_test}
    expected = [np.asarray(e) for e in measurement.expected(channel_mu2s(measurement, model,
                                                                         theta0))]
    rng = np.random.default_rng(seed)
    x0 = np.array([nuis[k].nominal for k in names])

    def fits(observed):
        def f_fixed(v):
            value, (g_nu, _) = value_grad(v, observed, x_test)
            return float(value), np.asarray(g_nu)

        fixed = optimize.minimize(f_fixed, x0, jac=True, method="L-BFGS-B", bounds=bounds)

        def f_free(z):
            value, (g_nu, g_x) = value_grad(z[:-1], observed, z[-1])
            return float(value), np.append(np.asarray(g_nu), float(g_x))

        free = optimize.minimize(f_free, np.append(x0, x_test), jac=True, method="L-BFGS-B",
                                 bounds=bounds + [(0.0, 10 * x_test)])
        return fixed.fun - min(free.fun, fixed.fun)

    draws = lambda: [rng.poisson(e).astype(float) for e in expected]
    start = time.perf_counter()
    fits(draws())                                        # compiles value_grad
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    values = [fits(draws()) for _ in range(n_toys)]
    return compile_s, n_toys / (time.perf_counter() - start), np.array(values)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", type=int, default=1024)
    parser.add_argument("--scipy-toys", type=int, default=32)
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--models", nargs="+", default=["coherent_csi2021", "combined"])
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    device = jax.devices(args.device)[0]
    out = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
           "device": str(device), "jax": jax.__version__, "dtype": "float64", "models": {}}
    with jax.default_device(device):
        for name in args.models:
            m = build(name)
            x_test = upper_limit(m, FlavourMoments(), PARAMETER).value
            jc, jrate, jt = time_jax(m, x_test, args.toys, jax.random.PRNGKey(0))
            sc, srate, st = time_scipy(m, x_test, args.scipy_toys, 0)
            row = {"tested_" + PARAMETER: x_test, "n_bins": int(sum(c.observed.size
                                                                    for c in m.channels)),
                   "n_nuisances": len(m.profiled_names),
                   "jax_compile_s": jc, "jax_toys_per_s": jrate, "jax_toys": args.toys,
                   "scipy_compile_s": sc, "scipy_toys_per_s": srate, "scipy_toys": args.scipy_toys,
                   "speedup": jrate / srate,
                   "t_quantile_90": {"jax": float(np.quantile(jt, 0.9)),
                                     "scipy": float(np.quantile(st, 0.9))}}
            out["models"][name] = row
            print(f"{name}: {row['n_bins']} bins, {row['n_nuisances']} nuisances | JAX "
                  f"{jrate:.1f} toys/s (compile {jc:.1f} s) | SciPy {srate:.2f} toys/s | "
                  f"x{row['speedup']:.1f}", flush=True)
    path = args.output or f"benchmarks/results/bench_toys_{args.device}.json"
    with open(path, "w") as handle:
        json.dump(out, handle, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
