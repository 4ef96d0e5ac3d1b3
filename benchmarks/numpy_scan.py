"""Vectorised NumPy implementation of the template-path TMM scan (benchmark comparison).

Same math and the same chunk layout as :func:`cevns_jax.inference.scan.run_scan` on the
template path, written independently with NumPy broadcasting:

* mu_b^2 = Lambda^dagger M_b Lambda (paper 000 Eqs. 5-9) with M_b built here from a NumPy
  PMNS matrix, expanded into 9 real coefficients per flavour group and delta_CP value;
* N_e = S_e + sum_g mu_g^2 E_eg (Eq. 33) with the JAX model's templates (the double integrals
  are not what is being timed);
* chi^2: Eq. (34) (COHERENT CsI current, N_meas = 142, a1/a2 profiled) or Eq. (35) printed
  denominator, Asimov N_meas, sigma = 0.2 current / 0.1 future, summed over experiments;
* reductions: min over all other axes for each kept axis set, accumulated per chunk.
"""

from __future__ import annotations

import math

import numpy as np


def pmns(s12sq, s13sq, s23sq, delta):
    s12, c12 = math.sqrt(s12sq), math.sqrt(1 - s12sq)
    s13, c13 = math.sqrt(s13sq), math.sqrt(1 - s13sq)
    s23, c23 = math.sqrt(s23sq), math.sqrt(1 - s23sq)
    ep, em = np.exp(1j * delta), np.exp(-1j * delta)
    return np.array([
        [c12 * c13, s12 * c13, s13 * em],
        [-s12 * c23 - c12 * s23 * s13 * ep, c12 * c23 - s12 * s23 * s13 * ep, s23 * c13],
        [s12 * s23 - c12 * c23 * s13 * ep, -c12 * s23 - s12 * c23 * s13 * ep, c23 * c13]])


EPS = np.zeros((3, 3, 3))
for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
    EPS[i, j, k], EPS[i, k, j] = 1.0, -1.0

#: flavour -> (a_minus, a_plus) flavour amplitudes (paper 000 Sects. 2.1-2.2)
AMPLITUDES = {"numu": ((0, 1, 0), (0, 0, 0)), "nue": ((1, 0, 0), (0, 0, 0)),
              "numubar": ((0, 0, 0), (0, 1, 0)), "nuebar": ((0, 0, 0), (1, 0, 0))}


def coefficients(flavour, osc, delta):
    U = pmns(osc.s12sq, osc.s13sq, osc.s23sq, delta)
    am, ap = (np.asarray(a, float) for a in AMPLITUDES[flavour])
    A = np.einsum("ijk,j->ik", EPS, np.conj(U).T @ am)
    B = np.einsum("ijk,j->ik", EPS, U.T @ ap)
    M = np.conj(A).T @ A + B.T @ np.conj(B)
    re, im = M.real, M.imag
    return np.array([re[0, 0], re[1, 1], re[2, 2], 2 * re[0, 1], 2 * im[0, 1], 2 * re[0, 2],
                     -2 * im[0, 2], 2 * re[1, 2], -2 * im[1, 2]])


def statistic(term):
    """NumPy chi^2(N_total) for the paper-000 default statistic of a scan term."""
    e = term.experiment
    if e.name == "COHERENT-CsI" and e.setup == "current":
        n_meas, b0, bss, s1, s2 = 142.0, 6.0, 405.0, 0.28, 0.25
        var0 = n_meas + b0 + 2 * bss + (s2 * b0) ** 2
        return lambda n: (n_meas - n - b0) ** 2 / (var0 + (s1 * n) ** 2)
    sigma = {"current": 0.2, "future": 0.1}[e.setup]
    n_meas = float(term.sm.sum())
    v = (1 + sigma) * n_meas
    return lambda n: (n_meas - n) ** 2 / (v + (sigma * n) ** 2)


def run_scan_numpy(model, grid, *, batch_size=1 << 20, keep=None, inner_max=1 << 16,
                   max_rows=None):
    """Template-path scan in NumPy; returns (reductions {axes: min chi^2}, chi2_min, rows_done)."""
    names = tuple(grid)
    shape = tuple(len(v) for v in grid.values())
    k, size = 0, 1
    while k < len(shape) and size * shape[-1 - k] <= inner_max:
        size *= shape[-1 - k]
        k += 1
    outer_names, inner_names = names[:len(names) - k], names[len(names) - k:]
    outer_shape, inner_shape = shape[:len(shape) - k], shape[len(shape) - k:]
    n_rows = int(np.prod(outer_shape, dtype=np.int64))
    if keep is None:
        keep = [(n,) for n in names] + [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    keep = [tuple(n for n in names if n in kp) for kp in keep]
    acc = {kp: np.full(tuple(shape[names.index(n)] for n in kp), np.inf) for kp in keep}
    chi2_min = np.inf
    tables = {n: grid[n] for n in ("lambda1", "lambda2", "lambda3")}
    tables.update(cos_xi1=np.cos(grid["xi1"]), sin_xi1=np.sin(grid["xi1"]),
                  cos_xi3=np.cos(grid["xi3"]), sin_xi3=np.sin(grid["xi3"]))
    tables["coef"] = np.array([[coefficients(f, model.osc, d) for f in model.groups]
                               for d in grid["delta_cp"]])
    stats = [statistic(t) for t in model.terms]
    nd = 1 + k
    rows_per_chunk = max(1, batch_size // size)
    stop = n_rows if max_rows is None else min(n_rows, int(max_rows))

    def place(axis, table, idx):
        extra = table.shape[1:]
        if axis in outer_names:
            v = table[idx[outer_names.index(axis)]]
            return v.reshape((v.shape[0],) + (1,) * k + extra)
        shp = [1] * nd
        shp[1 + inner_names.index(axis)] = table.shape[0]
        return table.reshape(tuple(shp) + extra)

    for start in range(0, stop, rows_per_chunk):
        rows = np.arange(start, min(start + rows_per_chunk, stop))
        idx = np.unravel_index(rows, outer_shape) if outer_names else ()
        m1, m2, m3 = (place(n, tables[n], idx) for n in ("lambda1", "lambda2", "lambda3"))
        c1, s1 = place("xi1", tables["cos_xi1"], idx), place("xi1", tables["sin_xi1"], idx)
        c3, s3 = place("xi3", tables["cos_xi3"], idx), place("xi3", tables["sin_xi3"], idx)
        coef = place("delta_cp", tables["coef"], idx)
        cphi, sphi = c1 * c3 + s1 * s3, s1 * c3 - c1 * s3
        m12, m13, m23 = m1 * m2, m1 * m3, m2 * m3
        basis = (m1 * m1, m2 * m2, m3 * m3, m12 * c3, m12 * s3, m13 * cphi, m13 * sphi,
                 m23 * c1, m23 * s1)
        mu2 = [sum(coef[..., g, j] * b for j, b in enumerate(basis))
               for g in range(len(model.groups))]
        chi2 = 0.0
        for term, stat in zip(model.terms, stats):
            n = float(term.sm.sum()) + sum(mu2[g] * float(term.em[g].sum())
                                           for g in range(len(model.groups)))
            chi2 = chi2 + stat(n)
        chi2 = np.broadcast_to(chi2, (len(rows),) + inner_shape)
        chi2_min = min(chi2_min, float(chi2.min()))
        for kp in keep:
            red = tuple(1 + j for j, n in enumerate(inner_names) if n not in kp)
            x = chi2.min(axis=red) if red else chi2
            ko = [n for n in outer_names if n in kp]
            if ko:
                dims = tuple(outer_shape[outer_names.index(n)] for n in ko)
                seg = np.ravel_multi_index(tuple(idx[outer_names.index(n)] for n in ko), dims)
                target = acc[kp].reshape((int(np.prod(dims)),) + x.shape[1:])
                np.minimum.at(target, seg, x)
            else:
                np.minimum(acc[kp], x.min(axis=0), out=acc[kp])
    return acc, chi2_min, stop
