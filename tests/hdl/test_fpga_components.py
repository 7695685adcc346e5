"""Component tests in Amaranth's simulator, at every data width: the stream interface, the
header window, header insertion and removal with payload realignment across beats, the IPv4
checksum, and the CRC units against the software CRCs. Expected outputs come from the
reference model, never from the hardware under test."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator
from amaranth_bench import run_pipeline
from wirespeed.compiler import ir
from wirespeed.compiler.frontend import compile_source
from wirespeed.compiler.model import Pipeline as Model
from wirespeed.hdl.crc import hardware_crc, software_crc
from wirespeed.hdl.stream import WIDTHS

ENCAP_DECAP = """
import std;
header tag_t { kind: bit<8>; id: bit<24>; }
headers { ethernet: ethernet; tag: tag_t; ipv4: ipv4; udp: udp; }
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; 0x88b5: tagged; _: accept; } }
  tagged { extract tag; next v4; }
  v4 { extract ipv4; select ipv4.protocol { 17: l4; _: accept; } }
  l4 { extract udp; next accept; }
}
control ingress {
  if tag.valid {
    tag.setInvalid();                  # pop: the payload moves 4 bytes towards the front
    ethernet.ethertype = 0x0800;
    forward(2);
  } else if ipv4.valid {
    tag.setValid();                    # push: the payload moves 4 bytes back
    tag.kind = 7;
    tag.id = (bit<24>) ipv4.ttl;
    ethernet.ethertype = 0x88b5;
    ipv4.ttl = ipv4.ttl - 1;           # the checksum is recomputed on the way out
    forward(std.ingress_port + 1);
  } else if ethernet.ethertype == 0x0806 {
    send_to_host();
  }
}
"""


def _packets(rng: random.Random, count: int) -> list[tuple[int, bytes]]:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Raw

    out = []
    for n in range(count):
        payload = Raw(bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 7, 33, 200]))))
        kind = n % 5
        if kind == 0:
            pkt = Ether(type=0x88B5) / bytes([1, 0, 0, 9]) / IP(ttl=9, options=b"\x01" * 4 *
                                                                  rng.randrange(3)) / payload
        elif kind == 1:
            pkt = Ether() / ARP()
        elif kind == 2:
            pkt = Ether() / IP(ttl=rng.randrange(1, 255), proto=17) / UDP() / payload
        elif kind == 3:
            pkt = Ether() / IP(ttl=64, options=b"\x01" * 8) / payload
        else:
            pkt = Ether(type=0x0800) / bytes(rng.randrange(256) for _ in range(10))  # truncated
        out.append((n % 4, bytes(pkt)))
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_header_push_and_pop_realign_the_payload(width: int) -> None:
    program = compile_source(ENCAP_DECAP, "encap.wire")
    rng = random.Random(width)
    packets = _packets(rng, 25 if width <= 128 else 15)  # the wide designs simulate slowly
    outputs, errors = run_pipeline(program, width, packets, seed=width)
    assert errors == []
    model = Model(program)
    for tag, (port, data) in enumerate(packets):
        expected = [tuple(x) for x in model.process(port, data)]
        assert outputs.get(tag, []) == expected, f"packet {tag} ({len(data)} bytes)"


@pytest.mark.parametrize("width", [64, 256])
def test_back_to_back_minimum_frames_with_no_idle(width: int) -> None:
    program = compile_source(ENCAP_DECAP, "encap.wire")
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether
    packets = [(0, bytes(Ether() / IP(ttl=5 + n) / bytes(26))) for n in range(20)]
    outputs, errors = run_pipeline(program, width, packets, idle=0.0, backpressure=0.0)
    assert errors == []
    model = Model(program)
    assert [outputs[t] for t in range(20)] == [model.process(0, d) for _, d in packets]


@pytest.mark.parametrize("algo", list(ir.HashAlgo))
@pytest.mark.parametrize("width", [8, 16, 104])
def test_crc_units_match_the_software_crc(algo: ir.HashAlgo, width: int) -> None:
    value = Signal(width)
    m = Module()
    out = Signal(32)
    m.d.comb += out.eq(hardware_crc(algo, value))
    rng = random.Random(width)
    samples = [0, (1 << width) - 1, *(rng.getrandbits(width) for _ in range(20))]

    async def bench(ctx) -> None:
        for v in samples:
            ctx.set(value, v)
            assert ctx.get(out) == software_crc(algo, v, width), hex(v)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
