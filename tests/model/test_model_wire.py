"""The reference model on programs written in .wire (through the real front end and passes),
with expected packets built by scapy."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from wirespeed.compiler import ir
from wirespeed.compiler.crc import crc16
from wirespeed.compiler.frontend import compile_source
from wirespeed.compiler.model import Pipeline

PRELUDE = """
import std;
headers { ethernet: ethernet; ipv4: ipv4; udp: udp; tcp: tcp; vxlan: vxlan;
          inner_ethernet: ethernet; }
metadata { h: bit<16>; count: bit<32>; colour: bit<2>; }
register<bit<32>>[4] seen;
meter<packets>[2] police;
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select ipv4.protocol { 17: l4udp; 6: l4tcp; _: accept; } }
  l4udp { extract udp; select udp.dst_port { 4789: vx; _: accept; } }
  l4tcp { extract tcp; next accept; }
  vx { extract vxlan; extract inner_ethernet; next accept; }
}
"""


def compile_wire(body: str) -> ir.Program:
    return compile_source(PRELUDE + body, "test.wire")


ETH = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")


def test_router_decrements_ttl_and_fixes_the_checksum() -> None:
    prog = compile_wire("""
    action route(port: bit<9>) { ipv4.ttl = ipv4.ttl - 1; forward(port); }
    table routes { key { ipv4.dst: lpm; } actions { route; drop; } default drop; size 16; }
    control ingress { if ipv4.valid { routes.apply(); } }
    """)
    pipeline = Pipeline(prog)
    pipeline.add_entry("routes", ir.Entry((ir.Lpm(0x0A000000, 8),),
                                          ir.ActionCall("route", (5,))))
    sent = ETH / IP(src="1.1.1.1", dst="10.2.3.4", ttl=9) / TCP(dport=22)
    expected = ETH / IP(src="1.1.1.1", dst="10.2.3.4", ttl=8) / TCP(dport=22)
    assert pipeline.process(0, bytes(sent)) == [(5, bytes(expected))]
    assert pipeline.process(0, bytes(ETH / IP(dst="11.0.0.1") / TCP())) == []


def test_vxlan_decap_emits_the_inner_frame() -> None:
    prog = compile_wire("""
    control ingress {
      if vxlan.valid {
        ethernet.setInvalid(); ipv4.setInvalid(); udp.setInvalid(); vxlan.setInvalid();
        forward(2);
      }
    }
    """)
    inner = Ether(dst="02:00:00:00:00:aa") / IP(dst="192.168.0.1") / UDP(dport=53) / b"q"
    outer = ETH / IP(dst="10.0.0.1") / UDP(sport=999, dport=4789) / VXLAN(vni=7) / inner
    assert Pipeline(prog).process(0, bytes(outer)) == [(2, bytes(inner))]


def test_hash_register_and_meter_statements() -> None:
    prog = compile_wire("""
    control ingress {
      meta.h = crc16(ipv4.src, ipv4.dst);
      ipv4.identification = meta.h;
      meta.count = seen[1];
      seen[1] += 1;
      ipv4.ttl = meta.count[7:0];
      meta.colour = police.execute(0);
      if meta.colour == 2 { drop(); return; }
      forward(1);
    }
    """)
    pipeline = Pipeline(prog)
    pipeline.set_meter("police", 0, 0, 2, 0, 2)  # no refill: two green packets, then red
    data = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2))
    outs = [pipeline.process(0, data) for _ in range(3)]
    key = bytes([10, 0, 0, 1, 10, 0, 0, 2])
    for n, out in enumerate(outs[:2]):
        expected = ETH / IP(src="10.0.0.1", dst="10.0.0.2", id=crc16(key), ttl=n) / UDP(
            sport=1, dport=2)
        assert out == [(1, bytes(expected))]
    assert outs[2] == []
    assert pipeline.read_register("seen", 1) == 3


@pytest.mark.parametrize(("src", "dport", "port"), [
    ("10.1.1.1", 22, 3), ("10.1.1.1", 80, 4), ("10.1.1.1", 443, 4), ("10.1.1.1", 8080, None),
    ("11.1.1.1", 80, None), ("11.1.1.1", 22, 3)])
def test_switch_on_a_ternary_and_range_table(src: str, dport: int, port: int | None) -> None:
    prog = compile_wire("""
    action allow() { }
    action deny() { drop(); }
    table acl {
      key { tcp.dst_port: range; ipv4.src: ternary; }
      actions { allow; deny; }
      default deny;
      size 8;
      entries {
        (22..22, _): allow priority 1;
        (80..443, 10.0.0.0 &&& 255.0.0.0): allow priority 2;
        (0..65535, _): deny priority 3;
      }
    }
    control ingress {
      forward(9);
      switch acl.apply() {
        allow: { if tcp.dst_port == 22 { forward(3); } else { forward(4); } }
        deny: { }
      }
    }
    """)
    data = bytes(ETH / IP(src=src, dst="10.0.0.2") / TCP(dport=dport))
    out = Pipeline(prog).process(0, data)
    assert out == ([] if port is None else [(port, data)])


_ROBUST = None


def _robust_program() -> ir.Program:
    global _ROBUST
    if _ROBUST is None:
        _ROBUST = compile_wire("""
        action route(port: bit<9>) { ipv4.ttl = ipv4.ttl - 1; forward(port); }
        table routes { key { ipv4.dst: lpm; } actions { route; } default drop; size 4; }
        control ingress {
          if vxlan.valid { ethernet.setInvalid(); ipv4.setInvalid(); udp.setInvalid();
                           vxlan.setInvalid(); forward(1); return; }
          if ipv4.valid { routes.apply(); } else { send_to_host(); }
        }
        """)
    return _ROBUST


def _prefix_headers() -> list[bytes]:
    inner = Ether() / IP() / b"x"
    return [bytes(ETH / IP(dst="10.0.0.1") / UDP(dport=4789) / VXLAN() / inner),
            bytes(ETH / IP(dst="10.0.0.1", options=b"\x01\x01\x01\x00") / TCP()),
            bytes(ETH / (b"\x00" * 40))]


@settings(max_examples=300, deadline=None)
@given(prefix=st.sampled_from(_prefix_headers()), cut=st.integers(0, 100),
       noise=st.binary(max_size=80), flip=st.integers(0, 120), bit=st.integers(0, 7))
def test_any_bytes_give_zero_or_one_packet_and_never_an_exception(
        prefix: bytes, cut: int, noise: bytes, flip: int, bit: int) -> None:
    """Truncated, corrupted and random frames: the model drops or emits, it never fails, and
    what it emits is never longer than the frame plus nothing (this program adds no header)."""
    data = bytearray(prefix[:cut] + noise)
    if flip < len(data):
        data[flip] ^= 1 << bit
    pipeline = Pipeline(_robust_program())
    pipeline.add_entry("routes", ir.Entry((ir.Lpm(0x0A000000, 8),),
                                          ir.ActionCall("route", (3,))))
    out = pipeline.process(0, bytes(data))
    assert len(out) <= 1
    if out:
        port, emitted = out[0]
        assert port in (1, 3, ir.HOST_PORT)
        assert len(emitted) <= len(data)
        if port == ir.HOST_PORT:
            assert emitted == bytes(data)  # not IPv4: nothing changed, not even a checksum
