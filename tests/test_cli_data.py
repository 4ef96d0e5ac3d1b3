"""``cevns-jax data``: the results contract, the world table and its errors."""

import csv
import json
import sys
import types

import pytest

from cevns_jax.cli import main
from cevns_jax.results import ANALYSES, COLUMNS


def _rows(quick=False):
    return [dict(analysis="toy_set", quantity="limit_mu_nue", computed=1.5, uncertainty=None,
                 published=2.0, unit="1e-10 mu_B", method="wilks", reference="toy"),
            dict(analysis="toy_set", quantity="cevns_events_fit", computed=10.0,
                 uncertainty=1.0, published=None, unit="events", method="fit", reference="")]


@pytest.fixture
def toy_analysis(monkeypatch):
    module = types.ModuleType("toy_results")
    module.data_results = _rows
    monkeypatch.setitem(sys.modules, "toy_results", module)
    monkeypatch.setitem(ANALYSES, "toy_set", "toy_results")
    return module


def test_writes_the_contract_and_the_world_table(tmp_path, capsys, toy_analysis):
    assert main(["data", "toy_set", "--quick", "--output", str(tmp_path), "-q"]) == 0
    with open(tmp_path / "data_results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["computed"] == "1.5" and rows[0]["uncertainty"] == ""
    meta = json.loads((tmp_path / "data_results.json").read_text())
    assert meta["options"] == {"analyses": ["toy_set"], "quick": True}
    assert meta["software"].startswith("cevns_jax ")
    with open(tmp_path / "world_table.csv") as handle:
        world = list(csv.DictReader(handle))
    assert [r["quantity"] for r in world] == ["limit_mu_nue"]      # only limits in 1e-10 mu_B
    assert (tmp_path / "world_limits.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "toy_set limit_mu_nue" in out and "world_limits.png" in out


def test_unknown_analysis_is_one_line(tmp_path, capsys):
    assert main(["data", "coherent_csi2099", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "coherent_csi2099" in err and "coherent_csi2021" in err


def test_every_registered_analysis_names_a_function():
    import importlib

    for name, target in ANALYSES.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function or "data_results")), name
