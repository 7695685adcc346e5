"""The real tools, when they are installed: p4c-bm2-ss compiles every example's P4 unchanged
and without warnings, and bmv2's simple_switch passes the example's STF through p4c's own
runner. Without the tools these tests skip and say which tool is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from p4_helpers import EXAMPLE_NAMES, EXAMPLES, example
from wirespeed.p4 import tools
from wirespeed.p4.compile import compile_program
from wirespeed.sim.stf import load_stf


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_p4c_compiles_the_example_without_warnings(name: str, tmp_path: Path) -> None:
    reason = tools.missing("p4c-bm2-ss")
    if reason:
        pytest.skip(reason)
    p4_file = compile_program(example(name), tmp_path, None)[0]
    result = tools.compile_p4(p4_file, tmp_path / f"{name}.json")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_bmv2_passes_the_example_stf(name: str, tmp_path: Path) -> None:
    reason = tools.missing("p4c-bm2-ss", "simple_switch", "simple_switch_CLI", "bmv2stf.py")
    if reason:
        pytest.skip(reason)
    program = example(name)
    test = load_stf(program, EXAMPLES / f"{name}.stf")
    compile_program(program, tmp_path, test)
    json_file = tmp_path / f"{name}.json"
    compiled = tools.compile_p4(tmp_path / f"{name}.p4", json_file)
    assert compiled.returncode == 0, compiled.stderr
    runner = tools.find_stf_runner()
    result = subprocess.run([sys.executable, str(runner), str(json_file),
                             str(tmp_path / f"{name}.stf")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
