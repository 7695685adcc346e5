"""The bytes the output stage copies from the packet instead of carrying them down the pipeline:
which segments qualify (``copied_tail``), and packets whose copy begins anywhere in a beat, or
where they end, against the reference model."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from wirespeed.compiler import ir
from wirespeed.compiler.frontend import compile_source, load_program
from wirespeed.hdl.deparser import DeparserHw
from wirespeed.sim.executor import AddEntry, SendPacket
from wirespeed.sim.fpga import FpgaExecutor
from wirespeed.sim.reference import ReferenceExecutor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

HEADERS = """
import std;
header shim_t { kind: bit<8>; next: bit<8>; }
headers { ethernet: ethernet; ipv4: ipv4; tcp: tcp; udp: udp; }
"""
PARSER = """
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select ipv4.protocol { 6: tcp; 17: udp; _: accept; } }
  tcp { extract tcp; next accept; }
  udp { extract udp; next accept; }
}
"""
# the router of every test below: new MAC source, TTL one lower, the rest as it came
ROUTER = HEADERS + PARSER + """
action to(port: bit<9>) { forward(port); }
table route {
  key { ipv4.dst: exact; }
  actions { to; drop; }
  default drop;
  size 16;
}
control ingress {
  if !ipv4.valid { send_to_host(); return; }
  ethernet.src = 0x02aabbccddee;
  ipv4.ttl = ipv4.ttl - 1;
  route.apply();
}
"""


def _copied(source: str) -> list[str]:
    return sorted(DeparserHw(compile_source(source, "t.wire")).copied)


def test_unchanged_last_headers_are_copied_from_the_packet() -> None:
    # the IPv4 header is rewritten (TTL, checksum), its options and TCP/UDP are not
    assert _copied(ROUTER) == ["h:tcp", "h:udp", "o:ipv4"]
    gateway = DeparserHw(load_program(str(EXAMPLES / "gateway.wire")))
    # the pushed tunnel header and the rewritten inner Ethernet and IPv4 are carried
    assert sorted(gateway.copied) == ["h:inner_tcp", "h:inner_udp", "o:inner_ipv4"]
    assert gateway.tail_entry == {"inner_ipv4": 20, "inner_tcp": 0, "inner_udp": 0}


def test_a_written_field_keeps_its_header_in_the_record() -> None:
    source = ROUTER.replace("route.apply();", "route.apply(); if udp.valid { udp.checksum = 0; }")
    # UDP is written; TCP comes after it in the record's order, but a suffix is what is copied
    assert _copied(source) == []
    source = ROUTER.replace("route.apply();", "route.apply(); if tcp.valid { tcp.window = 1; }")
    assert _copied(source) == ["h:udp"]


def test_a_header_the_program_removes_or_makes_valid_is_not_copied() -> None:
    assert _copied(ROUTER.replace("route.apply();", "route.apply(); udp.setInvalid();")) == []
    assert _copied(ROUTER.replace("route.apply();", "route.apply(); tcp.setValid();")) == [
        "h:udp"]


def test_headers_parsed_in_another_order_than_emitted_are_carried() -> None:
    # TCP is declared (emitted) before UDP, but a packet can hold TCP behind a UDP header: a
    # copy from the packet would keep the packet's order
    source = HEADERS + """
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select ipv4.protocol { 17: udp; _: accept; } }
  udp { extract udp; select udp.dst_port { 9: tcp; _: accept; } }
  tcp { extract tcp; next accept; }
}
control ingress { ipv4.ttl = 1; forward(1); }
"""
    assert _copied(source) == []
    # declared in the order they are parsed, they are copied, the IPv4 options with them
    source = source.replace("tcp: tcp; udp: udp;", "udp: udp; tcp: tcp;")
    assert _copied(source) == ["h:tcp", "h:udp", "o:ipv4"]


def _packet(rng: random.Random) -> bytes:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import ARP, Ether

    if rng.random() < 0.05:
        return bytes(Ether() / ARP())
    options = b"\x01" * 4 * rng.randrange(0, 11)
    l4 = rng.choice([TCP(sport=rng.randrange(65536)), UDP(dport=rng.randrange(65536)), b""])
    proto = {} if l4 else {"proto": rng.choice([6, 17, 47])}
    payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 0, 1, 5, 7, 9, 31, 700])))
    frame = bytes(Ether() / IP(dst=f"10.0.0.{rng.randrange(1, 4)}", options=options, **proto)
                  / l4 / payload)
    if rng.random() < 0.15:  # cut short, inside the headers or just behind them
        frame = frame[:rng.randrange(1, min(len(frame), 120))]
    return frame


@pytest.mark.parametrize("width", [64, 256])
def test_copied_bytes_match_the_reference_model(width: int) -> None:
    reason = FpgaExecutor.unavailable_reason()
    if reason:
        pytest.skip(reason)
    program = compile_source(ROUTER, "router.wire")
    rng = random.Random(11)
    ops: list = [AddEntry("route", ir.Entry((ir.Exact(0x0A000000 | last),),
                                            ir.ActionCall("to", (last,)))) for last in (1, 2)]
    ops += [SendPacket(rng.randrange(4), _packet(rng)) for _ in range(300)]
    expected = ReferenceExecutor(program).run_script(ops)
    with FpgaExecutor(program, width=width) as fpga:
        got = fpga.run_script(ops)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert wrong == [], f"op {wrong[0]}: got {got[wrong[0]]} expected {expected[wrong[0]]}"
