"""The bench scripts that use the repository's ``data_tools`` (not installed) start from any folder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("script", ["fit_eval.py", "fit_command.py", "fit_profile.py", "prior.py", "synth.py", "photos_3d.py",
                                    "video.py"])
def test_bench_script_starts_outside_the_repository(script, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(BENCH / script), "--help"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
