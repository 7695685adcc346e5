"""One feature per test: a small program and an STF whose expected packets are built here with
scapy from what the feature must do (never from our code's output). Each STF runs on the
reference model and on the P4 executor, and both must pass."""

from __future__ import annotations

import dataclasses
import zlib

import pytest
from p4_helpers import assert_both_pass, program_from
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from wirespeed.compiler import ir

PARSER = """
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select (ipv4.protocol, ipv4.frag_offset) { (17, 0): l4udp; (6, 0): l4tcp; _: accept; } }
  l4udp { extract udp; next accept; }
  l4tcp { extract tcp; next accept; }
}
"""
HEADERS = "headers { ethernet: ethernet; vlan: vlan; ipv4: ipv4; udp: udp; tcp: tcp; }"


def prog(body: str, extra: str = "", metadata: str = "") -> str:
    return f"import std;\n{HEADERS}\nmetadata {{ {metadata} }}\n{extra}\n{PARSER}\n{body}\n"


def stf(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def packet(port: int, data: bytes) -> str:
    return f"packet {port} {data.hex()}"


def expect(port: int, data: bytes) -> str:
    return f"expect {port} {data.hex()}$"


def udp_packet(**ip: object) -> bytes:
    return bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
                 / IP(**ip) / UDP(sport=1234, dport=5678) / b"payload!")


# ----------------------------------------------------------------------------- hash


def test_crc16_and_crc32_give_the_catalogue_check_values() -> None:
    # src, dst, protocol are the bytes "123456789": CRC-16/ARC is 0xBB3D and CRC-32 0xCBF43926
    # (the check values of the CRC catalogue), so the expected bytes need no CRC code here.
    source = prog("""
control ingress {
  ipv4.identification = crc16(ipv4.src, ipv4.dst, ipv4.protocol);
  meta.h32 = crc32(ipv4.src, ipv4.dst, ipv4.protocol);
  ethernet.src = (bit<48>) meta.h32;
  ipv4.ttl = crc32(ipv4.src, ipv4.dst, ipv4.protocol);
  forward(1);
}""", metadata="h32: bit<32>;")
    sent = bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
                 / IP(src="49.50.51.52", dst="53.54.55.56", proto=57) / b"data")
    out = Ether(sent)
    out.src = "00:00:cb:f4:39:26"
    out[IP].id = 0xBB3D
    out[IP].ttl = 0x26  # the CRC-32 truncated to the 8-bit target
    del out[IP].chksum
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert_both_pass(program_from(source), stf(packet(0, sent), expect(1, bytes(out))))


# ----------------------------------------------------------------------------- malformed input


def test_ipv4_options_are_carried_and_checksummed_and_bad_lengths_dropped() -> None:
    source = prog("control ingress { ipv4.ttl = ipv4.ttl - 1; forward(2); }")
    with_options = udp_packet(src="10.0.0.1", dst="10.0.0.2", ttl=9,
                              options=[b"\x94\x04\x00\x00"])  # router alert, IHL 6
    out = Ether(with_options)
    out[IP].ttl = 8
    del out[IP].chksum
    assert out[IP].ihl == 6
    good = bytes(out)
    bad_ihl = bytearray(udp_packet(src="10.0.0.1", dst="10.0.0.2"))
    bad_ihl[14] = 0x44  # IHL 4: shorter than the fixed header
    past_end = bytearray(udp_packet(src="10.0.0.1", dst="10.0.0.2"))[:14 + 20]
    past_end[14] = 0x4F  # IHL 15: 40 option bytes that are not there
    truncated = udp_packet(src="10.0.0.1", dst="10.0.0.2")[:14 + 10]
    assert_both_pass(program_from(source), stf(
        packet(0, with_options), expect(2, good),
        packet(0, bytes(bad_ihl)), "no_packet",
        packet(0, bytes(past_end)), "no_packet",
        packet(0, truncated), "no_packet",
    ))


def test_parser_reject_drops_and_a_runt_is_processed() -> None:
    source = prog("control ingress { forward(3); }").replace(
        "_: accept; } }\n  v4", "0x86dd: reject; _: accept; } }\n  v4")
    v6 = bytes(Ether(type=0x86DD)) + bytes(40)
    runt = bytes(Ether(type=0x0806)) + bytes(28)  # 42 bytes: ARP-sized runt
    assert_both_pass(program_from(source), stf(
        packet(0, v6), "no_packet",
        packet(1, runt), expect(3, runt),
    ))


# ----------------------------------------------------------------------------- headers


def test_invalid_header_fields_read_zero_and_set_valid_zeroes_a_new_header() -> None:
    source = prog("""
control ingress {
  ipv4.identification = udp.dst_port;        # a TCP packet: udp is invalid, reads 0
  vlan.setValid();                           # a new header: every field starts at 0
  vlan.ethertype = ethernet.ethertype;
  ethernet.ethertype = 0x8100;
  forward(1);
}""")
    sent = bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
                 / IP(src="10.0.0.1", dst="10.0.0.2", id=0x1234) / TCP(sport=1, dport=2))
    out = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01") / Dot1Q(prio=0, vlan=0) / (
        IP(src="10.0.0.1", dst="10.0.0.2", id=0) / TCP(sport=1, dport=2))
    assert_both_pass(program_from(source), stf(packet(0, sent), expect(1, bytes(out))))


def test_pop_headers_and_send_to_host() -> None:
    source = prog("""
control ingress {
  if udp.valid { ipv4.setInvalid(); udp.setInvalid(); forward(4); } else { send_to_host(); }
}""")
    sent = udp_packet(src="10.0.0.1", dst="10.0.0.2")
    popped = sent[:14] + b"payload!"
    tcp = bytes(Ether() / IP() / TCP())
    assert_both_pass(program_from(source), stf(
        packet(0, sent), expect(4, popped),
        packet(0, tcp), expect(510, tcp),
    ))


# ----------------------------------------------------------------------------- tables


TABLES = """
action set_port(port: bit<9>) { forward(port); }
action mark(id: bit<16>) { ipv4.identification = id; forward(1); }
table acl {
  key { ipv4.src: lpm; ipv4.dst: ternary; ipv4.protocol: exact; meta.l4_dst: range; }
  actions { mark; drop; }
  default drop;
  size 64;
  counters;
}
table classify {
  key { ipv4.tos: ternary; }
  actions { mark; nop; }
  default nop;
  size 8;
  entries {
    (0x20 &&& 0xe0): mark(0x2000) priority 2;
    (0x00 &&& 0x03): mark(0x0003) priority 1;
  }
}
"""


def test_lpm_ternary_exact_range_with_priorities_and_counters() -> None:
    source = prog("""
control ingress {
  meta.tos = ipv4.dscp ++ ipv4.ecn;
  if udp.valid { meta.l4_dst = udp.dst_port; }
  if classify.apply().hit { return; }
  acl.apply();
}""", extra=TABLES.replace("key { ipv4.tos: ternary; }", "key { meta.tos: ternary; }"),
        metadata="l4_dst: bit<16>; tos: bit<8>;")

    def pkt(src: str, dst: str, dport: int, tos: int = 1) -> bytes:
        return bytes(Ether() / IP(src=src, dst=dst, tos=tos) / UDP(sport=9, dport=dport))

    def marked(data: bytes, ident: int) -> bytes:
        out = Ether(data)
        out[IP].id = ident
        del out[IP].chksum
        return bytes(out)

    a = pkt("10.1.2.3", "192.168.7.1", 1500)
    b = pkt("10.1.2.3", "192.168.7.1", 80)
    c = pkt("10.9.9.9", "192.168.7.1", 2000)
    d = pkt("10.1.2.3", "192.168.7.1", 1500, tos=0x21)  # the const entry, priority 2
    e = pkt("10.1.2.3", "192.168.7.1", 1500, tos=0x24)  # both const entries: priority 1 wins
    f = pkt("11.0.0.1", "192.168.7.1", 1500)            # no acl entry: default drop
    text = stf(
        # 0x0f0 is not whole nibbles: p4c's runner needs it expanded; ranges become prefixes
        "add acl 20 ipv4.src:10.0.0.0/8 ipv4.dst:0xc0a80001&&&0xffff00ff "
        "ipv4.protocol:17 meta.l4_dst:1024..2047 mark(id:0x1111)",
        "add acl 10 ipv4.src:10.1.0.0/16 ipv4.dst:0xc0a80000&&&0xffff0000 "
        "ipv4.protocol:17 meta.l4_dst:1000..1600 mark(id:0x2222)",
        "add acl 5 ipv4.src:10.1.0.0/16 ipv4.dst:0xc0a80000&&&0xffff0000 "
        "ipv4.protocol:17 meta.l4_dst:0..1023 drop()",
        packet(0, a), expect(1, marked(a, 0x2222)),
        packet(0, b), "no_packet",
        packet(0, c), expect(1, marked(c, 0x1111)),
        packet(0, d), expect(1, marked(d, 0x2000)),
        packet(0, e), expect(1, marked(e, 0x0003)),
        packet(0, f), "no_packet",
        "check_counter acl(0) packets == 1",
        "check_counter acl(1) packets == 1",
        f"check_counter acl(1) bytes == {len(a)}",
        "check_counter acl(2) packets == 1",
        "check_counter acl(miss) packets == 1",
        f"check_counter acl(miss) bytes == {len(f)}",
    )
    assert_both_pass(program_from(source), text)


# ----------------------------------------------------------------------------- registers, meters


def test_register_out_of_range_reads_zero_and_writes_nothing() -> None:
    source = prog("""
register<bit<16>>[4] cells;
control ingress {
  cells[ipv4.ttl] = ipv4.identification;     # ttl 2 writes cell 2; ttl 9 writes nothing
  ipv4.identification = cells[ipv4.tos];     # tos 2 reads cell 2; tos 9 reads 0
  forward(1);
}""".replace("register<bit<16>>[4] cells;\n", ""), extra="register<bit<16>>[4] cells;")
    source = source.replace("ipv4.tos", "(ipv4.dscp ++ ipv4.ecn)")

    def pkt(ttl: int, tos: int, ident: int) -> bytes:
        return bytes(Ether() / IP(ttl=ttl, tos=tos, id=ident) / b"x")

    def result(data: bytes, ident: int) -> bytes:
        out = Ether(data)
        out[IP].id = ident
        del out[IP].chksum
        return bytes(out)

    p1 = pkt(2, 2, 0x0A0A)   # writes 0x0a0a into cell 2, then reads it back
    p2 = pkt(9, 2, 0x0B0B)   # out of range write: nothing; reads cell 2 = 0x0a0a
    p3 = pkt(1, 9, 0x0C0C)   # writes cell 1; reads index 9: out of range -> 0
    assert_both_pass(program_from(source), stf(
        packet(0, p1), expect(1, result(p1, 0x0A0A)),
        packet(0, p2), expect(1, result(p2, 0x0A0A)),
        packet(0, p3), expect(1, result(p3, 0)),
    ))


@pytest.mark.parametrize("unit", ["packets", "bytes"])
def test_meter_colours(unit: str) -> None:
    source = prog("""
control ingress {
  meta.colour = limit.execute(ipv4.ttl);
  ipv4.tos_field = meta.colour;
  forward(1);
}""".replace("ipv4.tos_field = meta.colour;", "ipv4.identification = (bit<16>) meta.colour;"),
        extra=f"meter<{unit}>[4] limit;", metadata="colour: bit<8>;")

    def pkt(ttl: int) -> bytes:
        return bytes(Ether() / IP(ttl=ttl) / b"x")

    def coloured(data: bytes, colour: int) -> bytes:
        out = Ether(data)
        out[IP].id = colour
        del out[IP].chksum
        return bytes(out)

    size = len(pkt(1))
    burst = 1 if unit == "packets" else size
    lines = [f"meter limit[1] cir:0 cburst:{burst} pir:0 pburst:{2 * burst}"]
    for colour in (0, 1, 2, 2):           # green, yellow (peak left), red, red
        lines += [packet(0, pkt(1)), expect(1, coloured(pkt(1), colour))]
    lines += [packet(0, pkt(2)), expect(1, coloured(pkt(2), 0))]   # unconfigured: green
    lines += [packet(0, pkt(200)), expect(1, coloured(pkt(200), 0))]  # out of range: green
    assert_both_pass(program_from(source), stf(*lines))


def test_ranges_that_expand_to_the_same_prefix_at_one_priority() -> None:
    # 4..11 becomes 4..7 and 8..11; 8..11 is then the same ternary entry at the same priority:
    # bmv2 would refuse the duplicate, so the control plane leaves it out; the earlier entry
    # wins there anyway.
    source = prog("""
action mark(id: bit<16>) { ipv4.identification = id; forward(1); }
control ingress { if udp.valid { meta.port = udp.dst_port; } ports.apply(); }
""".replace("action mark", """table ports {
  key { meta.port: range; }
  actions { mark; drop; }
  default drop;
  size 8;
}
action mark"""), metadata="port: bit<16>;")

    def pkt(dport: int) -> bytes:
        return bytes(Ether() / IP() / UDP(sport=1, dport=dport))

    def marked(data: bytes, ident: int) -> bytes:
        out = Ether(data)
        out[IP].id = ident
        del out[IP].chksum
        return bytes(out)

    assert_both_pass(program_from(source), stf(
        "add ports 1 meta.port:4..11 mark(id:1)",
        "add ports 1 meta.port:8..12 mark(id:2)",
        packet(0, pkt(9)), expect(1, marked(pkt(9), 1)),
        packet(0, pkt(12)), expect(1, marked(pkt(12), 2)),
    ))


def test_a_packet_left_shorter_than_an_ethernet_header_is_dropped() -> None:
    source = prog("control ingress { ethernet.setInvalid(); ipv4.setInvalid(); udp.setInvalid(); "
                  "forward(1); }")
    bare = bytes(Ether() / IP() / UDP())               # nothing behind the headers
    short = udp_packet(src="10.0.0.1", dst="10.0.0.2")  # 8 bytes of payload: still too short
    long_enough = bytes(Ether() / IP() / UDP() / b"fourteen bytes")
    assert_both_pass(program_from(source), stf(
        packet(0, bare), "no_packet",
        packet(0, short), "no_packet",
        packet(0, long_enough), expect(1, b"fourteen bytes"),
    ))


def test_the_length_check_counts_options_as_they_arrived() -> None:
    # ihl is rewritten to 5, but the 4 option bytes still leave: 20 + 4 + 0 >= 14 with only
    # the IPv4 header kept, and 4 bytes + 8 payload < 14 once it is removed too.
    source = prog("""
control ingress {
  ipv4.ihl = 5;
  ethernet.setInvalid(); udp.setInvalid();
  if ipv4.ttl == 1 { ipv4.setInvalid(); }
  forward(1);
}""")
    sent = udp_packet(src="10.0.0.1", dst="10.0.0.2", ttl=9, options=[b"\x94\x04\x00\x00"])
    out = Ether(sent)[IP]
    out.ihl = 5
    del out.chksum
    kept = bytes(out)[:24]  # IPv4 header + options: the UDP header is gone
    kept = kept + b"payload!"
    expired = udp_packet(src="10.0.0.1", dst="10.0.0.2", ttl=1, options=[b"\x94\x04\x00\x00"])
    assert_both_pass(program_from(source), stf(
        # the checksum (bytes 10-11) covers the options here, which scapy's does not
        packet(0, sent), f"expect 1 {kept.hex()[:20]}****{kept.hex()[24:]}$",
        packet(0, expired), "no_packet",
    ))


def test_a_table_applied_at_two_places() -> None:
    # The front end refuses a second apply (E0411), but the IR allows it: bmv2 applies each
    # table once, so the P4 has a copy per place, both filled by the control plane, and the
    # counters of the .wire table add both up.
    source = prog("""
action mark(id: bit<16>) { ipv4.identification = id; }
table by_dst {
  key { ipv4.dst: exact; }
  actions { mark; nop; }
  default nop;
  size 8;
  counters;
}
control ingress { by_dst.apply(); }""")
    once = program_from(source)
    twice = dataclasses.replace(once, ingress=(ir.If(
        ir.IsValid("udp"), (ir.Apply("by_dst"), ir.Forward(ir.Const(1, ir.Bits(9)))),
        (ir.Apply("by_dst"), ir.Forward(ir.Const(2, ir.Bits(9))))),))

    def pkt(dst: str, layer4: object) -> bytes:
        return bytes(Ether() / IP(dst=dst) / layer4)

    def marked(data: bytes) -> bytes:
        out = Ether(data)
        out[IP].id = 0x77
        del out[IP].chksum
        return bytes(out)

    udp, tcp, other = pkt("10.0.0.9", UDP()), pkt("10.0.0.9", TCP()), pkt("10.0.0.8", UDP())
    assert_both_pass(twice, stf(
        "add by_dst ipv4.dst:10.0.0.9 mark(id:0x77)",
        packet(0, udp), expect(1, marked(udp)),
        packet(0, tcp), expect(2, marked(tcp)),
        packet(0, other), expect(1, other),
        "check_counter by_dst(0) packets == 2",
        "check_counter by_dst(miss) packets == 1",
    ))
