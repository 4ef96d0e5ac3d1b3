"""``cevns-jax fit``: the JSON against a direct fit_report call, the provenance lines, errors;
the real CsI 2021 run (slow) against results.coherent_csi."""

import datetime
import json

import pytest

from cevns_jax.cli import main
from cevns_jax.inference.fit_report import fit_report
from cevns_jax.results import data_set_fit as dsf

from test_fit_report import on_off


@pytest.fixture
def toy_set(monkeypatch):
    """A data set 'toy_set' whose measurement is the two-bin on/off problem of
    test_fit_report (signal strength 's' free, background 'b' constrained)."""
    toy = dsf.FitSetup("toy_set", on_off(30.0, 40.0), "s", (), 30, "toy_set")
    monkeypatch.setattr(dsf, "DATA_SETS", dsf.DATA_SETS + ("toy_set",))
    monkeypatch.setattr(dsf, "setup", lambda name, quick=False: toy)
    monkeypatch.setattr(dsf, "release", lambda name: "Source: toy release @ 0123abc")
    return toy


def test_json_equals_a_direct_fit_report(tmp_path, capsys, toy_set):
    assert main(["fit", "toy_set", "--quick", "--output", str(tmp_path), "-q"]) == 0
    doc = json.loads((tmp_path / "toy_set" / "fit.json").read_text())
    direct = fit_report(toy_set.measurement)
    for name, n in direct.nuisances.items():
        written = doc["fit"]["nuisances"][name]
        # the same code path on the same measurement: equal up to JSON's round trip
        assert written["best"] == pytest.approx(n.best, rel=1e-9, abs=1e-12)
        assert written["hessian_sigma"] == pytest.approx(n.hessian_sigma, rel=1e-9)
        assert written["interval"] == pytest.approx(list(n.interval), rel=1e-9)
        assert written["prior"]["sigma"] == n.prior["sigma"]
    assert doc["fit"]["twice_nll"] == pytest.approx(direct.twice_nll, rel=1e-12)
    assert (doc["fit"]["n_bins"], doc["fit"]["n_observed"]) == (2, 70.0)
    assert doc["signal"]["strength"] == pytest.approx(direct.nuisances["s"].best, rel=1e-12)
    # SM signal at the best fit: s x (1 event in bin 1)
    assert doc["signal"]["sm_signal_events"] == pytest.approx(direct.nuisances["s"].best,
                                                              rel=1e-12)
    assert doc["data_set"] == "toy_set" and doc["release"].startswith("Source: toy")
    assert doc["dtype"] == "float64" and doc["jax"] and doc["cevns_jax"]
    assert set(doc["machine"]) == {"machine", "processor"}
    assert datetime.datetime.fromisoformat(doc["date"]).tzinfo is not None
    assert not (tmp_path / "toy_set" / "fit.png").exists()          # no figure for a toy
    out = capsys.readouterr().out
    assert "toy_set: -2 ln L" in out and "s = " in out


def test_existing_output_needs_force(tmp_path, capsys, toy_set):
    (tmp_path / "toy_set").mkdir()
    (tmp_path / "toy_set" / "old.txt").write_text("x")
    assert main(["fit", "toy_set", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not empty" in err and "--force" in err
    assert not (tmp_path / "toy_set" / "fit.json").exists()         # refused before fitting
    assert main(["fit", "toy_set", "--output", str(tmp_path), "--force", "-q"]) == 0
    assert (tmp_path / "toy_set" / "fit.json").exists()


@pytest.mark.parametrize("argv, words", [
    (["fit", "coherent_csi2099"], ["coherent_csi2099", "coherent_csi2017", "xenonnt_8b"]),
    (["fit"], ["no data set", "coherent_lar2020"]),
])
def test_bad_names_are_one_line(tmp_path, capsys, argv, words):
    assert main(argv + ["--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words)


def test_known_names_are_the_real_data_sets_and_csi2017():
    from cevns_jax.results.global_fit import REAL_DATA

    assert set(dsf.DATA_SETS) == set(REAL_DATA) | {"coherent_csi2017"}


@pytest.mark.parametrize("name, words", [
    ("coherent_csi2021", ["arXiv:2110.07730", "653141ba6e05dd920fd0a795eb82e3de626076ce"]),
    ("coherent_csi2017", ["10.5281/zenodo.1228631", "e895d2f03d7d4741567bc0f745ba44d034dfd85e"]),
    ("coherent_lar2020", ["10.5281/zenodo.3903810"]),
    ("dresden2", ["2242059ec1784d3f70d89add2f3bd7d63ef20239"]),
    ("xenonnt_8b", ["60d230dd7a5646fd4aa2368c5fdfba575ee0cb88"]),
    ("xenonnt_er2022", ["arXiv:2207.11330", "8394853ccd62014c514ba8aa117675b6376b0845"]),
])
def test_release_names_source_and_commit(name, words):
    line = dsf.release(name)
    assert all(w in line for w in words), line


@pytest.mark.slow
def test_csi2021_quick_run_matches_results_module(tmp_path):
    """The real run: nuisances equal a direct fit_report on the same (cached) measurement,
    and the fitted CEvNS events equal results.coherent_csi.fit_cevns (another minimiser,
    profile(), from the same start: both converge to round-off, rel 1e-7)."""
    from cevns_jax.analyses import coherent_csi2021 as a
    from cevns_jax.results.coherent_csi import fit_cevns

    assert main(["fit", "coherent_csi2021", "--quick", "--output", str(tmp_path), "-q"]) == 0
    doc = json.loads((tmp_path / "coherent_csi2021" / "fit.json").read_text())
    assert (tmp_path / "coherent_csi2021" / "fit.png").stat().st_size > 10_000
    fit_setup = dsf.setup("coherent_csi2021", quick=True)
    direct = fit_report(fit_setup.measurement, n_steps=fit_setup.n_steps)
    for name, n in direct.nuisances.items():
        assert doc["fit"]["nuisances"][name]["best"] == pytest.approx(n.best, rel=1e-9,
                                                                      abs=1e-12)
    reference = fit_cevns(fit_setup.measurement, a.PREFIX + "cevns_norm", a.signal_in_roi)
    assert doc["signal"]["sm_signal_events"] == pytest.approx(reference["events"], rel=1e-7)
    assert doc["fit"]["twice_nll"] == pytest.approx(reference["twice_nll"], abs=1e-8)
    assert doc["fit"]["n_bins"] == 196 and doc["fit"]["n_observed"] == 1578.0
