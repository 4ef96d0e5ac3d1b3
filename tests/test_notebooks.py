"""Every notebook in notebooks/ runs top to bottom at tiny sizes (CEVNS_JAX_TINY=1)."""

import os
import pathlib

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))      # the kernel's tempfile folder
    monkeypatch.setenv("CEVNS_JAX_TINY", "1")
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    warnings = [o["text"] for o in outputs if o.get("name") == "stderr"
                and ("TqdmWarning" in o["text"] or "IProgress" in o["text"])]
    assert not warnings                              # no progress-bar widget warnings
    assert not [p.name for p in scratch.iterdir() if p.is_dir()]   # temporary folders removed


def test_every_notebook_reads_the_size_switch_through_the_package():
    for path in NOTEBOOKS:
        text = path.read_text()
        assert "tiny_mode()" in text, path.name
        assert 'environ.get(\\"CEVNS_JAX_TINY' not in text, path.name
        assert "mkdtemp" not in text, path.name           # TemporaryDirectory, cleaned up


@pytest.mark.parametrize("value, expected", [("1", True), (" TRUE ", True), ("yes", True),
                                             ("on", True), ("", False), ("0", False),
                                             ("false", False), ("Off", False)])
def test_tiny_mode_values(value, expected):
    from cevns_jax.notebook import tiny_mode

    assert tiny_mode({"CEVNS_JAX_TINY": value}) is expected
    assert tiny_mode({}) is False


def test_tiny_mode_refuses_other_values():
    from cevns_jax.notebook import tiny_mode

    with pytest.raises(ValueError, match="CEVNS_JAX_TINY='2'"):
        tiny_mode({"CEVNS_JAX_TINY": "2"})


def test_notebooks_are_stored_without_outputs():
    import json

    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code"), path.name
