"""The demo command runs end to end at a tiny size, and the CLI rejects what it should."""

import subprocess
import sys

from scijax.__main__ import _cli


def test_demo_runs_small_and_prints_table(capsys, tmp_path):
    from scijax._demo import main

    assert main(["--steps", "3", "--lbfgs-steps", "0", "--no-plots", "--no-progress", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "alpha (prey growth)" in out and "RMSE, held-out trajectory" in out
    assert not list(tmp_path.iterdir())  # --no-plots writes nothing


def test_cli_unknown_command_and_help(capsys):
    assert _cli(["nope"]) == 2
    assert "unknown command" in capsys.readouterr().err
    assert _cli(["--help"]) == 0
    assert "demo" in capsys.readouterr().out


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "scijax", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "demo" in r.stdout
