"""The FPGA parser's parts: the shifter that copies a header out of the window, and the split
of a deep parse graph into two clocks. The whole parser is tested by every FPGA STF run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator
from wirespeed.compiler.frontend import compile_source, load_program
from wirespeed.hdl.parser import ParseGraph, bytes_at

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("offsets", [
    [34, 38, 42, 46, 50, 54, 58, 62, 66, 70, 74],  # after IPv4 options
    [10, 12, 18],  # uneven: positions 0, 1 and 4 of a 2-byte step
    [52, 60],  # the second runs past the window: those bytes read as zero
    [7],
])
def test_bytes_at_copies_the_bytes_at_each_offset(offsets: list[int]) -> None:
    H, n = 72, 12
    m = Module()
    window = Signal(8 * H)
    offset = Signal(range(H + 1))
    out = Signal(8 * n)
    m.d.comb += out.eq(bytes_at(m, window, offset, offsets, n, "t"))
    rng = random.Random(6)

    async def bench(ctx) -> None:
        for _ in range(4):
            data = bytes(rng.getrandbits(8) for _ in range(H))
            ctx.set(window, int.from_bytes(data, "little"))
            for o in offsets:
                ctx.set(offset, o)
                assert ctx.get(out).to_bytes(n, "little") == (data[o:o + n] + bytes(n))[:n], o

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_a_deep_parse_graph_is_split_in_the_middle_of_its_chain() -> None:
    program = load_program(str(EXAMPLES / "gateway.wire"))
    # outer Ethernet, IPv4, UDP, VXLAN and the inner Ethernet in the first clock
    assert ParseGraph.of(program).late(program) == {"tenant_v4", "tenant_tcp", "tenant_udp"}


def test_a_shallow_parse_graph_is_parsed_in_one_clock() -> None:
    program = compile_source("""
import std;
headers { ethernet: ethernet; }
parser { start { extract ethernet; next accept; } }
control ingress { forward(1); }
""", "shallow.wire")
    assert ParseGraph.of(program).late(program) == set()
