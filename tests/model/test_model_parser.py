"""The reference model's parser: select kinds, variable-length IPv4 options, truncation and
malformed input. Expected packets are built with scapy, never by the model."""

import pytest
from hand_ir import c, f, forward_all, state
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from wirespeed.compiler import ir
from wirespeed.compiler.model import Pipeline

ETH = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")


def udp_packet(**ip) -> bytes:
    return bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", **ip) / UDP(sport=1234, dport=80)
                 / b"payload!")


def vxlan_packet() -> bytes:
    inner = Ether(dst="02:00:00:00:00:aa", src="02:00:00:00:00:bb") / IP() / b"inner"
    return bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5000, dport=4789)
                 / VXLAN(vni=42) / inner)


def test_a_parsed_packet_leaves_unchanged() -> None:
    data = udp_packet()
    assert Pipeline(forward_all(3)).process(0, data) == [(3, data)]


def test_a_packet_never_forwarded_is_dropped() -> None:
    prog = forward_all(1)
    prog = ir.Program(**{**prog.__dict__, "ingress": ()})
    assert Pipeline(prog).process(0, udp_packet()) == []


def test_non_ip_frames_are_accepted_after_ethernet() -> None:
    data = bytes(Ether(type=0x86DD) / (b"\x60" * 50))
    assert Pipeline(forward_all(2)).process(0, data) == [(2, data)]


@pytest.mark.parametrize("make", [udp_packet, vxlan_packet,
                                  lambda: bytes(ETH / IP() / TCP(dport=22))])
def test_truncation_at_every_byte_before_the_last_header_ends_drops(make) -> None:
    data = make()
    packet = Ether(data)
    # where the parsed headers end: everything but the payload the parser leaves alone
    if packet.haslayer(VXLAN):
        headers_end = 14 + 20 + 8 + 8 + 14
    elif packet.haslayer(UDP):
        headers_end = 14 + 20 + 8
    else:
        headers_end = 14 + 20 + 20
    pipeline = Pipeline(forward_all(1))
    for length in range(headers_end):
        assert pipeline.process(0, data[:length]) == [], f"length {length}"
    assert pipeline.process(0, data[:headers_end]) == [(1, data[:headers_end])]


@pytest.mark.parametrize("option_words", range(1, 11))
def test_ipv4_options_are_carried_through(option_words: int) -> None:
    options = bytes([1]) * (option_words * 4 - 1) + b"\x00"  # NOPs then end-of-list
    data = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", options=options)
                 / UDP(sport=1, dport=2) / b"x")
    assert Ether(data)[IP].ihl == 5 + option_words
    assert Pipeline(forward_all(1)).process(0, data) == [(1, data)]


@pytest.mark.parametrize("ihl", [0, 1, 4])
def test_ihl_below_five_drops(ihl: int) -> None:
    data = bytearray(udp_packet())
    data[14] = 0x40 | ihl
    assert Pipeline(forward_all(1)).process(0, bytes(data)) == []


def test_options_past_the_end_of_the_packet_drop() -> None:
    data = bytearray(bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", proto=200)))
    data[14] = 0x4F  # ihl 15: 40 bytes of options that are not there
    assert Pipeline(forward_all(1)).process(0, bytes(data)) == []
    padded = bytes(data) + bytes(40)
    out = Pipeline(forward_all(1)).process(0, padded)
    assert len(out) == 1 and len(out[0][1]) == len(padded)


def _select_program(*cases: tuple[tuple[ir.Match, ...], str], keys=None) -> ir.Program:
    """ethertype selects between two markers; the control forwards to the port named after
    the state reached (tcp valid -> 6, udp valid -> 7, else 1)."""
    keys = keys or (f("ethernet", "ethertype", 16),)
    parser = (
        state("start", ("ethernet",), keys, cases),
        state("as_udp", ("udp",)),
        state("as_tcp", ("tcp",)),
    )
    ingress = (
        ir.Forward(c(1, 9)),
        ir.If(ir.IsValid("udp"), (ir.Forward(c(7, 9)),), ()),
        ir.If(ir.IsValid("tcp"), (ir.Forward(c(6, 9)),), ()),
    )
    return forward_all(parser=parser, ingress=ingress)


def _port_for(prog: ir.Program, ethertype: int) -> int | None:
    out = Pipeline(prog).process(0, bytes(Ether(type=ethertype) / bytes(40)))
    return out[0][0] if out else None


def test_select_value_mask_range_and_first_match_wins() -> None:
    prog = _select_program(
        ((ir.Exact(0x1234),), "as_udp"),
        ((ir.Ternary(0x1200, 0xFF00),), "as_tcp"),   # 0x1234 matched above first
        ((ir.Range(0x2000, 0x2FFF),), "as_udp"),
        ((ir.Lpm(0x3000, 4),), "as_tcp"),
        ((ir.Wildcard(),), ir.REJECT),
    )
    assert _port_for(prog, 0x1234) == 7
    assert _port_for(prog, 0x12AB) == 6
    assert _port_for(prog, 0x2000) == 7
    assert _port_for(prog, 0x2FFF) == 7
    assert _port_for(prog, 0x3ABC) == 6
    assert _port_for(prog, 0x4000) is None  # wildcard arm to reject


def test_select_without_a_match_takes_the_default() -> None:
    prog = _select_program(((ir.Exact(0x1234),), "as_udp"))
    assert _port_for(prog, 0x9999) == 1


def test_select_on_two_keys_needs_both() -> None:
    keys = (f("ethernet", "ethertype", 16), ir.Slice(f("ethernet", "dst", 48), 7, 0, ir.Bits(8)))
    prog = _select_program(((ir.Exact(0x1234), ir.Exact(0x05)), "as_udp"), keys=keys)
    hit = bytes(Ether(dst="00:00:00:00:00:05", type=0x1234) / bytes(40))
    miss = bytes(Ether(dst="00:00:00:00:00:06", type=0x1234) / bytes(40))
    assert Pipeline(prog).process(0, hit)[0][0] == 7
    assert Pipeline(prog).process(0, miss)[0][0] == 1


def test_a_parser_loop_is_rejected_not_hung() -> None:
    parser = (state("start", ("ethernet",), (), (), "spin"), state("spin", (), (), (), "spin"))
    assert Pipeline(forward_all(parser=parser)).process(0, bytes(60)) == []


def test_runts_and_jumbo_frames_are_processed() -> None:
    runt = bytes(Ether(type=0x9000))  # 14 bytes
    jumbo = bytes(Ether(type=0x9000) / bytes(9000))
    pipeline = Pipeline(forward_all(1))
    assert pipeline.process(0, runt) == [(1, runt)]
    assert pipeline.process(0, jumbo) == [(1, jumbo)]

