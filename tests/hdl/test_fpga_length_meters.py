"""``std.packet_length`` and meters on the generated Verilog under Verilator, against the
reference model: a program that reads the length of the whole packet (store-and-forward mode),
packet and byte meters configured through the control port and hit back to back, jumbo and
oversized frames among the rest (frames
longer than the FPGA stores are dropped there, and only there), with random idle cycles and backpressure."""

from __future__ import annotations

import random

import pytest
from wirespeed.compiler.frontend import compile_source
from wirespeed.hdl.pipeline import MAX_STORED_FRAME_BYTES
from wirespeed.sim.executor import SendPacket
from wirespeed.sim.fpga import FpgaExecutor
from wirespeed.sim.reference import ReferenceExecutor

SOURCE = """
import std;
header len_t { total: bit<32>; pkt: bit<8>; bytes: bit<8>; }
headers { ethernet: ethernet; ipv4: ipv4; info: len_t; }
metadata { pc: bit<8>; bc: bit<8>; }
meter<packets>[4] by_packets;
meter<bytes>[2] by_bytes;
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; next accept; }
}
control ingress {
  if !ipv4.valid { forward(2); return; }
  meta.pc = by_packets.execute(ipv4.ttl);
  meta.bc = by_bytes.execute(ipv4.ttl[0:0]);
  info.setValid();
  info.total = std.packet_length;
  info.pkt = meta.pc;
  info.bytes = meta.bc;
  if std.packet_length > 1000 { forward(3); } else { forward(1); }
}
"""


def _packet(rng: random.Random) -> bytes:
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether

    if rng.random() < 0.05:  # too long to store: the FPGA refuses it (docs/fpga.md)
        return bytes(Ether(type=0x86DD) / bytes(rng.choice([MAX_STORED_FRAME_BYTES - 13,
                                                            12000])))
    size = rng.choice([0, 10, 46, 200, 1400, 1600, 9000, MAX_STORED_FRAME_BYTES - 34])
    frame = bytes(Ether() / IP(ttl=rng.randrange(0, 6)) / bytes(size))
    if rng.random() < 0.1:
        return frame[:rng.randrange(1, 34)]  # truncated inside a header
    return frame


def test_packet_length_and_meters_match_the_reference_model() -> None:
    reason = FpgaExecutor.unavailable_reason()
    if reason:
        pytest.skip(reason)
    program = compile_source(SOURCE, "lengths.wire")
    # cir 1/s: no token comes back within a simulation, so every target colours alike
    meters = [("by_packets", 0, 1, 3, 1, 6), ("by_packets", 1, 0, 0, 1, 2),
              ("by_packets", 2, 1, 1, 1, 1), ("by_bytes", 0, 1, 5000, 1, 30000)]
    rng = random.Random(11)
    ops = [SendPacket(rng.randrange(4), _packet(rng)) for _ in range(120)]
    model = ReferenceExecutor(program)
    for m in meters:
        model.set_meter(*m)
    expected = model.run_script(ops)
    for i, op in enumerate(ops):
        if len(op.data) > MAX_STORED_FRAME_BYTES:
            assert expected[i], "the model forwards every length"
            expected[i] = []
    assert any(o and o[0].port == 3 for o in expected), "no long frame got through"
    with FpgaExecutor(program) as fpga:
        for m in meters:
            fpga.set_meter(*m)
        got = fpga.run_script(ops)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert wrong == [], (f"{len(wrong)} differ; packet {wrong[0]} of "
                         f"{len(ops[wrong[0]].data)} bytes: got {got[wrong[0]]} "
                         f"expected {expected[wrong[0]]}")


ACTIONS_SOURCE = """
import std;
headers { ethernet: ethernet; ipv4: ipv4; }
metadata { seen: bit<32>; colour: bit<2>; }
register<bit<32>>[8] hits;
meter<packets>[4] limit;
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; next accept; }
}
action count(slot: bit<3>, port: bit<9>) {
  meta.seen = hits[slot];
  hits[slot] = meta.seen + 1;
  ipv4.ttl = meta.seen[7:0];
  forward(port);
}
action police(cell: bit<2>, port: bit<9>) {
  meta.colour = limit.execute(cell);
  ipv4.dscp = (bit<6>) meta.colour;
  forward(port);
}
table t {
  key { ipv4.dst: exact; }
  actions { count; police; drop; }
  default drop;
  size 16;
}
control ingress { if ipv4.valid { t.apply(); } else { forward(2); } }
"""


def test_registers_and_meters_inside_table_actions() -> None:
    """The action a table chooses reads and writes a register cell, or executes a meter, with
    its own arguments as indexes; back-to-back packets hit the same cells."""
    reason = FpgaExecutor.unavailable_reason()
    if reason:
        pytest.skip(reason)
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether
    from wirespeed.compiler import ir
    from wirespeed.sim.executor import AddEntry

    program = compile_source(ACTIONS_SOURCE, "actions.wire")
    entries = [AddEntry("t", ir.Entry((ir.Exact(0x0A000000 | last),), call)) for last, call in
               [(1, ir.ActionCall("count", (1, 3))), (2, ir.ActionCall("count", (6, 4))),
                (3, ir.ActionCall("police", (0, 5))), (4, ir.ActionCall("police", (3, 6)))]]
    rng = random.Random(5)
    sends = [SendPacket(0, bytes(Ether() / IP(dst=f"10.0.0.{rng.randrange(1, 6)}") /
                                 bytes(rng.choice([0, 20, 300]))))
             for _ in range(150)]
    meters = [("limit", 0, 1, 10, 1, 25), ("limit", 3, 0, 0, 1, 4)]
    model = ReferenceExecutor(program)
    for m in meters:
        model.set_meter(*m)
    expected = model.run_script([*entries, *sends])[len(entries):]
    with FpgaExecutor(program) as fpga:
        for m in meters:
            fpga.set_meter(*m)
        got = fpga.run_script([*entries, *sends])[len(entries):]
        cells = [fpga.read_register("hits", i) for i in (1, 6)]
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert wrong == [], f"packet {wrong[0]}: got {got[wrong[0]]} expected {expected[wrong[0]]}"
    assert cells == [model.read_register("hits", i) for i in (1, 6)]
    assert min(cells) > 10


def test_a_packet_left_shorter_than_ethernet_is_dropped_whatever_its_length() -> None:
    """Conformance long run, case long:8: the Ethernet header removed from a frame longer
    than the header window left 9 bytes on the FPGA, where the model drops anything shorter
    than 14. The window now keeps 14 bytes beyond the parsed headers when a program can
    remove headers, so the rule is exact for every length."""
    reason = FpgaExecutor.unavailable_reason()
    if reason:
        pytest.skip(reason)
    program = compile_source("""
import std;
headers { ethernet: ethernet; }
parser { start { extract ethernet; next accept; } }
control ingress { forward(3); if ethernet.ethertype == 0x88b5 { ethernet.setInvalid(); } }
""", "strip.wire")
    ops = [SendPacket(0, bytes(range(12)) + ethertype + bytes(n))
           for n in range(0, 40) for ethertype in (b"\x88\xb5", b"\x08\x00")]
    expected = ReferenceExecutor(program).run_script(ops)
    assert sum(bool(o) for o in expected) == 40 + 26  # stripped: only 14 bytes and more
    with FpgaExecutor(program, driver="native") as fpga:
        got = fpga.run_script(ops)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert wrong == [], f"packet {wrong[0]}: got {got[wrong[0]]} expected {expected[wrong[0]]}"
