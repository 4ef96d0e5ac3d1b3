"""Scan robustness: chunk size, folder lock, temporaries, state validation, interruption,
checkpoints, axis order, size guard, and limits refined between grid points."""

import json
import subprocess

import numpy as np
import pytest
from scipy.optimize import brentq

from cevns_jax.inference import scan, scan_io
from cevns_jax.quadrature import QuadratureConfig

QUAD = QuadratureConfig(8, 8)   # coarse nodes: these tests check the scan machinery


@pytest.fixture(scope="module")
def model():
    return scan.build_scan_model(["COHERENT-LAr:current"], quad=QUAD)


def _grid():
    return scan.make_grid(lambda1=np.linspace(0, 10, 12), lambda2=np.linspace(0, 10, 5))


def test_chunk_is_capped_at_the_grid(model):
    timing = {}
    scan.run_scan(model, _grid(), batch_size=1 << 20, inner_max=1, progress=False, timing=timing)
    # 12 x 5 grid, no dense inner block: 60 rows, evaluated as one chunk of 60 (not 2^20)
    assert timing["rows_per_chunk"] == 60 and timing["n_chunks"] == 1
    # default reductions: 6 single axes (12 + 5 + 4 x 1 values) and 15 pairs
    # (12 x 5 + 4 x 12 + 4 x 5 + 6 x 1) = 155 float64 values
    assert timing["n_points"] == 60 and timing["reduction_bytes"] == 8 * 155


def test_absurd_grid_is_refused_before_any_work(model):
    grid = scan.make_grid(lambda1=np.linspace(0, 1, 10**4), lambda2=np.linspace(0, 1, 10**4),
                          lambda3=np.linspace(0, 1, 10**4))
    with pytest.raises(ValueError, match=r"1e\+12 points.*force"):
        scan.run_scan(model, grid, progress=False)


def test_nuisance_values_are_checked():
    with pytest.raises(ValueError,
                       match=r"radius_scale: values must lie in \(0, inf\), got \[0.0\]"):
        scan.make_grid("full", radius_scale=[0.0, 1.0])
    with pytest.raises(ValueError, match="sin2_theta_w.*1.5"):
        scan.make_grid("full", sin2_theta_w=[0.2, 1.5])
    with pytest.raises(ValueError, match="kappa_scale.*-1.0"):
        scan.build_scan_model(["COHERENT-LAr:current"], params={"kappa_scale": -1.0})


def test_axes_must_increase():
    with pytest.raises(ValueError, match="lambda1 must be strictly increasing.*9.9 follows 10.0"):
        scan.make_grid(lambda1=np.linspace(10, 0, 101))
    with pytest.raises(ValueError, match="delta_cp must be strictly increasing"):
        scan.make_grid(delta_cp=[0.0, 2.0, 1.0])


def test_locked_folder_is_refused_and_stale_lock_taken_over(model, tmp_path):
    out = tmp_path / "scan"
    out.mkdir()
    host = __import__("socket").gethostname()
    (out / scan_io.LOCK_FILE).write_text(json.dumps({"pid": 1, "host": host, "started": "x"}))
    with pytest.raises(scan_io.ScanLockedError, match="another scan is writing here.*process 1"):
        scan.run_scan(model, _grid(), output=out, progress=False)
    dead = subprocess.Popen(["true"])
    dead.wait()      # a finished process: its lock is stale
    (out / scan_io.LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": host}))
    (out / "state.npz.tmp4242").write_bytes(b"half-written")
    messages = []
    res = scan.run_scan(model, _grid(), output=out, progress=False, log=messages.append)
    assert res.complete
    assert not (out / scan_io.LOCK_FILE).exists()          # released after the scan
    assert not (out / "state.npz.tmp4242").exists()
    assert any("state.npz.tmp4242" in m for m in messages)


def test_reading_checks_state_against_metadata(model, tmp_path):
    out = tmp_path / "scan"
    scan.run_scan(model, _grid(), output=out, progress=False)
    meta = json.loads((out / scan_io.META_FILE).read_text())
    meta["axes"][0]["values"].append(11.0)                # grid no longer matches the state
    (out / scan_io.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ValueError,
                       match=r"state.npz: min:lambda1 has shape \(12,\).*gives \(13,\)"):
        scan_io.load(out)
    (out / scan_io.STATE_FILE).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="state.npz: unreadable scan state"):
        scan_io.load(out)
    with pytest.raises(ValueError, match="no scan.json"):
        scan_io.load(tmp_path)


def test_interrupted_scan_resumes_bit_identically(model, tmp_path):
    grid = _grid()
    whole = scan.run_scan(model, grid, batch_size=5, inner_max=1, progress=False)

    def interrupt(message):
        if message.startswith("scan: first chunk"):
            raise KeyboardInterrupt

    out = tmp_path / "scan"
    with pytest.raises(KeyboardInterrupt):
        scan.run_scan(model, grid, output=out, batch_size=5, inner_max=1, progress=False,
                      checkpoint_every=3, log=interrupt)
    # the chunk merged before the interruption was saved although no checkpoint was due
    assert int(scan_io.read_state(out)["rows_done"]) == 5
    assert not (out / scan_io.LOCK_FILE).exists()
    res = scan.run_scan(model, grid, output=out, batch_size=5, inner_max=1, progress=False)
    assert res.complete and res.chi2_min == whole.chi2_min and res.best == whole.best
    for key, value in whole.reductions.items():
        assert np.array_equal(res.reductions[key], value), key    # min is exact


def test_checkpoint_every(model, tmp_path, monkeypatch):
    writes = []
    original = scan_io.write_state
    monkeypatch.setattr(scan_io, "write_state",
                        lambda d, s: (writes.append(int(s["rows_done"])), original(d, s)))
    scan.run_scan(model, _grid(), output=tmp_path / "s", batch_size=10, inner_max=1,
                  progress=False, checkpoint_every=4)
    assert writes == [40, 60]     # 6 chunks of 10 rows: after the 4th, then the last two
    with pytest.raises(ValueError, match="checkpoint_every"):
        scan.run_scan(model, _grid(), checkpoint_every=0, progress=False)


def _exact_limit(model, level):
    """The crossing of the 1-D profile in lambda1 (others 0) by Brent's method."""
    chi2 = lambda x: scan.evaluate_points(model, {"lambda1": np.array([x])})[0]
    c0 = chi2(0.0)            # the minimum: counts grow with lambda1 (Asimov data)
    return brentq(lambda x: chi2(x) - c0 - level, 0.0, 1e3, xtol=1e-12, rtol=1e-12)


def test_limit_is_refined_between_grid_points(model):
    level = scan.delta_chi2_level(0.9, 1)
    exact = _exact_limit(model, level)
    grid = scan.make_grid(lambda1=np.linspace(0, 1e12, 5))
    res = scan.run_scan(model, grid, progress=False)
    # linear interpolation across the coarse grid step is off by orders of magnitude
    assert scan.profile_limit(grid["lambda1"], res.profile("lambda1"), level) > 1e3 * exact
    limit = scan.refine_limit(model, grid, "lambda1", level, res.chi2_min,
                              profile=res.profile("lambda1"))
    assert limit.status == "refined"
    # bracket narrowed to 1e-6 relative, then linear interpolation inside it
    assert limit.value == pytest.approx(exact, rel=1e-6)
    assert limit.bracket[0] <= exact <= limit.bracket[1]

    coarse = scan.refine_limit(model, grid, "lambda1", level, res.chi2_min, max_points=10)
    assert coarse.status == "bracket" and coarse.bracket == (0.0, 2.5e11)
    assert "somewhere in [0, 2.5e+11]" in coarse.describe()

    short = scan.make_grid(lambda1=np.linspace(0, 0.5 * exact, 4))
    res = scan.run_scan(model, short, progress=False)
    limit = scan.refine_limit(model, short, "lambda1", level, res.chi2_min,
                              profile=res.profile("lambda1"))
    assert limit.status == "not_reached" and np.isnan(limit.value)
    assert limit.describe() == f"not reached within [0, {0.5 * exact:.4g}]"
