"""Shared scaffolding of the XDP tests: build a program from ``.wire`` text, run the same ops
on the reference model and in the kernel, and compare every output byte for byte."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from wirespeed.compiler import ir
from wirespeed.compiler.frontend import compile_source
from wirespeed.sim.executor import Op, Output, SendPacket
from wirespeed.sim.reference import ReferenceExecutor
from wirespeed.sim.stf import parse_stf
from wirespeed.sim.xdp import XdpExecutor

REASON = XdpExecutor.unavailable_reason()
needs_kernel = pytest.mark.skipif(REASON is not None, reason=f"XDP target: {REASON}")


def program(source: str, name: str = "t.wire") -> ir.Program:
    return compile_source("import std;\n" + source, name)


def table_ops(prog: ir.Program, stf: str) -> list[Op]:
    """The table ops of an STF fragment (``add``/``setdefault`` lines)."""
    return list(parse_stf(prog, stf, "<test>").ops)


def run_both(prog: ir.Program, ops: Sequence[Op], *, meters: Sequence[tuple] = (),
             registers: Sequence[tuple[str, int]] = ()) -> tuple[list, list]:
    """Run ``ops`` on the reference model and on the kernel; assert that every result
    (outputs of each packet, counters, handles) is the same; return both result lists and
    the register values read afterwards from each."""
    results = []
    for cls in (ReferenceExecutor, XdpExecutor):
        with cls(prog) as ex:
            for m in meters:
                ex.set_meter(*m)
            got = ex.run_script(ops)
            regs = [ex.read_register(r, i) for r, i in registers]
            results.append((got, regs))
    (ref, ref_regs), (xdp, xdp_regs) = results
    for i, (op, a, b) in enumerate(zip(ops, ref, xdp, strict=True)):
        if a != b:
            detail = ""
            if isinstance(op, SendPacket):
                detail = f"\n  packet in (port {op.port}): {op.data.hex()}"
            raise AssertionError(
                f"op {i} differs{detail}\n  reference: {_show(a)}\n  xdp:       {_show(b)}")
    assert ref_regs == xdp_regs, f"registers differ: reference {ref_regs}, xdp {xdp_regs}"
    return ref, xdp


def _show(result: object) -> str:
    if isinstance(result, list) and all(isinstance(o, Output) for o in result):
        return ", ".join(f"port {o.port}: {o.data.hex()}" for o in result) or "dropped"
    return repr(result)


def sends(packets: Sequence[bytes], port: int = 0) -> list[Op]:
    return [SendPacket(port, p) for p in packets]


def truncations(packet: bytes, start: int = 14) -> list[bytes]:
    """The packet cut at every length from ``start`` (malformed input for the parser)."""
    return [packet[:n] for n in range(start, len(packet) + 1)]


def mutations(packet: bytes, count: int, seed: int) -> list[bytes]:
    """Copies with a few random bytes changed (headers included), reproducibly."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = bytearray(packet)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(min(len(data), 64))] = rng.randrange(256)
        out.append(bytes(data))
    return out
