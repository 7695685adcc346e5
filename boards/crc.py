"""Ethernet's CRC-32 (the FCS), one byte per clock, as a hardware component and in Python.

The hardware update is the XOR network of the byte-wise CRC step, derived here by running the
reference step on unit vectors: the step without init/xorout is linear over GF(2), so output
bit ``i`` is the XOR of exactly those state and data bits whose unit vector sets it.
"""

import zlib
from functools import cache

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

POLY_REFLECTED = 0xEDB88320
# The register value after a whole frame including a correct FCS (no final inversion).
RESIDUE = 0xDEBB20E3


def crc32_step(state: int, byte: int) -> int:
    """One byte of the reflected CRC-32 register update (no init, no final xor)."""
    state ^= byte
    for _ in range(8):
        state = (state >> 1) ^ (POLY_REFLECTED if state & 1 else 0)
    return state


def fcs(frame: bytes) -> bytes:
    """The four FCS bytes as they go on the wire after ``frame``."""
    return zlib.crc32(frame).to_bytes(4, "little")


@cache
def _taps() -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """For each output bit: (state bits, data bits) whose XOR gives it."""
    out: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    for bit in range(32):
        state_bits = tuple(i for i in range(32) if crc32_step(1 << i, 0) >> bit & 1)
        data_bits = tuple(i for i in range(8) if crc32_step(0, 1 << i) >> bit & 1)
        out.append((state_bits, data_bits))
    return tuple(out)


class Crc32(wiring.Component):
    """A running Ethernet CRC-32 over a byte stream.

    ``clear`` restarts it (takes priority over ``en``); ``en`` folds ``data`` into the state.
    ``crc`` is the FCS value of the bytes so far (the inverted state, send it LSB first);
    ``residue_ok`` is high when the bytes so far end in their own correct FCS.
    """

    clear: In(1)
    en: In(1)
    data: In(8)
    crc: Out(32)
    residue_ok: Out(1)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        state = Signal(32, init=0xFFFFFFFF)
        nxt = Signal(32)
        for bit, (state_bits, data_bits) in enumerate(_taps()):
            term = 0
            for i in state_bits:
                term ^= state[i]
            for i in data_bits:
                term ^= self.data[i]
            m.d.comb += nxt[bit].eq(term)
        with m.If(self.clear):
            m.d.sync += state.eq(0xFFFFFFFF)
        with m.Elif(self.en):
            m.d.sync += state.eq(nxt)
        m.d.comb += [
            self.crc.eq(~state),
            self.residue_ok.eq(state == RESIDUE),
        ]
        return m
