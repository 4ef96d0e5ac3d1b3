"""Benchmark TMM scans: JAX (cevns_jax.inference.scan) vs vectorised NumPy, side by side.

One command, JSON + markdown table naming the device, jax version and dtype (float64):

* template path: points/s of a 6-D TMM grid (|Lambda_1..3|, xi_1, xi_3, delta_CP) over the
  combination of the four current SNS detectors and five current reactor experiments, at
  1e4, 1e6 and 1e8 points, every single-axis profile and every 2-D map reduced on the fly;
  each size and implementation runs in a fresh subprocess, which also gives the peak host
  memory (max RSS) versus grid size; JAX compile time is reported separately;
* full path: spectra/s (one spectrum = one experiment's SM + EM templates at one point) with
  sin^2 theta_W varied per point, JAX vmapped quadrature vs a NumPy loop over points calling
  ``cevns_jax.reference.expected_counts(config, method="fixed")`` on a modified config.

    python benchmarks/bench_scan.py                       # CPU, sizes 1e4 1e6 1e8
    python benchmarks/bench_scan.py --max-points 1e6      # quick
    python benchmarks/bench_scan.py --device gpu          # on a GPU machine (jax[cuda])

NumPy at sizes above ``--numpy-max-points`` is timed on a prefix of the grid (rows of the
leading axes) and reported as such (``numpy_points_timed``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SNS = ["COHERENT-CsI", "COHERENT-HPGe", "COHERENT-LAr", "COHERENT-NaI"]
REACTORS = ["CONUS", "CONNIE", "MINER", "TEXONO", "RED100"]
COMBINATION = [f"{n}:current" for n in SNS + REACTORS]
SHAPES = {10**4: (5, 5, 5, 4, 4, 5), 10**6: (10,) * 6, 10**8: (20, 20, 25, 20, 25, 20)}


def _setup_jax(device):
    if device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
    elif device == "gpu":
        os.environ["JAX_PLATFORMS"] = "cuda"
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def _grid(size):
    import numpy as np

    from cevns_jax.inference.scan import make_grid

    shape = SHAPES[size]
    two_pi = 2 * np.pi
    return make_grid(lambda1=np.linspace(0, 3, shape[0]), lambda2=np.linspace(0, 3, shape[1]),
                     lambda3=np.linspace(0, 3, shape[2]),
                     xi1=np.linspace(0, two_pi, shape[3], endpoint=False),
                     xi3=np.linspace(0, two_pi, shape[4], endpoint=False),
                     delta_cp=np.linspace(0, two_pi, shape[5], endpoint=False))


def _model(template_file):
    import numpy as np

    from cevns_jax.inference.scan import build_scan_model

    with np.load(template_file) as data:
        templates = {k[:-3]: (data[k], data[k[:-3] + ":em"]) for k in data.files if k.endswith(":sm")}
    return build_scan_model(COMBINATION, templates=templates)


def worker(args):
    """One template-path run in this (fresh) process; prints a JSON line."""
    jax = _setup_jax(args.device)
    import numpy as np

    model = _model(args.templates)
    grid = _grid(args.size)
    out = {"impl": args.impl, "points": args.size}
    if args.impl == "jax":
        from cevns_jax.inference.scan import run_scan

        first = {}
        run_scan(model, grid, batch_size=args.batch_size, progress=False, timing=first)
        timing = {}  # steady state: the second run (first run: compile + one-time costs)
        res = run_scan(model, grid, batch_size=args.batch_size, progress=False, timing=timing)
        out.update(compile_s=first["compile_s"], first_run_s=first["run_s"],
                   run_s=timing["run_s"],
                   points_per_s=args.size / timing["run_s"], chi2_min=res.chi2_min,
                   rows_per_chunk=timing["rows_per_chunk"], n_devices=timing["n_devices"],
                   check=float(np.sum(np.where(np.isfinite(res.profile("lambda1", "lambda2")),
                                               res.profile("lambda1", "lambda2"), 0.0))))
    else:
        sys.path.insert(0, HERE)
        from numpy_scan import run_scan_numpy

        shape, inner = SHAPES[args.size], 1
        for n in reversed(shape):                 # the layout of run_scan (inner_max 2^16)
            if inner * n > 1 << 16:
                break
            inner *= n
        max_rows = None
        if args.size > args.numpy_max_points:
            max_rows = max(1, args.numpy_max_points // inner)
        if args.size <= 10**6:  # warm-up run, as for JAX (allocations, page faults)
            run_scan_numpy(model, grid, batch_size=args.batch_size, max_rows=max_rows)
        t0 = time.perf_counter()
        acc, chi2_min, rows = run_scan_numpy(model, grid, batch_size=args.batch_size,
                                             max_rows=max_rows)
        run_s = time.perf_counter() - t0
        timed = rows * inner
        out.update(run_s=run_s, points_per_s=timed / run_s, numpy_points_timed=timed,
                   chi2_min=chi2_min)
        if max_rows is None:
            from cevns_jax.inference.scan import run_scan

            ref = run_scan(model, grid, batch_size=args.batch_size, progress=False)
            out["max_abs_diff_vs_jax"] = max(
                float(np.max(np.abs(acc[k] - ref.reductions[k]))) for k in ref.reductions)
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out["device"] = str(jax.devices()[0])
    print("RESULT " + json.dumps(out))


def _run_worker(args, size, impl, template_file):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--impl", impl,
           "--size", str(size), "--templates", template_file, "--device", args.device,
           "--batch-size", str(args.batch_size), "--numpy-max-points", str(args.numpy_max_points)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"worker {impl} {size} failed:\n{proc.stderr[-3000:]}")


def full_path(args, jax):
    """Full-path throughput: JAX vmapped quadrature vs NumPy reference loop over points."""
    import copy

    import numpy as np

    from cevns_jax import reference
    from cevns_jax.experiments import get_config
    from cevns_jax.inference.scan import build_scan_model, evaluate_points
    from cevns_jax.quadrature import QuadratureConfig

    quad = QuadratureConfig(args.nodes, args.nodes)
    model = build_scan_model(COMBINATION, quad=quad)
    n = args.full_points
    rng = np.random.default_rng(0)
    pts = {"lambda1": rng.uniform(0, 3, n), "lambda2": rng.uniform(0, 3, n),
           "lambda3": rng.uniform(0, 3, n), "sin2_theta_w": rng.uniform(0.22, 0.24, n)}
    t0 = time.perf_counter()
    evaluate_points(model, {k: v[:args.full_batch] for k, v in pts.items()}, path="full",
                    batch_size=args.full_batch)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    evaluate_points(model, pts, path="full", batch_size=args.full_batch)
    jax_s = time.perf_counter() - t0
    n_exp = len(COMBINATION)
    configs = [get_config(*c.split(":")) for c in COMBINATION]
    m = args.full_numpy_points
    t0 = time.perf_counter()
    for i in range(m):
        for cfg in configs:
            c = copy.deepcopy(cfg)
            c.setdefault("physics", {})["sin2_theta_w"] = float(pts["sin2_theta_w"][i])
            reference.expected_counts(c, method="fixed", n_nodes=args.nodes)
    np_s = time.perf_counter() - t0
    jax_rate, np_rate = n * n_exp / jax_s, m * n_exp / np_s
    return {"points_jax": n, "points_numpy": m, "experiments": n_exp, "nodes": args.nodes,
            "jax_batch": args.full_batch, "jax_compile_s": compile_s,
            "jax_spectra_per_s": jax_rate, "numpy_spectra_per_s": np_rate,
            "speedup": jax_rate / np_rate}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    p.add_argument("--max-points", type=float, default=1e8)
    p.add_argument("--numpy-max-points", type=int, default=10**7)
    p.add_argument("--batch-size", type=int, default=1 << 20)
    p.add_argument("--full-points", type=int, default=64)
    p.add_argument("--full-batch", type=int, default=16)
    p.add_argument("--full-numpy-points", type=int, default=4)
    p.add_argument("--nodes", type=int, default=24, help="quadrature nodes of the full path")
    p.add_argument("--skip-full", action="store_true")
    p.add_argument("--output", default="bench_scan.json")
    # worker mode (internal)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--impl", choices=("jax", "numpy"), help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--templates", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    jax = _setup_jax(args.device)
    import numpy as np

    from cevns_jax.experiments import build_experiment, get_config
    from cevns_jax.rates import binned_templates

    device = jax.devices()[0]
    print(f"device {device} ({device.platform}, {len(jax.devices())} device(s)), "
          f"jax {jax.__version__}, float64", file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="bench_scan_")
    template_file = os.path.join(tmp, "templates.npz")
    arrays = {}
    for spec in COMBINATION:
        e = build_experiment(get_config(*spec.split(":")))
        tpl = jax.jit(lambda p, e=e: binned_templates(e, p))({})
        arrays[e.label + ":sm"], arrays[e.label + ":em"] = np.asarray(tpl.sm), np.asarray(tpl.em)
    np.savez(template_file, **arrays)

    rows = []
    for size in sorted(SHAPES):
        if size > args.max_points:
            continue
        j = _run_worker(args, size, "jax", template_file)
        n = _run_worker(args, size, "numpy", template_file)
        row = {"points": size, "shape": SHAPES[size], "jax": j, "numpy": n,
               "speedup": j["points_per_s"] / n["points_per_s"]}
        rows.append(row)
        print(f"template {size:>10.0e} pts: jax {j['points_per_s']:.3e} pt/s (compile "
              f"{j['compile_s']:.2f} s, rss {j['max_rss_mb']:.0f} MB)  numpy "
              f"{n['points_per_s']:.3e} pt/s (rss {n['max_rss_mb']:.0f} MB)  x{row['speedup']:.1f}",
              file=sys.stderr)
    full = None if args.skip_full else full_path(args, jax)
    if full:
        print(f"full path: jax {full['jax_spectra_per_s']:.1f} spectra/s, numpy "
              f"{full['numpy_spectra_per_s']:.2f} spectra/s, x{full['speedup']:.1f}", file=sys.stderr)
    report = {
        "benchmark": "TMM Delta chi^2 scans, 4 SNS + 5 reactor experiments (current)",
        "device": str(device), "platform": device.platform, "n_devices": len(jax.devices()),
        "device_kind": getattr(device, "device_kind", ""), "jax_version": jax.__version__,
        "numpy_version": np.__version__, "dtype": "float64", "cpu_count": os.cpu_count(),
        "machine": platform.platform(), "processor": platform.processor(),
        "template_path": rows, "full_path": full,
    }
    with open(args.output, "w") as fh:
        json.dump(report, fh, indent=1)
    md = [f"Device: {device} ({device.platform}), jax {jax.__version__}, float64, "
          f"{os.cpu_count()} CPU cores", "",
          "| grid points | JAX points/s | JAX compile [s] | JAX peak RSS [MB] | NumPy points/s "
          "| NumPy peak RSS [MB] | NumPy points timed | speed-up |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        j, n = r["jax"], r["numpy"]
        md.append(f"| {r['points']:.0e} | {j['points_per_s']:.3e} | {j['compile_s']:.2f} | "
                  f"{j['max_rss_mb']:.0f} | {n['points_per_s']:.3e} | {n['max_rss_mb']:.0f} | "
                  f"{n['numpy_points_timed']:.0e} | {r['speedup']:.1f} |")
    if full:
        md += ["", "| full path | JAX spectra/s | JAX compile [s] | NumPy loop spectra/s | speed-up |",
               "|---|---:|---:|---:|---:|",
               f"| {full['experiments']} experiments, sin2_theta_w per point, {full['nodes']} nodes "
               f"| {full['jax_spectra_per_s']:.1f} | {full['jax_compile_s']:.1f} | "
               f"{full['numpy_spectra_per_s']:.2f} | {full['speedup']:.1f} |"]
    md_text = "\n".join(md)
    with open(os.path.splitext(args.output)[0] + ".md", "w") as fh:
        fh.write(md_text + "\n")
    print(md_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
