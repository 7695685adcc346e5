"""Shared helpers of the P4 tests: small programs from source text, STF text built from scapy
packets, and running one STF on the reference model and on the P4 executor."""

from __future__ import annotations

from pathlib import Path

from wirespeed.compiler import ir
from wirespeed.compiler.frontend import compile_source, load_program
from wirespeed.sim.executor import Executor
from wirespeed.sim.p4exec import P4Executor
from wirespeed.sim.reference import ReferenceExecutor
from wirespeed.sim.stf import StfResult, parse_stf, run_stf

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = ["vxlan_decap", "acl", "l4lb", "gateway"]


def program_from(source: str, name: str = "feature") -> ir.Program:
    return compile_source(source, f"{name}.wire")


def example(name: str) -> ir.Program:
    return load_program(EXAMPLES / f"{name}.wire")


def hexs(data: bytes) -> str:
    return data.hex()


def run_on(executor: Executor, program: ir.Program, stf: str) -> StfResult:
    with executor:
        return run_stf(executor, parse_stf(program, stf, "test.stf"))


def failures(result: StfResult) -> list[str]:
    return [f"line {c.line}: {c.kind} {c.message} expected={c.expected} "
            f"got={c.got_text or (c.got.hex() if c.got else None)}" for c in result.failures]


def assert_both_pass(program: ir.Program, stf: str) -> None:
    """The STF passes on the reference model and on the P4 executor."""
    for executor in (ReferenceExecutor(program), P4Executor(program)):
        result = run_on(executor, program, stf)
        assert result.passed, f"{executor.target}: " + "\n".join(failures(result))
