"""The hash functions of the language, bit-exact with bmv2's ``crc16`` and ``crc32``.

``crc16`` is CRC-16/ARC (polynomial 0x8005, reflected in and out, init 0, xorout 0) and
``crc32`` is CRC-32/ISO-HDLC as ``zlib.crc32``. ``hash_fields`` is what the ``Hash`` statement
computes: the fields concatenated most significant bit first into bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from wirespeed.compiler.ir import HashAlgo


def _crc16_arc_table() -> tuple[int, ...]:
    # 0xA001 is 0x8005 bit-reversed: the reflected algorithm shifts right.
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC16_TABLE = _crc16_arc_table()


def crc16(data: bytes) -> int:
    """CRC-16/ARC of ``data`` (check value for b"123456789": 0xBB3D)."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC16_TABLE[(crc ^ byte) & 0xFF]
    return crc


def crc32(data: bytes) -> int:
    """CRC-32 of ``data`` as zlib computes it (check value for b"123456789": 0xCBF43926)."""
    return zlib.crc32(data) & 0xFFFFFFFF


def pack_fields(fields: Iterable[tuple[int, int]]) -> bytes:
    """Concatenate ``(value, width)`` pairs MSB first; the total width must be whole bytes."""
    total = 0
    width_sum = 0
    for value, width in fields:
        if width <= 0:
            raise ValueError(f"field width must be positive, got {width}")
        total = (total << width) | (value & ((1 << width) - 1))
        width_sum += width
    if width_sum % 8:
        raise ValueError(f"hashed fields total {width_sum} bits, not a multiple of 8")
    return total.to_bytes(width_sum // 8, "big")


def hash_fields(algo: HashAlgo | str, fields: Iterable[tuple[int, int]]) -> int:
    """The hash ``algo`` (``crc16`` or ``crc32``) of the concatenated fields."""
    data = pack_fields(fields)
    match HashAlgo(algo):
        case HashAlgo.CRC16:
            return crc16(data)
        case HashAlgo.CRC32:
            return crc32(data)
