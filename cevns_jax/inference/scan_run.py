"""The jitted drivers of parameter-space scans: grid layout, compiled chunk kernels,
:func:`run_scan` (chunked, sharded, checkpointed, locked output folder) and
:func:`evaluate_points`. The model and its chi^2 are in :mod:`cevns_jax.inference.scan`,
which re-exports these names.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..precision import require_x64
from . import scan_io
from .scan_model import (NUISANCE_AXES, TMM_AXES, ScanModel, _basis, _chi2_from_mu2,
                   _full_chi2_point, _template_chi2_point)
from .scan_io import AXIS_UNITS, ScanResult


@dataclass(frozen=True)
class _Layout:
    names: tuple
    shape: tuple
    n_inner_axes: int

    @property
    def outer_shape(self):
        return self.shape[:len(self.shape) - self.n_inner_axes]

    @property
    def inner_shape(self):
        return self.shape[len(self.shape) - self.n_inner_axes:]

    @property
    def n_rows(self):
        return int(np.prod(self.outer_shape, dtype=np.int64))

    @property
    def inner_size(self):
        return int(np.prod(self.inner_shape, dtype=np.int64))


def _choose_layout(grid, inner_max, path):
    """Inner block = the trailing axes whose product is <= ``inner_max`` (template path).

    The layout depends on the grid only, never on the batch size: the per-point arithmetic is
    then the same compiled loop whatever the chunking or sharding, so results are bitwise
    identical (a different broadcast layout may round differently, e.g. through FMA use)."""
    names, shape = tuple(grid), tuple(len(v) for v in grid.values())
    k = 0
    if path == "template":
        size = 1
        while k < len(shape) and size * shape[-1 - k] <= inner_max:
            size *= shape[-1 - k]
            k += 1
    return _Layout(names, shape, k)


def _normalise_keep(keep, names):
    if keep is None:
        singles = [(n,) for n in names]
        pairs = list(itertools.combinations(names, 2))
        keep = singles + pairs
    out = []
    for k in keep:
        k = (k,) if isinstance(k, str) else tuple(k)
        unknown = [n for n in k if n not in names]
        if unknown or not k:
            raise ValueError(f"keep entry {k}: unknown axes {unknown}; axes are {names}")
        ordered = tuple(n for n in names if n in k)
        if ordered not in out:
            out.append(ordered)
    return out


def _make_block(model, layout, keeps, path, store_values):
    """The chunk kernel: rows (r,) -> dict of chunk reductions (and values)."""
    names, n_inner = layout.names, layout.n_inner_axes
    outer_names = names[:len(names) - n_inner]
    inner_names = names[len(names) - n_inner:]
    outer_shape, inner_shape, n_rows = layout.outer_shape, layout.inner_shape, layout.n_rows
    nd = 1 + n_inner

    def place(name, table, idx):
        """Broadcastable view of an axis table (n, *extra) for the (r, *inner) block."""
        extra = table.shape[1:]
        if name in outer_names:
            v = table[idx[outer_names.index(name)]]
            return v.reshape((v.shape[0],) + (1,) * n_inner + extra)
        j = inner_names.index(name)
        shape = [1] * nd
        shape[1 + j] = table.shape[0]
        return table.reshape(tuple(shape) + extra)

    def values(rows, tables):
        """chi^2 of the (rows, *inner) block; rows past the grid give +inf."""
        valid = rows < n_rows
        rows_c = jnp.where(valid, rows, 0)
        idx = jnp.unravel_index(rows_c, outer_shape) if outer_names else ()
        if path == "template":
            m1, m2, m3 = (place(n, tables[n], idx) for n in ("lambda1", "lambda2", "lambda3"))
            c1, s1 = place("xi1", tables["cos_xi1"], idx), place("xi1", tables["sin_xi1"], idx)
            c3, s3 = place("xi3", tables["cos_xi3"], idx), place("xi3", tables["sin_xi3"], idx)
            coef = place("delta_cp", tables["coef"], idx)      # (..., n_groups, 9)
            basis = _basis(m1, m2, m3, c1, s1, c3, s3)
            mu2 = [sum(coef[..., g, k] * b for k, b in enumerate(basis))
                   for g in range(len(model.groups))]
            chi2 = _chi2_from_mu2(model, mu2)
            chi2 = jnp.broadcast_to(chi2, (rows.shape[0],) + inner_shape)
        else:
            v = {n: tables[n][idx[i]] for i, n in enumerate(outer_names)}
            chi2 = jax.vmap(lambda p: _full_chi2_point(model, p))(v)
        return jnp.where(valid.reshape((-1,) + (1,) * n_inner), chi2, jnp.inf), idx, valid

    def block(rows, tables):
        chi2, idx, valid = values(rows, tables)
        rows_c = jnp.where(valid, rows, 0)
        out = {}
        for keep in keeps:
            red_inner = tuple(1 + j for j, n in enumerate(inner_names) if n not in keep)
            x = jnp.min(chi2, axis=red_inner) if red_inner else chi2
            keep_outer = [n for n in outer_names if n in keep]
            if keep_outer:
                dims = tuple(outer_shape[outer_names.index(n)] for n in keep_outer)
                seg = jnp.ravel_multi_index(tuple(idx[outer_names.index(n)] for n in keep_outer),
                                            dims, mode="clip")
                nseg = int(np.prod(dims))
                seg = jnp.where(valid, seg, nseg)          # out of range: dropped
                x = jax.ops.segment_min(x, seg, num_segments=nseg)
                x = x.reshape(dims + x.shape[1:])
            else:
                x = jnp.min(x, axis=0)
            out[scan_io.reduction_key(keep)] = x
        # best point: a plain min per row, then an argmin over the rows and one over the best
        # row's block, recomputed (an argmin over the whole chunk is a slow variadic
        # reduction on CPU, and reading chi2 back would keep it from fusing)
        best_row = jnp.argmin(jnp.min(chi2.reshape(chi2.shape[0], -1), axis=1))
        if store_values:  # chi2 is written out anyway: read the best row back
            best_values = chi2[best_row].reshape(-1)
        else:
            best_values = values(rows[best_row][None], tables)[0].reshape(-1)
        best_inner = jnp.argmin(best_values)
        out["chi2_min"] = best_values[best_inner]
        out["argmin"] = rows_c[best_row] * layout.inner_size + best_inner
        if store_values:
            out["values"] = chi2
        return out

    return block


def _tables(model, grid, path):
    t = {n: jnp.asarray(v) for n, v in grid.items()}
    if path == "template":
        t["cos_xi1"], t["sin_xi1"] = jnp.cos(t["xi1"]), jnp.sin(t["xi1"])
        t["cos_xi3"], t["sin_xi3"] = jnp.cos(t["xi3"]), jnp.sin(t["xi3"])
        t["coef"] = jax.jit(model.coefficients)(t["delta_cp"])
        t = {k: t[k] for k in ("lambda1", "lambda2", "lambda3", "cos_xi1", "sin_xi1", "cos_xi3",
                               "sin_xi3", "coef")}
    return t


def _mesh(devices):
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = list(devices if devices is not None else jax.devices())
    mesh = Mesh(np.array(devices), ("batch",))
    return NamedSharding(mesh, PartitionSpec("batch")), NamedSharding(mesh, PartitionSpec()), len(devices)


def _merge(acc, chunk, keeps):
    for keep in keeps:
        key = scan_io.reduction_key(keep)
        np.minimum(acc[key], chunk[key], out=acc[key])
    m = float(chunk["chi2_min"])
    if m < float(acc["chi2_min"]):      # strict: keeps the first occurrence (C order)
        acc["chi2_min"] = np.float64(m)
        acc["argmin"] = np.int64(chunk["argmin"])


def _meta(model, grid, layout, keeps, path, store_values):
    return {
        "format": scan_io.FORMAT,
        "axes": [{"name": n, "unit": AXIS_UNITS[n], "values": [float(x) for x in v]}
                 for n, v in grid.items()],
        "path": path,
        "experiments": model.describe(),
        "flavour_groups": list(model.groups),
        "oscillation": {k: float(v) for k, v in model.osc._asdict().items()},
        "quadrature": {"n_recoil": model.quad.n_recoil, "n_energy": model.quad.n_energy},
        "nuisance_params": {k: float(np.asarray(v).ravel()[0]) if np.size(v) == 1 else
                            [float(x) for x in np.ravel(v)] for k, v in model.params.items()},
        "priors": {k: list(map(float, v)) for k, v in model.priors.items()},
        "layout": {"inner_axes": list(layout.names[len(layout.names) - layout.n_inner_axes:]),
                   "n_rows": layout.n_rows, "inner_size": layout.inner_size},
        "keep": [list(k) for k in keeps],
        "store_values": bool(store_values),
    }


_COMPARE = ("axes", "path", "experiments", "flavour_groups", "oscillation", "quadrature",
            "nuisance_params", "priors", "layout", "keep", "store_values")


#: compiled kernels kept per process (chunk kernels of run_scan, point kernels of
#: evaluate_points); the oldest is dropped beyond this many
_KERNEL_CACHE_SIZE = 8
_CHUNK_KERNELS: dict = {}


def _chunk_kernel(model, layout, keeps, path, store_values, rows_per_chunk, row_sharding, repl,
                  tables):
    """The compiled chunk kernel, built once per model and scan layout (bounded cache), so
    repeated scans of the same shape skip compilation and first-execution costs."""
    key = (id(model), layout, tuple(keeps), path, store_values, rows_per_chunk, row_sharding,
           tuple((k, v.shape) for k, v in tables.items()))
    if key not in _CHUNK_KERNELS:
        kernel = jax.jit(_make_block(model, layout, keeps, path, store_values),
                         in_shardings=(row_sharding, repl))
        rows = jax.ShapeDtypeStruct((rows_per_chunk,), jnp.int64, sharding=row_sharding)
        _CHUNK_KERNELS[key] = (model, kernel.lower(rows, tables).compile())
        while len(_CHUNK_KERNELS) > _KERNEL_CACHE_SIZE:
            _CHUNK_KERNELS.pop(next(iter(_CHUNK_KERNELS)))
    return _CHUNK_KERNELS[key][1]


#: Grids above this many points are refused unless ``force=True``.
MAX_POINTS = 10**11


def _chunk_rows(layout, batch_size, n_dev):
    """Rows per chunk: ``batch_size`` points, at most the whole grid, a multiple of the
    device count."""
    rows = min(max(1, int(batch_size) // layout.inner_size), layout.n_rows)
    return -(-rows // n_dev) * n_dev


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _check_size(n_points, force):
    if n_points > MAX_POINTS and not force:
        raise ValueError(f"the grid has {n_points:.3g} points (more than {MAX_POINTS:.0e}); "
                         "coarsen the axes, or pass force=True (--force) to run it anyway")


def run_scan(model: ScanModel, grid: dict, *, output=None, batch_size=1 << 20, keep=None,
             path="template", store_values=False, resume=True, progress=True, devices=None,
             max_chunks=None, timing=None, inner_max=1 << 16, checkpoint_every=1, force=False,
             log=None) -> ScanResult:
    """Chunked, sharded, resumable Delta chi^2 scan over a product grid (the jitted driver).

    ``grid``: from :func:`make_grid` (canonical axis order). ``batch_size``: points per chunk
    (the trailing axes whose product fits form the dense inner block; rows of the leading axes
    fill the rest, at most the whole grid, rounded up to a multiple of the device count).
    ``keep``: axis sets to reduce to (min over all others); default every single axis and every
    pair. ``output``: directory for the checkpointed results (:mod:`scan_io`), locked while the
    scan runs; with ``resume`` an existing scan of the same configuration continues where it
    stopped, else it is overwritten. ``devices``: the devices to shard over (default
    ``jax.devices()``). ``max_chunks``: stop after that many chunks (time slicing; the state is
    saved). ``checkpoint_every``: write the state after every that many chunks (and always at
    the end or on interruption). ``timing``: a dict filled with ``compile_s``, ``run_s``,
    ``n_points_done`` and the resource estimate (:func:`estimate_resources` keys).
    ``inner_max``: largest dense inner block (part of the stored layout, so keep it on
    resume). ``force``: run grids above :data:`MAX_POINTS` points or whose chunk needs more
    memory than the machine has. ``log``: a callable receiving one-line resource messages.
    """
    require_x64()
    if path not in ("template", "full"):
        raise ValueError(f"path must be 'template' or 'full', got {path!r}")
    if list(grid) != [n for n in TMM_AXES + NUISANCE_AXES if n in grid] or \
            any(n not in grid for n in TMM_AXES):
        raise ValueError(f"grid axes {list(grid)} are not in canonical order with every TMM "
                         "axis; build the grid with make_grid()")
    if path == "template" and any(n in grid for n in NUISANCE_AXES):
        raise ValueError("nuisance axes need path='full' (the template path fixes them)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, (int, np.integer)) \
            or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be an integer >= 1, got {checkpoint_every!r}")
    layout = _choose_layout(grid, int(inner_max), path)
    _check_size(int(np.prod(layout.shape, dtype=np.float64)), force)
    keeps = _normalise_keep(keep, layout.names)
    row_sharding, repl, n_dev = _mesh(devices)
    rows_per_chunk = _chunk_rows(layout, batch_size, n_dev)
    meta = _meta(model, grid, layout, keeps, path, store_values)
    log = log or (lambda message: None)
    if output is None:
        return _run(model, grid, layout, keeps, path, store_values, None, resume, progress,
                    row_sharding, repl, n_dev, rows_per_chunk, meta, max_chunks, timing,
                    checkpoint_every, force, log)
    output = os.fspath(output)
    scan_io.acquire_lock(output)
    try:
        removed = scan_io.remove_stale_temporaries(output)
        if removed:
            log(f"removed half-written files of an interrupted run: {', '.join(removed)}")
        return _run(model, grid, layout, keeps, path, store_values, output, resume, progress,
                    row_sharding, repl, n_dev, rows_per_chunk, meta, max_chunks, timing,
                    checkpoint_every, force, log)
    finally:
        scan_io.release_lock(output)


def estimate_resources(layout, rows_per_chunk, keeps, store_values, compiled=None) -> dict:
    """Sizes of a scan: points, chunks, bytes of the reductions, of ``values.npy`` and, from
    XLA's memory analysis of the ``compiled`` chunk kernel, of one chunk's working memory."""
    n_points = int(np.prod(layout.shape, dtype=np.int64))
    maps = sum(int(np.prod([layout.shape[layout.names.index(n)] for n in k])) for k in keeps)
    est = {"n_points": n_points, "rows_per_chunk": int(rows_per_chunk),
           "n_chunks": -(-layout.n_rows // int(rows_per_chunk)),
           "reduction_bytes": 8 * maps, "values_bytes": 8 * n_points if store_values else 0,
           "chunk_bytes": None}
    analysis = compiled.memory_analysis() if compiled is not None else None
    if analysis is not None:
        est["chunk_bytes"] = int(analysis.temp_size_in_bytes + analysis.argument_size_in_bytes
                                 + analysis.output_size_in_bytes)
    return est


def _gb(n):
    return f"{n / 1e9:.3g} GB" if n >= 1e8 else f"{n / 1e6:.3g} MB"


def _run(model, grid, layout, keeps, path, store_values, output, resume, progress,
         row_sharding, repl, n_dev, rows_per_chunk, meta, max_chunks, timing, checkpoint_every,
         force, log):
    acc = None
    if output is not None:
        if resume and os.path.exists(os.path.join(output, scan_io.META_FILE)):
            old = scan_io.read_meta(output)
            diff = [k for k in _COMPARE if json.loads(json.dumps(meta[k])) != old.get(k)]
            if diff:
                raise ValueError(f"{output}: existing scan differs in {diff}; use resume=False "
                                 "(--restart) or another directory")
            acc = scan_io.read_state(output)
            if acc is not None:
                scan_io.check_state(output, old, acc)
        else:
            if os.path.exists(os.path.join(output, scan_io.STATE_FILE)):
                os.remove(os.path.join(output, scan_io.STATE_FILE))
            meta.update(created=time.strftime("%Y-%m-%dT%H:%M:%S"), jax_version=jax.__version__)
            scan_io.write_meta(output, meta)
    if acc is None:
        acc = {scan_io.reduction_key(k): np.full(tuple(layout.shape[layout.names.index(n)]
                                                       for n in k), np.inf) for k in keeps}
        acc.update(rows_done=np.int64(0), chi2_min=np.float64(np.inf), argmin=np.int64(-1))
    values = None
    if store_values:
        values = (scan_io.open_values(output, layout.shape, create=int(acc["rows_done"]) == 0)
                  if output is not None else np.full(layout.shape, np.nan))
        flat_values = values.reshape(-1)

    tables = jax.device_put(_tables(model, grid, path), repl)
    n_rows = layout.n_rows
    start = int(acc["rows_done"])
    starts = list(range(start, n_rows, rows_per_chunk))
    if max_chunks is not None:
        starts = starts[:int(max_chunks)]

    t_compile = time.perf_counter()
    kernel = _chunk_kernel(model, layout, keeps, path, store_values, rows_per_chunk,
                           row_sharding, repl, tables)
    compile_s = time.perf_counter() - t_compile
    est = estimate_resources(layout, rows_per_chunk, keeps, store_values, kernel)
    chunk = "unknown" if est["chunk_bytes"] is None else _gb(est["chunk_bytes"])
    log(f"scan: {est['n_points']:,} points in {est['n_chunks']:,} chunks of "
        f"{rows_per_chunk * layout.inner_size:,} points; memory per chunk {chunk} (XLA "
        f"estimate), reductions {_gb(est['reduction_bytes'])}"
        + (f", values.npy {_gb(est['values_bytes'])} on disk" if store_values else ""))
    ram = _physical_memory()
    if est["chunk_bytes"] is not None and ram is not None and est["chunk_bytes"] > ram \
            and not force:
        raise ValueError(f"one chunk needs about {_gb(est['chunk_bytes'])} but the machine has "
                         f"{_gb(ram)}; lower the batch size or pass force=True (--force)")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_rows * layout.inner_size, initial=start * layout.inner_size,
                   unit="pt", unit_scale=True, desc="scan", leave=False)
    t0 = time.perf_counter()

    def dispatch(s):
        rows = jax.device_put(np.arange(s, s + rows_per_chunk, dtype=np.int64), row_sharding)
        return kernel(rows, tables)

    def checkpoint():
        if output is not None:
            if store_values and hasattr(values, "flush"):
                values.flush()
            scan_io.write_state(output, acc)

    pending = dispatch(starts[0]) if starts else None
    unsaved = 0
    try:
        for i, s in enumerate(starts):
            current = pending
            # dispatch the next chunk before reading this one (overlaps host and device work)
            pending = dispatch(starts[i + 1]) if i + 1 < len(starts) else None
            chunk = jax.device_get(current)
            n_here = min(rows_per_chunk, n_rows - s)
            if store_values:
                flat_values[s * layout.inner_size:(s + n_here) * layout.inner_size] = \
                    chunk["values"][:n_here].reshape(-1)
            _merge(acc, chunk, keeps)
            acc["rows_done"] = np.int64(s + n_here)
            unsaved += 1
            if unsaved >= checkpoint_every:
                checkpoint()
                unsaved = 0
            if i == 0 and len(starts) > 1:
                first = time.perf_counter() - t0
                log(f"scan: first chunk {first:.3g} s; about {first * (len(starts) - 1):.3g} s "
                    "for the rest")
            if bar is not None:
                bar.update(n_here * layout.inner_size)
    finally:
        if unsaved:
            checkpoint()       # also on interruption: the merged chunks are kept
        if bar is not None:
            bar.close()
    run_s = time.perf_counter() - t0
    if timing is not None:
        timing.update(est)
        timing.update(compile_s=compile_s, run_s=run_s, rows_per_chunk=rows_per_chunk,
                      n_points_done=(int(acc["rows_done"]) - start) * layout.inner_size,
                      n_devices=n_dev)
    if output is not None:
        return scan_io.load(output)
    axes = dict(grid)
    argmin = int(acc["argmin"])
    best = ({n: float(v[i]) for (n, v), i in zip(axes.items(), np.unravel_index(argmin, layout.shape))}
            if argmin >= 0 else {})
    reductions = {k: acc[scan_io.reduction_key(k)] for k in keeps}
    return ScanResult(axes, reductions, float(acc["chi2_min"]), best, int(np.prod(layout.shape)),
                      int(acc["rows_done"]) >= n_rows, meta, values)


_POINT_KERNELS: dict = {}


def _point_kernel(model, path, row_sharding):
    """The jitted, vmapped chi^2 of one model and path, built once per (model, path, devices)
    so that repeated :func:`evaluate_points` calls reuse the compiled code."""
    key = (id(model), path, row_sharding)
    if key not in _POINT_KERNELS:
        one = _template_chi2_point if path == "template" else _full_chi2_point
        kernel = jax.jit(jax.vmap(lambda v: one(model, v)), in_shardings=(row_sharding,))
        _POINT_KERNELS[key] = (model, kernel)  # holding the model keeps its id unique
        while len(_POINT_KERNELS) > _KERNEL_CACHE_SIZE:
            _POINT_KERNELS.pop(next(iter(_POINT_KERNELS)))
    return _POINT_KERNELS[key][1]


def evaluate_points(model: ScanModel, points: dict, *, path="template", batch_size=4096,
                    devices=None):
    """Raw chi^2 at a sample of points (``{axis: (N,) array}``; missing TMM axes = 0, missing
    nuisance axes = the model's values), chunked and sharded like :func:`run_scan`."""
    require_x64()
    if path not in ("template", "full"):
        raise ValueError(f"path must be 'template' or 'full', got {path!r}")
    allowed = TMM_AXES + (NUISANCE_AXES if path == "full" else ())
    unknown = [k for k in points if k not in allowed]
    if unknown:
        raise ValueError(f"unknown point coordinate(s) {unknown} for the {path} path")
    n = len(next(iter(points.values())))
    cols = {k: np.broadcast_to(np.asarray(points.get(k, 0.0), dtype=np.float64), (n,))
            for k in TMM_AXES}
    cols.update({k: np.asarray(points[k], dtype=np.float64) for k in NUISANCE_AXES if k in points})
    row_sharding, _, n_dev = _mesh(devices)
    bs = -(-min(int(batch_size), max(n, 1)) // n_dev) * n_dev
    kernel = _point_kernel(model, path, row_sharding)
    out = np.empty(n)
    for s in range(0, n, bs):
        e = min(s + bs, n)
        chunk = {k: np.concatenate([c[s:e], np.repeat(c[e - 1:e], bs - (e - s))])
                 for k, c in cols.items()}
        out[s:e] = np.asarray(kernel(jax.device_put(chunk, row_sharding)))[:e - s]
    return out
