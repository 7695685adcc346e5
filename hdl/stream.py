"""The packet stream interface every wirespeed component speaks.

One beat carries ``W`` bits of packet data as ``W/8`` byte lanes, AXI-Stream style: the first
byte of the packet on the wire is lane 0 (bits 7..0). ``keep`` marks the valid lanes, always a
contiguous run from lane 0 (only the last beat of a packet may be partial). ``first`` and
``last`` delimit packets. ``port`` is the ingress port on the way in and the egress port on
the way out (510 = host). ``tag`` is an opaque number that travels with the packet, so a test
bench can tell which input packet an output came from even when packets are dropped.
"""

from __future__ import annotations

from amaranth.lib import data, stream
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
