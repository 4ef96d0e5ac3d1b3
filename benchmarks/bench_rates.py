"""Time the SM + EM event counts of every catalogue setup: JAX engine vs NumPy reference.

Side by side in one run, same machine, same node counts. JAX compile time is measured
separately (first call) from the steady state (median of repeated calls with new
parameter values, each ended by ``block_until_ready``). Writes JSON naming the device,
the jax version and the dtype.

    python benchmarks/bench_rates.py [--repeat 5] [--nodes 48] [--output bench_rates.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

from cevns_jax import reference  # noqa: E402
from cevns_jax.experiments import build_experiment, get_config, list_experiments  # noqa: E402
from cevns_jax.quadrature import QuadratureConfig  # noqa: E402
from cevns_jax.rates import binned_templates  # noqa: E402


def time_jax(experiment, quad, repeat):
    fn = jax.jit(lambda p: binned_templates(experiment, p, quad))
    start = time.perf_counter()
    nominal = jax.block_until_ready(fn({"radius_scale": jnp.asarray(1.0)}))
    compile_s = time.perf_counter() - start
    runs = []
    for i in range(repeat):
        params = {"radius_scale": jnp.asarray(1.0 + 1e-3 * (i + 1))}  # new values, no retrace
        start = time.perf_counter()
        jax.block_until_ready(fn(params))
        runs.append(time.perf_counter() - start)
    return compile_s, statistics.median(runs), nominal


def time_numpy(config, nodes, repeat):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = reference.expected_counts(config, method="fixed", n_nodes=nodes)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=48)
    parser.add_argument("--output", default="bench_rates.json")
    args = parser.parse_args(argv)
    quad = QuadratureConfig(args.nodes, args.nodes)
    device = jax.devices()[0]
    rows = []
    for name, setup in list_experiments():
        config = get_config(name, setup)
        experiment = build_experiment(config)
        compile_s, jax_s, tpl = time_jax(experiment, quad, args.repeat)
        numpy_s, ref = time_numpy(config, args.nodes, args.repeat)
        jax_sm = float(tpl.sm.sum())
        ref_sm = sum(v[0] for v in ref.values())
        rows.append({"experiment": name, "setup": setup, "jax_compile_s": compile_s,
                     "jax_run_s": jax_s, "numpy_run_s": numpy_s, "speedup": numpy_s / jax_s,
                     "n_sm_jax": jax_sm, "n_sm_numpy": ref_sm,
                     "rel_diff": abs(jax_sm - ref_sm) / ref_sm})
        print(f"{name:<14} {setup:<8} compile {compile_s:7.3f} s  jax {1e3 * jax_s:8.3f} ms  "
              f"numpy {1e3 * numpy_s:8.3f} ms  x{numpy_s / jax_s:6.1f}  "
              f"rel.diff {rows[-1]['rel_diff']:.1e}")
    total_jax = sum(r["jax_run_s"] for r in rows)
    total_np = sum(r["numpy_run_s"] for r in rows)
    report = {
        "benchmark": "SM+EM counts of every catalogue setup",
        "device": f"{device.platform}:{device.device_kind}",
        "host": platform.processor() or platform.machine(), "cpu_count": __import__("os").cpu_count(),
        "jax_version": jax.__version__, "dtype": "float64", "nodes": args.nodes,
        "repeat": args.repeat, "rows": rows,
        "total_jax_run_s": total_jax, "total_numpy_run_s": total_np,
        "total_speedup": total_np / total_jax,
        "total_jax_compile_s": sum(r["jax_compile_s"] for r in rows),
    }
    with open(args.output, "w") as handle:
        json.dump(report, handle, indent=2)
    print(f"\nall setups: jax {total_jax * 1e3:.1f} ms, numpy {total_np * 1e3:.1f} ms, "
          f"speedup x{total_np / total_jax:.1f} on {report['device']} (jax {jax.__version__}); "
          f"compile {report['total_jax_compile_s']:.1f} s; wrote {args.output}")


if __name__ == "__main__":
    main()
