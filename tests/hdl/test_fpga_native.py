"""The native Verilator harness (``sim/native/harness.cpp``) against the reference model and
the cocotb bench: the features program of ``test_fpga_program`` (push, options, checksums,
CRCs, a register, counters) and malformed frames, with random idle and backpressure."""

from __future__ import annotations

import random

import pytest
from test_fpga_program import SOURCE, _packet
from wirespeed.compiler import ir
from wirespeed.compiler.frontend import compile_source
from wirespeed.sim.executor import AddEntry, ReadCounter, SendPacket
from wirespeed.sim.fpga import FpgaExecutor
from wirespeed.sim.reference import ReferenceExecutor


@pytest.mark.parametrize("width", [64, 256])
def test_native_harness_matches_the_model(width: int) -> None:
    reason = FpgaExecutor.unavailable_reason()
    if reason:
        pytest.skip(reason)
    program = compile_source(SOURCE, "features.wire")
    rng = random.Random(width)
    ops: list = [AddEntry("route", ir.Entry((ir.Exact(0x0A000000 | last),), call))
                 for last, call in [(1, ir.ActionCall("to", (3,))),
                                    (2, ir.ActionCall("tagged", (4, 0xABCDEF)))]]
    sends = []
    for _ in range(400):
        data = _packet(rng)
        if rng.random() < 0.3:  # truncated anywhere, runts included
            data = data[:rng.randrange(0, len(data))]
        sends.append(SendPacket(rng.randrange(4), data))
    ops += sends + [ReadCounter("route", h) for h in (0, 1, None)]
    expected = ReferenceExecutor(program).run_script(ops)
    with FpgaExecutor(program, width=width, driver="native") as fpga:
        got = fpga.run_script(ops)
        register = fpga.read_register("per_slot", 3)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert wrong == [], f"op {wrong[0]}: got {got[wrong[0]]} expected {expected[wrong[0]]}"
    model = ReferenceExecutor(program)
    model.run_script(ops)
    assert register == model.read_register("per_slot", 3)
