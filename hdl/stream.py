"""The packet stream interface every wirespeed component speaks.

One beat carries ``W`` bits of packet data as ``W/8`` byte lanes, AXI-Stream style: the first
byte of the packet on the wire is lane 0 (bits 7..0). ``keep`` marks the valid lanes, always a
contiguous run from lane 0 (only the last beat of a packet may be partial). ``first`` and
``last`` delimit packets. ``port`` is the ingress port on the way in and the egress port on
the way out (510 = host). ``tag`` is an opaque number that travels with the packet, so a test
bench can tell which input packet an output came from even when packets are dropped.
"""

from __future__ import annotations

from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib import data, stream
from amaranth.lib.fifo import FIFOInterface
from wirespeed.compiler import ir

WIDTHS = (64, 128, 256, 512)
TAG_WIDTH = 16


def beat_layout(width: int) -> data.StructLayout:
    if width % 8 or width < 64:
        raise ValueError(f"data width must be a multiple of 8 and at least 64, not {width}")
    return data.StructLayout({
        "data": width,
        "keep": width // 8,
        "first": 1,
        "last": 1,
        "port": ir.PORT_WIDTH,
        "tag": TAG_WIDTH,
    })


def packet_stream(width: int) -> stream.Signature:
    """A packet stream of ``width``-bit beats with valid/ready backpressure."""
    return stream.Signature(beat_layout(width))


class ReadRegister(Elaboratable):
    """A FIFO's read side behind flip-flops: the same first-word-fall-through ``r_data``,
    ``r_rdy`` and ``r_en``, a clock later, still a word per clock.

    A block RAM FIFO's ``r_data`` is the RAM's read port, and an ECP5 DP16KD without its
    output register drives it 5.8 ns after the clock: the output stage, which looks at a beat's
    ``keep`` to decide whether to read the next one, started a quarter of a 41.7 MHz cycle late
    (the vxlan_decap NIC's longest path on the Colorlight, routed)."""

    def __init__(self, fifo: FIFOInterface) -> None:
        self.fifo = fifo
        self.r_data = Signal(fifo.width)
        self.r_rdy = Signal()
        self.r_en = Signal()

    def elaborate(self, platform) -> Module:
        m = Module()
        load = ~self.r_rdy | self.r_en
        m.d.comb += self.fifo.r_en.eq(load)
        with m.If(load):
            m.d.sync += [self.r_rdy.eq(self.fifo.r_rdy), self.r_data.eq(self.fifo.r_data)]
        return m
