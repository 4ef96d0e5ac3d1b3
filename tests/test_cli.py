"""The command-line interface and the counts table it prints and writes."""

import csv
import json

import pytest

from cevns_jax.cli import main
from cevns_jax.summary import catalog_counts, format_counts_table, write_counts_csv


def test_experiments_lists_every_table1_setup(capsys):
    assert main(["experiments"]) == 0
    out = capsys.readouterr().out
    for name in ("COHERENT-CsI", "COHERENT-NaI", "CONUS", "CONNIE", "MINER", "TEXONO", "RED100"):
        assert out.count(name) == 2  # current and future


def test_experiments_show_prints_a_buildable_config(capsys):
    from cevns_jax.experiments import build_experiment

    assert main(["experiments", "--show", "CONUS:future"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["detector"]["mass"] == "100 kg"
    assert build_experiment(config).beam_names == ("nuebar",)


def test_counts_csv_has_the_documented_columns(tmp_path):
    rows = catalog_counts([("COHERENT-CsI", "current")])
    path = tmp_path / "counts.csv"
    write_counts_csv(rows, path)
    with open(path) as handle:
        table = list(csv.DictReader(handle))
    assert [r["beam"] for r in table] == ["prompt", "delayed_nue", "delayed_numubar"]
    assert {"experiment", "setup", "beam", "n_sm", "n_em"} <= set(table[0])
    total = sum(float(r["n_sm"]) for r in table)
    assert abs(total - 173.0) < 48.0  # COHERENT's prediction, Science 357, 1123
    assert "| COHERENT-CsI | current | prompt |" in format_counts_table(rows)


def test_unknown_subcommand_exits_with_usage():
    with pytest.raises(SystemExit):
        main(["nonsense"])
