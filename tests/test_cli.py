"""The command-line interface: listing, configuration files, one-line user errors, help,
progress, output checks, and the counts table it prints and writes (in-process calls)."""

import csv
import json
import time
import tomllib
import types

import pytest

from cevns_jax import __version__
from cevns_jax.cli import build_parser, main
from cevns_jax.cli.common import UserError, split_list
from cevns_jax.experiments import build_experiment, get_config
from cevns_jax.summary import catalog_counts, format_counts_table, write_counts_csv


def _one_line_error(capsys, rc, expected):
    """A user error: exit status 2, one line on stderr naming the problem, no traceback."""
    err = capsys.readouterr().err
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and expected in err, err
    return err


def test_experiments_lists_every_table1_setup(capsys):
    assert main(["experiments"]) == 0
    out = capsys.readouterr().out
    for name in ("COHERENT-CsI", "COHERENT-NaI", "CONUS", "CONNIE", "MINER", "TEXONO", "RED100"):
        assert out.count(name) == 2  # current and future


def test_experiments_show_prints_a_buildable_config(capsys):
    assert main(["experiments", "--show", "CONUS:future"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["detector"]["mass"] == "100 kg"
    assert build_experiment(config).beam_names == ("nuebar",)


@pytest.mark.parametrize("suffix", ["toml", "json"])
def test_written_configuration_round_trips(tmp_path, capsys, suffix):
    path = tmp_path / f"csi.{suffix}"
    assert main(["experiments", "--show", "COHERENT-CsI:current", "--output", str(path)]) == 0
    if suffix == "toml":
        with open(path, "rb") as handle:
            loaded = tomllib.load(handle)
    else:
        loaded = json.loads(path.read_text())
    assert loaded == get_config("COHERENT-CsI", "current")
    # the file is accepted wherever an experiment is: show it back
    capsys.readouterr()
    assert main(["experiments", "--show", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == loaded


def test_rates_of_a_configuration_file_equal_the_catalogue_entry(tmp_path, capsys):
    path = tmp_path / "lar.toml"
    main(["experiments", "--show", "COHERENT-LAr:current", "--output", str(path)])
    capsys.readouterr()
    assert main(["rates", "--experiments", str(path), "--quick"]) == 0
    from_file = capsys.readouterr()
    assert "1/1 COHERENT-LAr [current]" in from_file.err     # progress on stderr
    out = tmp_path / "out"
    assert main(["rates", "--experiments", "COHERENT-LAr:current", "--quick", "-q",
                 "--output", str(out)]) == 0
    from_name = capsys.readouterr()
    assert from_name.err == ""
    assert from_file.out.splitlines()[:5] == from_name.out.splitlines()[:5]
    with open(out / "counts.csv") as handle:
        assert [r["beam"] for r in csv.DictReader(handle)] == [
            "prompt", "delayed_nue", "delayed_numubar"]


def test_experiment_lists_accept_spaces_and_commas():
    assert split_list(["A:current,B:future", "C"]) == ["A:current", "B:future", "C"]
    assert split_list(["A, B,,"]) == ["A", "B"]


def test_user_errors_are_one_line(tmp_path, capsys):
    rc = main(["scan", "--experiments", "NOPE:current", "--axis", "lambda1=0:1:3"])
    _one_line_error(capsys, rc, "no catalogue experiment 'NOPE'")
    rc = main(["scan", "--experiments", "CONUS:current", "--axis", "lambda1=0:1"])
    _one_line_error(capsys, rc, "--axis 'lambda1=0:1': expected NAME=LO:HI:N")
    rc = main(["scan", "--experiments", "CONUS:current", "--axis", "lambda1=10:0:101"])
    _one_line_error(capsys, rc, "need LO < HI")
    rc = main(["scan", "--experiments", "CONUS:current", "--axis", "lambda9=0:1:3"])
    _one_line_error(capsys, rc, "unknown axis ['lambda9']")
    rc = main(["scan", "--experiments", "CONUS:current", "--axis", "lambda1=0:1:10000",
               "--axis", "lambda2=0:1:10000", "--axis", "lambda3=0:1:10000"])
    _one_line_error(capsys, rc, "the grid has 1e+12 points (more than 1e+11); coarsen the axes "
                                "or add --force")
    rc = main(["rates", "--experiments", str(tmp_path / "missing.toml")])
    _one_line_error(capsys, rc, "missing.toml' does not exist")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[detector]\nmass = "1 kg"\nefficiancy = 1\n')
    rc = main(["rates", "--experiments", str(bad)])
    _one_line_error(capsys, rc, "unknown field 'efficiancy'")


def test_scan_without_arguments_says_what_it_needs(capsys):
    err = _one_line_error(capsys, main(["scan"]), "scan needs --experiments")
    assert "--axis NAME=LO:HI:N" in err


def test_confidence_level_must_be_a_probability(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "--experiments", "CONUS:current", "--axis", "lambda1=0:1:3",
              "--cl", "90"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "for 90% write 0.9" in err


def test_posterior_accepts_configuration_files(tmp_path, capsys, monkeypatch):
    """``posterior`` takes .toml/.json files like the other sub-commands: the problem is built
    from the file's configuration (equal to the catalogue entry it was written from), mixed
    with catalogue names; a missing file is a one-line error before any work."""
    from cevns_jax.inference import bayes

    class Built(Exception):
        pass

    seen = []

    def build_problem(experiments, *args, **kwargs):
        seen.append(experiments)
        raise Built

    monkeypatch.setattr(bayes, "build_problem", build_problem)
    for suffix in ("toml", "json"):
        path = tmp_path / f"conus.{suffix}"
        assert main(["experiments", "--show", "CONUS:current", "--output", str(path)]) == 0
        with pytest.raises(Built):
            main(["posterior", "--experiments", f"{path},COHERENT-CsI:current"])
    assert seen == 2 * [[get_config("CONUS", "current"), get_config("COHERENT-CsI", "current")]]
    capsys.readouterr()
    rc = main(["posterior", "--experiments", str(tmp_path / "missing.toml"),
               "--output", str(tmp_path / "out")])
    _one_line_error(capsys, rc, "missing.toml' does not exist")
    assert not (tmp_path / "out").exists()


def test_unwritable_output_fails_before_any_work(tmp_path, capsys, monkeypatch):
    import cevns_jax.inference.scan as scan_module

    def forbidden(*args, **kwargs):
        raise AssertionError("the model was built before the output folder was checked")

    monkeypatch.setattr(scan_module, "build_scan_model", forbidden)
    blocker = tmp_path / "file"
    blocker.write_text("")
    start = time.perf_counter()
    rc = main(["scan", "--experiments", "CONUS:current", "--axis", "lambda1=0:1:3",
               "--output", str(blocker / "sub")])
    assert time.perf_counter() - start < 1.0   # an unwritable folder is refused before any work: within a second
    _one_line_error(capsys, rc, "is not a writable folder")
    for command in (["solar"], ["rates"], ["reproduce"],
                    ["posterior", "--experiments", "CONUS:current"]):
        rc = main(command + ["--output", str(blocker / "sub")])
        _one_line_error(capsys, rc, "is not a writable folder")


def test_interrupt_and_debug(tmp_path, capsys, monkeypatch):
    import cevns_jax.cli.experiments as experiments

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "run", interrupted)
    assert main(["experiments"]) == 130
    assert capsys.readouterr().err.strip() == "cevns-jax: interrupted"
    import cevns_jax.inference.scan as scan_module

    monkeypatch.setattr(scan_module, "build_scan_model",
                        lambda *a, **k: types.SimpleNamespace(describe=lambda: []))
    monkeypatch.setattr(scan_module, "run_scan", lambda *a, **k: interrupted(None))
    rc = main(["scan", "--experiments", "COHERENT-LAr:current", "--axis", "lambda1=0:1:3",
               "--output", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert rc == 130 and len(err.strip().splitlines()) == 1
    assert "interrupted (finished chunks are saved in" in err and "to resume" in err
    monkeypatch.undo()
    with pytest.raises(UserError, match="NOPE"):
        main(["--debug", "experiments", "--show", "NOPE:current"])
    with pytest.raises(UserError, match="NOPE"):
        main(["experiments", "--show", "NOPE:current", "--debug"])


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"cevns-jax {__version__}"
    parser = build_parser()
    top = parser.format_help()
    assert "``" not in top and ":func:" not in top and "NAME:SETUP" in top
    sub = parser._subparsers._group_actions[0].choices
    scan_help = " ".join(sub["scan"].format_help().split())   # undo line wrapping
    for default in ("(default: 1048576)", "(default: 0.9)", "(default: 48)", "(default: 1)",
                    "(default: template)"):
        assert default in scan_help, default
    assert "(default: results)" in sub["reproduce"].format_help()
    assert "(default: results)" in sub["solar"].format_help()
    posterior_help = " ".join(sub["posterior"].format_help().split())
    assert "(default: 1000)" in posterior_help and "(default: 4)" in posterior_help


def test_solar_tiny_is_a_deprecated_alias_of_quick():
    args = build_parser().parse_args(["solar", "--tiny"])
    assert args.tiny and not args.quick


def test_scan_prints_refined_limits(capsys):
    rc = main(["scan", "--experiments", "COHERENT-LAr:current", "--axis", "lambda1=0:1e12:5",
               "--nodes", "8", "--no-progress"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "scan: 5 points in 1 chunks" in captured.err       # resource estimate
    line = next(l for l in captured.out.splitlines() if "|lambda1|" in l)
    # not the linear interpolation across the 2.5e11 step (~1e10); the refined value is a
    # few tens (checked against Brent's method in test_scan_reliability)
    assert 1.0 < float(line.split("<")[1].split("x")[0]) < 1e3, line


def test_counts_csv_has_the_documented_columns(tmp_path):
    rows = catalog_counts([("COHERENT-CsI", "current")])
    path = tmp_path / "counts.csv"
    write_counts_csv(rows, path)
    with open(path) as handle:
        table = list(csv.DictReader(handle))
    assert [r["beam"] for r in table] == ["prompt", "delayed_nue", "delayed_numubar"]
    assert {"experiment", "setup", "beam", "n_sm", "n_em"} <= set(table[0])
    assert {(r["n_sm_unit"], r["n_em_unit"]) for r in table} == {
        ("events", "events at mu = 1e-10 mu_B")}
    total = sum(float(r["n_sm"]) for r in table)
    assert abs(total - 173.0) < 48.0  # COHERENT's prediction, Science 357, 1123
    assert "| COHERENT-CsI | current | prompt |" in format_counts_table(rows)


def test_unknown_subcommand_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["nonsense"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def _files_under(folder):
    return {str(p) for p in folder.rglob("*") if p.is_file()}


def test_reproduce_writes_typed_results_and_lists_every_file(tmp_path, capsys, monkeypatch):
    """results.json holds JSON numbers/booleans (not reprs), the version, the UTC time and
    the options used; table2.csv has a unit column; figures go to paper000/ and paper004/;
    the "wrote" line names every file written. The computations are replaced by stand-ins
    (the real ones take minutes; the slow test below runs them)."""
    import datetime

    import numpy as np

    from cevns_jax.papers import paper000, paper000_figures, paper004

    row = {"group": "reactor", "detector": "CONUS", "setup": "current", "parameter": "Lambda1",
           "paper": 1.9, "computed": np.float64(1.95), "ratio": np.float64(1.95 / 1.9),
           "valid": np.bool_(True)}
    monkeypatch.setattr(paper000, "compute_counts", lambda options, progress=None: {})
    monkeypatch.setattr(paper000, "table2", lambda options, counts: [dict(row)])

    def fake_figures(counts, options, folder, scales=None, progress=None):
        import os

        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "fig1_quenching.png")
        open(path, "w").close()
        return [path]

    def fake_solar(output_dir, tiny=False, verbose=False, figure_dir=None):
        import os

        os.makedirs(figure_dir, exist_ok=True)
        for path in paper004.written_files(output_dir, figure_dir):
            open(path, "w").close()
        return []

    monkeypatch.setattr(paper000_figures, "make_all", fake_figures)
    monkeypatch.setattr(paper004, "run", fake_solar)
    out = tmp_path / "res"
    assert main(["reproduce", "--output", str(out), "--quick", "--delta-cp", "1.5"]) == 0
    wrote = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("wrote "))
    listed = set(wrote.removeprefix("wrote ").split(", "))
    assert listed == _files_under(out)
    assert str(out / "paper000" / "fig1_quenching.png") in listed
    assert str(out / "paper004" / "fig3_cdex_regions.png") in listed
    meta = json.loads((out / "results.json").read_text())
    assert meta["software"] == f"cevns_jax {__version__}"
    when = datetime.datetime.fromisoformat(meta["time"])
    assert when.utcoffset() == datetime.timedelta(0)
    assert meta["options"]["quick"] is True and meta["options"]["delta_cp"] == 1.5
    assert meta["paper000_options"]["delta_cp"] == 1.5
    assert meta["paper000_options"]["quad"]["n_recoil"] == 48       # QuadratureConfig default
    assert isinstance(meta["paper000_options"]["osc"]["s12sq"], float)
    assert meta["paper000_options"]["osc"]["delta_cp"] == 1.5     # the mixing actually used
    (entry,) = meta["table2"]
    assert entry["computed"] == 1.95 and entry["valid"] is True
    assert entry["unit"] == "1e-10 mu_B"
    with open(out / "table2.csv") as handle:
        (csv_row,) = list(csv.DictReader(handle))
    assert csv_row["unit"] == "1e-10 mu_B" and float(csv_row["computed"]) == 1.95


def test_solar_spectra_rows_do_not_depend_on_the_grid():
    """solar.csv names the spectra rows by the requested energies (0.1, 1 keVnr), and their
    values are the rate at exactly that energy, whatever the grid (--quick or not)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from cevns_jax import solar
    from cevns_jax.analyses import cdex10
    from cevns_jax.papers import paper004

    rows = {r["quantity"]: r["computed"] for r in paper004._spectra_rows(paper004._spectra(True))}
    assert {f"{m}_8b_sm_rate_at_{t}keVnr" for m in ("ge", "xe") for t in ("0.1", "1")} <= set(rows)
    channel = solar.spectra_channel("Ge", components=("b8",), kappa=cdex10.CDEX10_KAPPA)
    sm, em = jax.jit(lambda e: solar.channel_spectra(channel, e, "nr"))(jnp.asarray([1e-4]))
    one_point = solar.SolarSpectra(np.array([0.1]), "nr", "Ge", channel.component_names,
                                   np.asarray(sm), np.asarray(em), "events / (kg keVnr day)")
    # the same kernel at the same energy: equal to rounding
    assert rows["ge_8b_sm_rate_at_0.1keVnr"] == pytest.approx(
        float(solar.spectra_rate(one_point)[0]), rel=1e-12)


def test_compilation_cache_folder_resolution(tmp_path):
    from cevns_jax.cli.common import compilation_cache_dir

    # the option wins, "off" (any case) disables, then JAX's own variable, then XDG, then ~/.cache
    assert compilation_cache_dir(str(tmp_path), {"JAX_COMPILATION_CACHE_DIR": "/x"}) == str(tmp_path)
    assert compilation_cache_dir(" OFF ", {}) is None
    assert compilation_cache_dir(None, {"JAX_COMPILATION_CACHE_DIR": "/x"}) == "/x"
    assert compilation_cache_dir(None, {"XDG_CACHE_HOME": "/c"}) == "/c/cevns_jax/xla"
    assert compilation_cache_dir(None, {}).endswith("/.cache/cevns_jax/xla")
