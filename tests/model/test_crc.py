"""The hash functions against published check values (not against themselves)."""

import pytest
from wirespeed.compiler.crc import crc16, crc32, hash_fields


def test_crc16_arc_check_value() -> None:
    assert crc16(b"123456789") == 0xBB3D


def test_crc32_check_value() -> None:
    assert crc32(b"123456789") == 0xCBF43926


def test_crc16_of_nothing_is_the_init_value() -> None:
    assert crc16(b"") == 0


def test_hash_fields_concatenates_msb_first() -> None:
    # 0x31 0x32 0x33 ... split over fields of 4, 12, 8 and 48 bits is still "123456789".
    data = b"123456789"
    value = int.from_bytes(data, "big")
    fields = [(value >> 68, 4), ((value >> 56) & 0xFFF, 12), ((value >> 48) & 0xFF, 8),
              (value & (2**48 - 1), 48)]
    assert hash_fields("crc32", fields) == 0xCBF43926
    assert hash_fields("crc16", fields) == 0xBB3D


def test_hash_fields_masks_values_to_their_width() -> None:
    assert hash_fields("crc16", [(0x131, 8)]) == crc16(b"\x31")


def test_hash_fields_needs_whole_bytes() -> None:
    with pytest.raises(ValueError, match="not a multiple of 8"):
        hash_fields("crc16", [(1, 4)])
