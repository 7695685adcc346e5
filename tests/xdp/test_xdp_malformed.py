"""Malformed input on the real programs: every example's STF packets cut at every length and
with random bytes changed, in the kernel and on the reference model, outputs compared byte
for byte (after the STF's table entries are installed on both)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.executor import AddEntry, SendPacket, SetDefault
from wirespeed.sim.stf import load_stf
from xdp_helpers import mutations, needs_kernel, run_both, truncations

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.wire"))


@needs_kernel
@pytest.mark.parametrize("name", EXAMPLES)
def test_truncated_and_corrupted_packets_match_the_model(name: str) -> None:
    program = load_program(ROOT / "examples" / f"{name}.wire")
    test = load_stf(program, ROOT / "examples" / f"{name}.stf")
    ops = [op for op in test.ops if isinstance(op, AddEntry | SetDefault)]
    sends = [op for op in test.ops if isinstance(op, SendPacket) and len(op.data) <= 512]
    for i, op in enumerate(sends[:12]):
        cut = truncations(op.data[:100])  # every length through the headers
        bent = mutations(op.data, 8, seed=i)
        ops += [SendPacket(op.port, p) for p in cut + bent]
    run_both(program, ops)
