"""On-disk format of parameter-space scans (:mod:`cevns_jax.inference.scan`).

A scan directory holds

``scan.json``
    Metadata (UTF-8 JSON, ``"format": "cevns_jax.scan/1"``): ``axes`` (ordered list of
    ``{"name", "unit", "values"}``; the grid is their Cartesian product in C order, the
    *last* axis fastest), ``path`` (``"template"`` or ``"full"``), ``experiments`` (label,
    statistic description), ``oscillation`` (the :class:`OscillationParameters`; ``delta_cp``
    there is overridden by the ``delta_cp`` axis), ``quadrature``, ``layout``
    (``inner_axes``: trailing axes evaluated as one dense block per row; ``n_rows``: number of
    rows = product of the other, leading axes), ``keep`` (the reductions, each a list of axis
    names), ``store_values``, ``jax_version``, ``created``.
``state.npz``
    Running reductions, rewritten atomically (``os.replace``) after every chunk:
    ``rows_done`` (rows of the leading axes finished; resume continues there),
    ``chi2_min`` and ``argmin`` (flat C-order grid index of the best point), and one array
    ``min:<axis>:<axis>...`` per kept axis set = min over all other axes of the raw chi^2,
    shaped like the kept axes in grid order (``+inf`` where nothing was evaluated yet).
``values.npy`` (only with ``store_values``)
    The raw chi^2 at every grid point, float64, shape = grid shape (a NumPy ``.npy`` file,
    open with ``np.load(..., mmap_mode="r")``); entries of unfinished rows are NaN.

``scan.lock``
    Present while a scan writes into the directory: JSON ``{"pid", "host", "started"}``. A
    second scan into the same directory is refused; a lock left by a process that no longer
    runs on this host is taken over.

All chi^2 on disk are *raw* (sum of the experiments' chi^2); Delta chi^2 = chi^2 - chi2_min
is formed when reading (:meth:`ScanResult.profile`). Reductions by ``min`` are exact and
order independent, so a resumed, re-chunked or sharded scan writes bit-identical files.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import zipfile
from dataclasses import dataclass, field

import numpy as np

FORMAT = "cevns_jax.scan/1"
META_FILE = "scan.json"
STATE_FILE = "state.npz"
VALUES_FILE = "values.npy"
LOCK_FILE = "scan.lock"
_TEMPORARY = re.compile(r"^(scan\.json|state\.npz)\.tmp\d+$")


class ScanLockedError(RuntimeError):
    """Another scan is writing into the directory."""

#: Units of the scan axes (moduli in 1e-10 mu_B, phases in rad, nuisances dimensionless).
AXIS_UNITS = {
    "lambda1": "1e-10 mu_B", "lambda2": "1e-10 mu_B", "lambda3": "1e-10 mu_B",
    "xi1": "rad", "xi3": "rad", "delta_cp": "rad",
    "flux_scale": "1", "radius_scale": "1", "kappa_scale": "1", "sin2_theta_w": "1",
}

#: Plot labels of the scan axes.
AXIS_LABELS = {
    "lambda1": r"$|\Lambda_1|$ [$10^{-10}\,\mu_B$]",
    "lambda2": r"$|\Lambda_2|$ [$10^{-10}\,\mu_B$]",
    "lambda3": r"$|\Lambda_3|$ [$10^{-10}\,\mu_B$]",
    "xi1": r"$\xi_1$ [rad]", "xi3": r"$\xi_3$ [rad]", "delta_cp": r"$\delta_{CP}$ [rad]",
    "flux_scale": "flux scale", "radius_scale": "radius scale", "kappa_scale": r"$\kappa$ scale",
    "sin2_theta_w": r"$\sin^2\theta_W$",
}


def reduction_key(names) -> str:
    return "min:" + ":".join(names)


def _atomic_write(path, writer):
    tmp = f"{path}.tmp{os.getpid()}"
    writer(tmp)
    os.replace(tmp, path)


def write_meta(directory, meta: dict):
    os.makedirs(directory, exist_ok=True)

    def writer(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=1)

    _atomic_write(os.path.join(directory, META_FILE), writer)


def read_meta(directory) -> dict:
    path = os.path.join(directory, META_FILE)
    if not os.path.exists(path):
        raise ValueError(f"{directory}: no {META_FILE}; not a scan directory")
    try:
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except ValueError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else meta
        raise ValueError(f"{directory}: not a {FORMAT} scan (format {got!r})")
    return meta


def write_state(directory, state: dict):
    def writer(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **state)

    _atomic_write(os.path.join(directory, STATE_FILE), writer)


def read_state(directory) -> dict | None:
    path = os.path.join(directory, STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as fh, np.load(fh) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: unreadable scan state ({error}); rerun with a fresh "
                         "output directory or restart the scan") from error


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lock(directory) -> str:
    """Create ``scan.lock`` in ``directory`` (atomically) and return its path.

    Raises :class:`ScanLockedError` naming the holder when another live process holds it; a
    lock of a process that no longer runs on this host is replaced."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, LOCK_FILE)
    record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                         "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path, encoding="utf-8") as fh:
                    holder = json.load(fh)
            except (OSError, ValueError):
                holder = {}
            pid, host = holder.get("pid"), holder.get("host")
            if (isinstance(pid, int) and host == socket.gethostname() and pid != os.getpid()
                    and not _process_alive(pid)):
                os.remove(path)      # stale: its process is gone
                continue
            raise ScanLockedError(
                f"{directory}: another scan is writing here (process {pid} on {host}, started "
                f"{holder.get('started', '?')}); wait for it, use another --output, or delete "
                f"{path} if that process no longer runs") from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(record)
        return path
    raise ScanLockedError(f"{directory}: could not take the scan lock {path}")


def release_lock(directory) -> None:
    """Remove ``scan.lock`` if this process holds it."""
    path = os.path.join(directory, LOCK_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            holder = json.load(fh)
    except (OSError, ValueError):
        return
    if holder.get("pid") == os.getpid():
        os.remove(path)


def remove_stale_temporaries(directory) -> list:
    """Delete half-written ``scan.json.tmp<pid>`` / ``state.npz.tmp<pid>`` files (left by an
    interrupted write; call while holding the lock). Returns the removed names."""
    removed = [name for name in os.listdir(directory) if _TEMPORARY.match(name)]
    for name in removed:
        os.remove(os.path.join(directory, name))
    return removed


def check_state(directory, meta: dict, state: dict) -> None:
    """Raise ValueError naming the file when ``state.npz`` does not fit ``scan.json``: the
    kept reductions, their shapes (the grid's), ``rows_done`` and ``argmin`` ranges."""
    path = os.path.join(directory, STATE_FILE)
    axes = {a["name"]: len(a["values"]) for a in meta["axes"]}
    missing = [k for k in ("rows_done", "chi2_min", "argmin") if k not in state]
    if missing:
        raise ValueError(f"{path}: missing {missing}")
    expected = {reduction_key(k) for k in meta["keep"]}
    found = {k for k in state if k.startswith("min:")}
    if found != expected:
        raise ValueError(f"{path}: reductions {sorted(found)} do not match the kept axis sets "
                         f"{sorted(expected)} of {META_FILE}")
    for key in (reduction_key(k) for k in meta["keep"]):
        shape = tuple(axes[n] for n in key.split(":")[1:])
        if state[key].shape != shape:
            raise ValueError(f"{path}: {key} has shape {state[key].shape} but the grid of "
                             f"{META_FILE} gives {shape}")
    n_rows = meta["layout"]["n_rows"]
    n_points = int(np.prod(list(axes.values()), dtype=np.int64))
    if not 0 <= int(state["rows_done"]) <= n_rows:
        raise ValueError(f"{path}: rows_done {int(state['rows_done'])} outside [0, {n_rows}]")
    if not -1 <= int(state["argmin"]) < n_points:
        raise ValueError(f"{path}: argmin {int(state['argmin'])} outside the grid "
                         f"({n_points} points)")


def open_values(directory, shape, create: bool):
    path = os.path.join(directory, VALUES_FILE)
    if create or not os.path.exists(path):
        values = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=tuple(shape))
        values[...] = np.nan
        return values
    values = np.load(path, mmap_mode="r+")
    if values.shape != tuple(shape):
        raise ValueError(f"{path}: shape {values.shape} does not match the grid {tuple(shape)}")
    return values


@dataclass
class ScanResult:
    """Reductions of a finished (or partial) scan; all chi^2 raw, see :meth:`profile`.

    ``axes``: ordered ``{name: values}``; ``reductions``: ``{tuple(names): min chi^2}``;
    ``chi2_min`` and ``best`` (grid point of the minimum, ``{name: value}``); ``values``:
    the full raw chi^2 grid when stored (else None); ``complete``: all rows evaluated.
    """

    axes: dict
    reductions: dict
    chi2_min: float
    best: dict
    n_points: int
    complete: bool
    meta: dict = field(default_factory=dict)
    values: np.ndarray | None = None

    @property
    def shape(self):
        return tuple(len(v) for v in self.axes.values())

    def _order(self, names):
        names = tuple(names)
        unknown = [n for n in names if n not in self.axes]
        if unknown:
            raise ValueError(f"unknown scan axis {unknown}; axes are {list(self.axes)}")
        return tuple(n for n in self.axes if n in names)

    def reduced(self, *names):
        """min over every axis not in ``names`` of the raw chi^2, axes in the order given."""
        ordered = self._order(names)
        if ordered in self.reductions:
            out = self.reductions[ordered]
        elif self.values is not None:
            other = tuple(i for i, n in enumerate(self.axes) if n not in ordered)
            out = np.min(np.asarray(self.values), axis=other)
        else:
            # any kept superset can be reduced further
            sup = [k for k in self.reductions if set(ordered) <= set(k)]
            if not sup:
                raise ValueError(f"axes {ordered} were not kept by the scan (kept: "
                                 f"{list(self.reductions)}) and values were not stored")
            key = min(sup, key=len)
            other = tuple(i for i, n in enumerate(key) if n not in ordered)
            out = np.min(self.reductions[key], axis=other)
        perm = [ordered.index(n) for n in names]
        return np.transpose(out, perm)

    def profile(self, *names):
        """Delta chi^2 profile: min over the other axes minus the global minimum
        (paper 000 Sect. 4: Delta chi^2 = chi^2 - chi^2_min with nuisances profiled)."""
        return self.reduced(*names) - self.chi2_min


def load(directory) -> ScanResult:
    """Read a scan directory written by :func:`cevns_jax.inference.scan.run_scan`."""
    meta = read_meta(directory)
    state = read_state(directory)
    if state is None:
        raise ValueError(f"{directory}: no {STATE_FILE}; the scan never finished a chunk")
    check_state(directory, meta, state)
    axes = {a["name"]: np.asarray(a["values"], dtype=float) for a in meta["axes"]}
    shape = tuple(len(v) for v in axes.values())
    reductions = {tuple(k.split(":")[1:]): state[k] for k in state if k.startswith("min:")}
    argmin = int(state["argmin"])
    idx = np.unravel_index(argmin, shape) if argmin >= 0 else None
    best = {n: float(v[i]) for (n, v), i in zip(axes.items(), idx)} if idx is not None else {}
    values = None
    if meta.get("store_values") and os.path.exists(os.path.join(directory, VALUES_FILE)):
        values = np.load(os.path.join(directory, VALUES_FILE), mmap_mode="r")
        if values.shape != shape:
            raise ValueError(f"{os.path.join(directory, VALUES_FILE)}: shape {values.shape} "
                             f"does not match the grid {shape} of {META_FILE}")
    rows_done = int(state["rows_done"])
    return ScanResult(axes, reductions, float(state["chi2_min"]), best, int(np.prod(shape)),
                      rows_done >= meta["layout"]["n_rows"], meta, values)
