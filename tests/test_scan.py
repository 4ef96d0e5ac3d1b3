"""Tests of the chunked / sharded / resumable TMM scans (cevns_jax.inference.scan)."""

import json
import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import moments
from cevns_jax.effective_moments import tmm_mu2
from cevns_jax.inference import scan, scan_io
from cevns_jax.quadrature import QuadratureConfig

FLAVOURS = ("numu", "nue", "numubar", "nuebar")
QUAD = QuadratureConfig(12, 12)   # coarse nodes: the tests compare paths, not physics


@pytest.fixture(scope="module")
def model():
    return scan.build_scan_model(["CONUS:current", "COHERENT-CsI:current"], quad=QUAD)


def small_grid():
    return scan.make_grid(lambda1=np.linspace(0, 3, 7), lambda2=np.linspace(0, 3, 5),
                          lambda3=np.linspace(0, 3, 4), xi1=np.linspace(0, 2 * np.pi, 3),
                          xi3=np.linspace(0, 2 * np.pi, 4), delta_cp=np.linspace(0, 2 * np.pi, 5))


def test_quadratic_form_matches_tmm_mu2():
    rng = np.random.default_rng(1)
    for _ in range(20):
        m = rng.uniform(0, 5, 3)
        xi1, xi3, delta = rng.uniform(-np.pi, 3 * np.pi, 3)
        osc = moments.DEFAULT_OSCILLATION._replace(delta_cp=delta, s12sq=rng.uniform(0.2, 0.4),
                                                   s13sq=rng.uniform(0.01, 0.03),
                                                   s23sq=rng.uniform(0.4, 0.6))
        ref = np.asarray(tmm_mu2(FLAVOURS, jnp.asarray(m), xi1, xi3, osc))
        for f, r in zip(FLAVOURS, ref):
            M = scan.quadratic_form_matrix(f, osc)
            # hermitian by construction: exact up to rounding of O(1) entries
            np.testing.assert_allclose(M, np.conj(np.swapaxes(M, -1, -2)), atol=1e-15)
            quad_form = float(scan.mu2_quadratic(M, jnp.asarray(m), xi1, xi3))
            coef = float(scan.mu2_from_coefficients(scan.quadratic_coefficients(M), *m, xi1, xi3))
            # 1e-12 relative: two float64 evaluations of the same sum of ~20 terms
            assert abs(quad_form - r) <= 1e-12 * max(1.0, abs(r))
            assert abs(coef - r) <= 1e-12 * max(1.0, abs(r))


def test_bad_input_names_the_value(model):
    with pytest.raises(ValueError, match="nue_solar"):
        scan.quadratic_form_matrix("nue_solar")
    with pytest.raises(ValueError, match="lambda1"):
        scan.make_grid(lambda1=[-1.0, 1.0])
    with pytest.raises(ValueError, match="sin2_theta_w"):
        scan.make_grid(sin2_theta_w=[0.23])          # nuisance axis on the template path
    with pytest.raises(ValueError, match="batch_size"):
        scan.run_scan(model, small_grid(), batch_size=0, progress=False)
    with pytest.raises(ValueError, match="0.0"):
        scan.delta_chi2_level(0.0)


def test_grid_reductions_match_points_and_values(model):
    g = small_grid()
    res = scan.run_scan(model, g, batch_size=64, progress=False, store_values=True, inner_max=20)
    mesh = np.meshgrid(*g.values(), indexing="ij")
    pts = {n: mesh[i].ravel() for i, n in enumerate(g)}
    direct = scan.evaluate_points(model, pts, batch_size=1000)
    # same formula, different broadcast layout: rounding of a sum of O(1) terms
    np.testing.assert_allclose(res.values.ravel(), direct, rtol=1e-13, atol=1e-13)
    for keep, red in res.reductions.items():
        other = tuple(i for i, n in enumerate(g) if n not in keep)
        assert np.array_equal(red, res.values.min(axis=other)), keep   # min is exact
    assert res.chi2_min == np.min(res.values)
    assert res.best == {n: float(v[i]) for (n, v), i in
                        zip(g.items(), np.unravel_index(np.argmin(res.values), res.shape))}


def test_chunked_equals_unchunked_exactly(model):
    g = small_grid()
    ref = scan.run_scan(model, g, batch_size=10**7, progress=False, store_values=True, inner_max=20)
    for bs in (1, 333):
        res = scan.run_scan(model, g, batch_size=bs, progress=False, store_values=True,
                            inner_max=20)
        assert np.array_equal(res.values, ref.values)
        assert res.reductions.keys() == ref.reductions.keys()
        for k in ref.reductions:
            assert np.array_equal(res.reductions[k], ref.reductions[k]), (bs, k)
        assert res.chi2_min == ref.chi2_min and res.best == ref.best


def test_resume_after_interruption(model, tmp_path):
    g = small_grid()
    keep = [("lambda1",), ("lambda1", "lambda2", "xi1", "xi3", "delta_cp")]
    full = scan.run_scan(model, g, output=tmp_path / "a", batch_size=60, keep=keep,
                         progress=False, store_values=True, inner_max=20)
    part = scan.run_scan(model, g, output=tmp_path / "b", batch_size=60, keep=keep,
                         progress=False, store_values=True, inner_max=20, max_chunks=3)
    assert not part.complete
    # "interrupted" after 3 chunks; resume with another batch size, in two more slices
    scan.run_scan(model, g, output=tmp_path / "b", batch_size=20, keep=keep, progress=False,
                  store_values=True, inner_max=20, max_chunks=5)
    done = scan.run_scan(model, g, output=tmp_path / "b", batch_size=200, keep=keep,
                         progress=False, store_values=True, inner_max=20)
    assert done.complete
    for k in full.reductions:
        assert np.array_equal(done.reductions[k], full.reductions[k])
    assert np.array_equal(np.asarray(done.values), np.asarray(full.values))
    loaded = scan.load(tmp_path / "b")
    assert loaded.chi2_min == full.chi2_min and loaded.best == full.best
    meta = json.loads((tmp_path / "b" / scan_io.META_FILE).read_text())
    assert meta["format"] == scan_io.FORMAT and [a["name"] for a in meta["axes"]] == list(g)
    with pytest.raises(ValueError, match="differs"):
        scan.run_scan(model, scan.make_grid(lambda1=[0.0, 1.0]), output=tmp_path / "b",
                      progress=False, keep=keep)


def test_template_and_full_paths_agree():
    params = {"sin2_theta_w": 0.236, "radius_scale": 1.03}
    exps = ["CONNIE:current"]
    at_default = scan.build_scan_model(exps, quad=QUAD)
    shifted = scan.build_scan_model(exps, quad=QUAD, params=params,
                                    statistics=lambda e, s: scan.default_statistic(
                                        e, float(at_default.terms[[t.label for t in
                                                                    at_default.terms].index(e.label)].sm.sum())))
    rng = np.random.default_rng(2)
    n = 6
    pts = {"lambda1": rng.uniform(0, 3, n), "lambda2": rng.uniform(0, 3, n),
           "lambda3": rng.uniform(0, 3, n), "xi1": rng.uniform(0, 6.3, n),
           "xi3": rng.uniform(0, 6.3, n), "delta_cp": rng.uniform(0, 6.3, n)}
    tpl = scan.evaluate_points(shifted, pts)
    full = scan.evaluate_points(at_default, {**pts, **{k: np.full(n, v) for k, v in params.items()}},
                                path="full", batch_size=5)
    # same quadrature nodes, same templates, evaluated in another order: rounding only
    np.testing.assert_allclose(full, tpl, rtol=1e-12)


@pytest.mark.slow
def test_full_path_grid_with_nuisance_axis_and_prior():
    exps = ["CONNIE:current", "COHERENT-NaI:current"]
    prior = scan.build_scan_model(exps, quad=QUAD, priors={"sin2_theta_w": (0.2312, 0.01)})
    g = scan.make_grid("full", lambda1=[0.0, 1.0], lambda2=[0.5], sin2_theta_w=[0.22, 0.2312, 0.24])
    res = scan.run_scan(prior, g, path="full", batch_size=4, progress=False, store_values=True)
    v = scan.evaluate_points(prior, {"lambda1": np.repeat([0.0, 1.0], 3), "lambda2": np.full(6, 0.5),
                                     "sin2_theta_w": np.tile([0.22, 0.2312, 0.24], 2)}, path="full")
    np.testing.assert_allclose(np.asarray(res.values).ravel(), v, rtol=1e-12)  # rounding only


def test_profile_and_contour_on_a_toy():
    """A toy with a known answer: a custom statistic chi^2 = (N - S) / (E s^2) = mu^2 / s^2 on
    the one anti-nu_e beam of CONUS, so Delta chi^2 is the quadratic form itself."""
    m = scan.build_scan_model(["CONUS:current"], quad=QUAD)
    term = m.terms[0]
    s2 = 0.25
    stat = scan.Statistic(lambda n: (jnp.sum(n, -1) - term.sm.sum()) / term.em.sum() / s2, "toy")
    toy = scan.build_scan_model(["CONUS:current"], quad=QUAD, statistics=lambda e, s: stat)
    # lambda1 only: mu^2 = |Lambda_1|^2 (1 - |U_e1|^2) for anti-nu_e (paper 000 Eq. 12)
    ue1sq = 1 - moments.DEFAULT_OSCILLATION.s12sq - moments.DEFAULT_OSCILLATION.s13sq * (
        1 - moments.DEFAULT_OSCILLATION.s12sq)
    x = np.linspace(0, 2, 201)
    g = scan.make_grid(lambda1=x, xi1=[0.0, 1.0], delta_cp=[0.0, 2.0])
    res = scan.run_scan(toy, g, progress=False, keep=[("lambda1",), ("lambda1", "xi1", "delta_cp")])
    prof = res.profile("lambda1")
    # rounding of the EM template ratio: 1e-12 relative
    np.testing.assert_allclose(prof, x**2 * (1 - ue1sq) / s2, rtol=1e-12, atol=1e-14)
    level = scan.delta_chi2_level(0.9, 1)
    assert abs(level - 2.705543454095404) < 1e-9            # scipy chi2.ppf, printed digits
    lim = scan.profile_limit(x, prof, level)
    exact = np.sqrt(level * s2 / (1 - ue1sq))
    assert abs(lim - exact) < 1e-4          # linear interpolation of x^2 on a 0.01 grid
    # 2-D, (lambda1, lambda3) plane at phases 0: an ellipse with a cross term
    g2 = scan.make_grid(lambda1=np.linspace(0, 2, 81), lambda3=np.linspace(0, 2, 81))
    res2 = scan.run_scan(toy, g2, progress=False)
    lines = scan.region_contours(res2, "lambda1", "lambda3", cl=0.9, dof=2)
    pts = np.concatenate(lines)
    U = np.asarray(moments.pmns(moments.DEFAULT_OSCILLATION))
    a, b = 1 - abs(U[0, 0]) ** 2, 1 - abs(U[0, 2]) ** 2
    # ellipse a l1^2 + b l3^2 = level2 s2 up to the cross term 2 Re(..) m1 m3 at phases 0
    M = np.asarray(scan.quadratic_form_matrix(   # the grid has delta_cp = 0
        "nuebar", moments.DEFAULT_OSCILLATION._replace(delta_cp=0.0)))
    q = (M[0, 0].real * pts[:, 0] ** 2 + M[2, 2].real * pts[:, 1] ** 2
         + 2 * M[0, 2].real * pts[:, 0] * pts[:, 1]) / s2
    assert abs(M[0, 0].real - a) < 1e-12 and abs(M[2, 2].real - b) < 1e-12
    # contourpy interpolates linearly between nodes 0.025 apart: 1e-2 relative on the level
    np.testing.assert_allclose(q, scan.delta_chi2_level(0.9, 2), rtol=1e-2)
    worst, best = scan.phase_extremes(res, "lambda1", "xi1", phases=("delta_cp",))
    assert np.all(worst <= best)


SHARD_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from cevns_jax.inference import scan
    from cevns_jax.quadrature import QuadratureConfig
    assert len(jax.devices()) == 8, jax.devices()
    model = scan.build_scan_model(["CONUS:current", "COHERENT-CsI:current"],
                                  quad=QuadratureConfig(12, 12))
    g = scan.make_grid(lambda1=np.linspace(0, 3, 7), lambda2=np.linspace(0, 3, 5),
                       lambda3=np.linspace(0, 3, 4), xi1=np.linspace(0, 6.28, 3),
                       xi3=np.linspace(0, 6.28, 4), delta_cp=np.linspace(0, 6.28, 5))
    kw = dict(batch_size=100, progress=False, store_values=True, inner_max=20)
    one = scan.run_scan(model, g, devices=jax.devices()[:1], **kw)
    eight = scan.run_scan(model, g, **kw)
    t = {}
    scan.run_scan(model, g, timing=t, **kw)
    assert t["n_devices"] == 8 and t["rows_per_chunk"] % 8 == 0, t
    assert np.array_equal(one.values, eight.values)
    for k in one.reductions:
        assert np.array_equal(one.reductions[k], eight.reductions[k]), k
    assert one.chi2_min == eight.chi2_min and one.best == eight.best
    pts = {n: np.random.default_rng(0).uniform(0, 3, 37) for n in scan.TMM_AXES}
    a = scan.evaluate_points(model, pts, devices=jax.devices()[:1], batch_size=16)
    b = scan.evaluate_points(model, pts, batch_size=16)
    assert np.array_equal(a, b)
    print("SHARDED_OK")
""")


@pytest.mark.slow
def test_sharded_equals_single_device():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", SHARD_SCRIPT], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SHARDED_OK" in out.stdout
