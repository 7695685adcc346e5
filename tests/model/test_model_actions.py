"""Actions and expressions in the reference model: arithmetic wrap, slices, concatenation,
casts, validity, encap/decap, checksums, hashes, registers and meters. Expected packets are
built with scapy."""

import pytest
from hand_ir import ETHERNET, IPV4, UDP, VXLAN, B, binop, c, f, forward_all, header_type, meta
from hand_ir import program as make_program
from hand_ir import state as pstate
from scapy.layers.inet import IP
from scapy.layers.inet import UDP as ScapyUDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN as ScapyVXLAN
from wirespeed.compiler import ir
from wirespeed.compiler.crc import crc16, crc32
from wirespeed.compiler.model import Pipeline

ETH = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")


def packet(ttl: int = 64, **ip) -> bytes:
    return bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", ttl=ttl, **ip)
                 / ScapyUDP(sport=1234, dport=80) / b"payload!")


def run(stmts: tuple[ir.Stmt, ...], data: bytes, **kwargs) -> bytes:
    out = Pipeline(forward_all(1, ingress=stmts, **kwargs)).process(0, data)
    assert len(out) == 1
    return out[0][1]


def assign(target: ir.LValue, value: ir.Expr) -> ir.Assign:
    return ir.Assign(target, value)


TTL = f("ipv4", "ttl", 8)


def test_ttl_decrement_wraps_and_the_checksum_is_recomputed() -> None:
    stmts = (assign(TTL, binop("-", TTL, c(1, 8))),)
    assert run(stmts, packet(ttl=64)) == packet(ttl=63)  # scapy computes the checksum
    assert run(stmts, packet(ttl=0)) == packet(ttl=255)


def test_the_checksum_covers_ipv4_options() -> None:
    options = b"\x01\x01\x01\x00"
    stmts = (assign(TTL, c(7, 8)),)
    assert run(stmts, packet(ttl=64, options=options)) == packet(ttl=7, options=options)


def test_a_wrong_checksum_on_arrival_is_not_checked_but_fixed_on_the_way_out() -> None:
    bad = bytearray(packet())
    bad[24:26] = b"\xde\xad"
    assert run((), bytes(bad)) == packet()


def test_without_the_checksum_pass_the_checksum_is_left_alone() -> None:
    bad = bytearray(packet())
    bad[24:26] = b"\xde\xad"
    assert run((), bytes(bad), checksums=()) == bytes(bad)


def test_addition_wraps_at_the_field_width() -> None:
    dport = f("udp", "dst_port", 16)
    stmts = (assign(dport, binop("+", dport, c(0xFFFF, 16))),)  # 80 + 65535 = 79 mod 2^16
    expected = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2") / ScapyUDP(sport=1234, dport=79,
                     chksum=Ether(packet())[ScapyUDP].chksum) / b"payload!")
    assert run(stmts, packet()) == expected


def _meta_program(stmts, metadata):
    return forward_all(1, ingress=stmts, metadata=metadata)


def _eval_into_ttl(expr: ir.Expr) -> int:
    """Write an 8-bit expression into the TTL and read it back from the output packet."""
    out = run((assign(TTL, expr),), packet())
    return Ether(out)[IP].ttl


@pytest.mark.parametrize(("expr", "expected"), [
    (binop("<<", c(0x81, 8), c(1, 8)), 0x02),
    (binop("<<", c(0x81, 8), c(8, 8)), 0),
    (binop(">>", c(0x81, 8), c(7, 3)), 1),
    (binop(">>", c(0x81, 8), c(200, 8)), 0),
    (binop("&", c(0xF0, 8), c(0x3C, 8)), 0x30),
    (binop("|", c(0xF0, 8), c(0x0C, 8)), 0xFC),
    (binop("^", c(0xFF, 8), c(0x0F, 8)), 0xF0),
    (ir.UnOp(ir.UnOpKind.NOT, c(0x0F, 8), B(8)), 0xF0),
    (binop("-", c(3, 8), c(5, 8)), 254),
    (ir.Slice(f("ipv4", "src", 32), 15, 8, B(8)), 0),        # 10.0.0.1: byte 2 is 0
    (ir.Slice(f("ipv4", "src", 32), 31, 24, B(8)), 10),
    (ir.Concat(c(0xA, 4), c(0x5, 4), B(8)), 0xA5),
    (ir.Cast(f("udp", "src_port", 16), B(8)), 1234 & 0xFF),  # keeps the low bits
    (ir.Cast(binop("==", c(1, 8), c(1, 8)), B(8)), 1),
    (ir.Cast(ir.IsValid("vxlan"), B(8)), 0),
    (ir.Cast(binop("<", c(200, 8), c(100, 8)), B(8)), 0),     # unsigned comparison
    (ir.Cast(binop("&&", ir.IsValid("udp"),
                   ir.UnOp(ir.UnOpKind.LNOT, ir.IsValid("tcp"), ir.BOOL)), B(8)), 1),
    (ir.Cast(f("tcp", "flags", 8), B(8)), 0),                 # invalid header reads 0
])
def test_expressions(expr: ir.Expr, expected: int) -> None:
    assert _eval_into_ttl(expr) == expected


def test_writing_a_field_of_an_invalid_header_does_nothing() -> None:
    stmts = (assign(f("tcp", "flags", 8), c(0xFF, 8)),
             assign(TTL, ir.Cast(f("tcp", "flags", 8), B(8))))
    assert run(stmts, packet()) == packet(ttl=0)


def test_metadata_starts_at_zero_and_wraps() -> None:
    m = meta("count", 4)
    stmts = (assign(m, binop("+", m, c(15, 4))), assign(m, binop("+", m, c(2, 4))),
             assign(TTL, ir.Cast(m, B(8))))
    out = run(stmts, packet(), metadata=(ir.MetaField("meta", "count", 4),))
    assert Ether(out)[IP].ttl == 1


def test_std_fields() -> None:
    stmts = (assign(TTL, ir.Cast(ir.MetaRef("std", "ingress_port", B(9)), B(8))),
             assign(f("ipv4", "identification", 16),
                    ir.Cast(ir.MetaRef("std", "packet_length", B(32)), B(16))))
    out = Pipeline(forward_all(1, ingress=stmts)).process(77, packet())
    assert Ether(out[0][1])[IP].ttl == 77
    assert Ether(out[0][1])[IP].id == len(packet())


def test_decap_emits_the_inner_frame() -> None:
    inner = Ether(dst="02:00:00:00:00:aa", src="02:00:00:00:00:bb") / IP() / b"inner"
    outer = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2") / ScapyUDP(sport=5000, dport=4789)
                  / ScapyVXLAN(vni=42) / inner)
    stmts = tuple(ir.SetInvalid(h) for h in ("ethernet", "ipv4", "udp", "vxlan"))
    assert run(stmts, outer) == bytes(inner)


def test_decap_of_an_inner_ipv4_does_not_touch_its_checksum_when_not_parsed() -> None:
    inner = Ether(dst="02:00:00:00:00:aa") / IP(ttl=9, chksum=0x1234) / b"x"
    outer = bytes(ETH / IP() / ScapyUDP(dport=4789) / ScapyVXLAN(vni=1) / inner)
    stmts = tuple(ir.SetInvalid(h) for h in ("ethernet", "ipv4", "udp", "vxlan"))
    assert run(stmts, outer) == bytes(inner)


def test_encap_pushes_zeroed_headers_that_the_action_fills() -> None:
    headers = (
        ir.HeaderInstance("outer_ethernet", ETHERNET), ir.HeaderInstance("outer_ipv4", IPV4),
        ir.HeaderInstance("outer_udp", UDP), ir.HeaderInstance("vxlan", VXLAN),
        ir.HeaderInstance("ethernet", ETHERNET),
    )
    parser = (pstate("start", ("ethernet",)),)
    oi = "outer_ipv4"
    stmts = (
        ir.SetValid("outer_ethernet"), ir.SetValid(oi), ir.SetValid("outer_udp"),
        ir.SetValid("vxlan"),
        assign(f("outer_ethernet", "dst", 48), c(0x020000000099, 48)),
        assign(f("outer_ethernet", "ethertype", 16), c(0x0800, 16)),
        assign(f(oi, "version", 4), c(4, 4)), assign(f(oi, "ihl", 4), c(5, 4)),
        assign(f(oi, "total_len", 16),
               binop("+", ir.Cast(ir.MetaRef("std", "packet_length", B(32)), B(16)),
                     c(20 + 8 + 8, 16))),
        assign(f(oi, "ttl", 8), c(64, 8)), assign(f(oi, "protocol", 8), c(17, 8)),
        assign(f(oi, "src", 32), c(0x0A000001, 32)), assign(f(oi, "dst", 32), c(0x0A000002, 32)),
        assign(f("outer_udp", "src_port", 16), c(49152, 16)),
        assign(f("outer_udp", "dst_port", 16), c(4789, 16)),
        assign(f("outer_udp", "length", 16),
               binop("+", ir.Cast(ir.MetaRef("std", "packet_length", B(32)), B(16)),
                     c(16, 16))),
        assign(f("vxlan", "flags", 8), c(0x08, 8)), assign(f("vxlan", "vni", 24), c(77, 24)),
    )
    prog = make_program(headers=headers, parser=parser, ingress=(ir.Forward(c(2, 9)), *stmts),
                        checksums=("outer_ipv4",))
    inner = bytes(Ether(dst="02:00:00:00:00:aa", src="02:00:00:00:00:bb") / IP() / b"hello")
    expected = bytes(Ether(dst="02:00:00:00:00:99", src="00:00:00:00:00:00")
                     / IP(src="10.0.0.1", dst="10.0.0.2", ttl=64, flags=0, id=0)
                     / ScapyUDP(sport=49152, dport=4789, chksum=0) / ScapyVXLAN(flags=0x08, vni=77, NextProtocol=0)
                     / Ether(inner))
    assert Pipeline(prog).process(0, inner) == [(2, expected)]


def test_set_valid_on_a_valid_header_keeps_its_fields() -> None:
    assert run((ir.SetValid("ipv4"),), packet()) == packet()


def test_set_invalid_then_valid_zeroes_the_fields() -> None:
    stmts = (ir.SetInvalid("udp"), ir.SetValid("udp"))
    out = run(stmts, packet())
    assert out[34:42] == bytes(8)


def test_drop_send_to_host_and_return() -> None:
    prog_drop = forward_all(1, ingress=(ir.Drop(),))
    assert Pipeline(prog_drop).process(0, packet()) == []
    prog_host = forward_all(1, ingress=(ir.SendToHost(),))
    assert Pipeline(prog_host).process(0, packet()) == [(ir.HOST_PORT, packet())]
    prog_return = forward_all(1, ingress=(ir.If(ir.IsValid("udp"), (ir.Return(),), ()),
                                          ir.Drop()))
    assert Pipeline(prog_return).process(0, packet()) == [(1, packet())]


@pytest.mark.parametrize(("payload", "sent"), [(0, False), (1, False), (13, False),
                                               (14, True), (15, True)])
def test_a_packet_shorter_than_an_ethernet_header_is_dropped(payload: int, sent: bool) -> None:
    everything = tuple(ir.SetInvalid(h) for h in ("ethernet", "ipv4", "udp"))
    data = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2") / ScapyUDP(sport=1, dport=2)
                 / bytes(range(payload)))
    out = Pipeline(forward_all(1, ingress=everything)).process(0, data)
    assert out == ([(1, bytes(range(payload)))] if sent else [])


def test_forward_to_port_511_is_a_drop() -> None:
    assert Pipeline(forward_all(511)).process(0, packet()) == []


def test_crc_hashes_of_fields() -> None:
    h32 = meta("h32", 32)
    h16 = meta("h16", 16)
    src, dst, proto = f("ipv4", "src", 32), f("ipv4", "dst", 32), f("ipv4", "protocol", 8)
    stmts = (
        ir.Hash(h32, ir.HashAlgo.CRC32, (src, dst, proto)),
        ir.Hash(h16, ir.HashAlgo.CRC16, (src, dst, proto)),
        assign(f("ipv4", "identification", 16), ir.Slice(h32, 31, 16, B(16))),
        assign(f("udp", "checksum", 16), h16),
    )
    out = run(stmts, packet(), metadata=(ir.MetaField("meta", "h32", 32),
                                          ir.MetaField("meta", "h16", 16)))
    key = bytes([10, 0, 0, 1, 10, 0, 0, 2, 17])
    assert Ether(out)[IP].id == crc32(key) >> 16
    assert Ether(out)[ScapyUDP].chksum == crc16(key)


def test_hash_into_a_narrow_target_keeps_the_low_bits() -> None:
    stmts = (ir.Hash(TTL, ir.HashAlgo.CRC32, (f("ipv4", "src", 32),)),)
    assert Ether(run(stmts, packet()))[IP].ttl == crc32(bytes([10, 0, 0, 1])) & 0xFF


def _counting_program() -> ir.Program:
    """Counts packets per UDP source port (mod 4) in a register; writes the old count into
    the TTL. Index 9 is out of range for the 4-cell register."""
    count = meta("count", 8)
    idx = binop("&", f("udp", "src_port", 16), c(3, 16))
    stmts = (
        ir.RegisterRead(count, "flows", idx),
        ir.RegisterWrite("flows", idx, binop("+", count, c(1, 8))),
        assign(TTL, count),
        ir.If(binop("==", f("udp", "dst_port", 16), c(9, 16)),
              (ir.RegisterWrite("flows", c(9, 16), c(1, 8)),
               ir.RegisterRead(count, "flows", c(9, 16)), assign(TTL, binop("+", count, c(100, 8)))),
              ()),
    )
    return forward_all(1, ingress=stmts, metadata=(ir.MetaField("meta", "count", 8),),
                       registers=(ir.Register("flows", 8, 4),))


def test_registers_keep_state_across_packets_and_wrap() -> None:
    pipeline = Pipeline(_counting_program())
    ttls = [Ether(pipeline.process(0, packet())[0][1])[IP].ttl for _ in range(3)]
    assert ttls == [0, 1, 2]
    assert pipeline.read_register("flows", 1234 & 3) == 3
    pipeline.registers["flows"][1234 & 3] = 255
    pipeline.process(0, packet())
    assert pipeline.read_register("flows", 1234 & 3) == 0


def test_register_index_out_of_range_reads_zero_and_writes_nothing() -> None:
    pipeline = Pipeline(_counting_program())
    data = bytes(ETH / IP() / ScapyUDP(sport=0, dport=9))
    assert Ether(pipeline.process(0, data)[0][1])[IP].ttl == 100


def _meter_program(unit: ir.MeterUnit) -> ir.Program:
    colour = meta("colour", 2)
    stmts = (ir.MeterExecute(colour, "rate", c(0, 4)), assign(TTL, ir.Cast(colour, B(8))))
    return forward_all(1, ingress=stmts, metadata=(ir.MetaField("meta", "colour", 2),),
                       meters=(ir.Meter("rate", unit, 2),))


def _colours(pipeline: Pipeline, times: list[float]) -> list[int]:
    return [Ether(pipeline.process(0, packet(), now=t)[0][1])[IP].ttl for t in times]


def test_unconfigured_meters_are_green() -> None:
    assert _colours(Pipeline(_meter_program(ir.MeterUnit.PACKETS)), [0] * 5) == [0] * 5


def test_packet_meter_two_rates_three_colours() -> None:
    pipeline = Pipeline(_meter_program(ir.MeterUnit.PACKETS))
    # committed 10 packets/s with a burst of 2, peak 20 packets/s with a burst of 3
    pipeline.set_meter("rate", 0, 10, 2, 20, 3)
    assert _colours(pipeline, [0, 0, 0, 0]) == [0, 0, 1, 2]
    # 0.1 s later: one committed token and two peak tokens came back
    assert _colours(pipeline, [0.1, 0.1, 0.1]) == [0, 1, 2]
    # a long pause refills both buckets only up to their bursts
    assert _colours(pipeline, [100, 100, 100, 100]) == [0, 0, 1, 2]


def test_byte_meter_counts_the_packet_length() -> None:
    pipeline = Pipeline(_meter_program(ir.MeterUnit.BYTES))
    size = len(packet())
    pipeline.set_meter("rate", 0, 1000, size * 2, 2000, size * 3)
    assert _colours(pipeline, [0, 0, 0, 0]) == [0, 0, 1, 2]


def test_header_type_helper_builds_whole_bytes() -> None:
    assert header_type("x", [("a", 3), ("b", 5)]).fixed_bytes == 1
