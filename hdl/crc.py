"""CRC-16/ARC and CRC-32/ISO-HDLC, in software and as parallel XOR networks.

Both CRCs are affine in the message for a fixed message length: ``crc(m) = crc(0) ^ L(m)``.
We find ``L`` column by column in Python (one software CRC per input bit) and emit one XOR
tree per output bit, so the hardware is bit-identical to the reference by construction and
takes the whole key in one cycle.
"""

from __future__ import annotations

import zlib
from functools import cache

from amaranth.hdl import Cat, Const, Value
from wirespeed.compiler import ir


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (poly 0x8005 reflected, init 0, xorout 0), bmv2's ``crc16``."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def software_crc(algo: ir.HashAlgo, value: int, width: int) -> int:
    """The CRC of ``value`` taken as ``width // 8`` big-endian bytes."""
    data = value.to_bytes(width // 8, "big")
    return crc16_arc(data) if algo == ir.HashAlgo.CRC16 else crc32(data)


def crc_width(algo: ir.HashAlgo) -> int:
    return 16 if algo == ir.HashAlgo.CRC16 else 32


@cache
def _columns(algo: ir.HashAlgo, width: int) -> tuple[int, tuple[int, ...]]:
    base = software_crc(algo, 0, width)
    return base, tuple(software_crc(algo, 1 << i, width) ^ base for i in range(width))


def hardware_crc(algo: ir.HashAlgo, value: Value) -> Value:
    """A combinational CRC of ``value`` (its bytes MSB first, as ``software_crc``)."""
    width = len(value)
    if width % 8:
        raise ValueError("a CRC input must be a whole number of bytes")
    base, columns = _columns(algo, width)
    bits = []
    for out_bit in range(crc_width(algo)):
        taps = [value[i] for i in range(width) if columns[i] >> out_bit & 1]
        constant = Const(base >> out_bit & 1, 1)
        bits.append(Cat(*taps, constant).xor() if taps else constant)
    return Cat(*bits)
