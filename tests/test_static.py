"""Static checks that keep the code base honest: lint, types, and the layer arrows."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = BIN / tool if (BIN / tool).exists() else shutil.which(tool)
    if executable is None:
        pytest.fail(f"{tool} is not installed (pip install -e '.[dev]')")
    return subprocess.run([str(executable), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_ruff_is_clean(repo_root):
    done = run("ruff", "check", ".", cwd=repo_root)
    assert done.returncode == 0, done.stdout


def test_layers_point_one_way(repo_root):
    done = run("lint-imports", cwd=repo_root)
    assert done.returncode == 0, done.stdout


def test_mypy_strict_is_clean(repo_root):
    done = run("mypy", cwd=repo_root)
    assert done.returncode == 0, done.stdout
