"""Every notebook under notebooks/ executes without error at its small default size.

The notebooks run in this test process, each in a fresh namespace, with the settings a new kernel
starts with: ``SCIJAX_FULL`` unset (the small default sizes), JAX's default float32 until the
notebook itself turns float64 on, matplotlib's Agg backend (no display) and default rcParams, the
repository root as the working directory. A new Jupyter kernel per notebook costs ~3 s of CPU each
(process start, ipykernel, importing jax, scipy and matplotlib again), most of it spent before the
first cell. IPython turns each cell's magics into ``get_ipython().run_line_magic(...)`` calls; the
stand-in below allows only ``%matplotlib inline``, so a notebook that needs anything else from a
kernel fails here. ``SCIJAX_NOTEBOOK_KERNEL=1`` runs them in real kernels (nbclient) instead.
"""

import importlib.util
import os
import pathlib

import jax
import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_are_stored_without_outputs():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        stored = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not stored, f"{path.name}: cells {stored} have stored outputs; clear them before committing"


class _Shell:
    """What ``get_ipython()`` returns to a notebook cell run here: only ``%matplotlib inline``."""

    def run_line_magic(self, name, line, *args, **kwargs):
        if (name, line.strip()) != ("matplotlib", "inline"):
            raise AssertionError(f"magic %{name} {line} is not supported by tests/test_notebooks.py")

    def run_cell_magic(self, name, line, cell, *args, **kwargs):
        raise AssertionError(f"cell magic %%{name} is not supported by tests/test_notebooks.py")


def _run_in_process(nb, path):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    namespace = {"__name__": "__main__", "get_ipython": _Shell}
    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)  # a new kernel's default: the notebook must turn it on itself
    try:
        defaults = {k: v for k, v in matplotlib.rcParamsDefault.items() if k != "backend"}
        with matplotlib.rc_context(rc=defaults):
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    code = compile(transform(cell.source), f"{path.name}, cell {i}", "exec")
                    exec(code, namespace)  # noqa: S102 (the notebooks are this repository's own code)
    finally:
        plt.close("all")
        jax.config.update("jax_enable_x64", x64)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    if importlib.util.find_spec("matplotlib") is None:  # a failure, not a skip: CI must execute the notebooks
        pytest.fail("the notebooks plot with matplotlib: it must be installed with the `test` extra")
    kernel = os.environ.get("SCIJAX_NOTEBOOK_KERNEL") == "1"
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("SCIJAX_FULL", raising=False)
    monkeypatch.delenv("SCIJAX_NOTEBOOK_KERNEL", raising=False)
    nb = nbformat.read(path, as_version=4)
    if not kernel:
        monkeypatch.chdir(ROOT)
        _run_in_process(nb, path)
        return
    import nbclient

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    resources = {"metadata": {"path": str(ROOT)}}
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources=resources)
    client.execute()
