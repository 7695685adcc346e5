"""The executor's own extern arithmetic against published values, not against the model."""

from __future__ import annotations

from wirespeed.sim.p4exec.machine import crc16, crc32, csum16


def test_crcs_give_the_catalogue_check_values() -> None:
    # "123456789" is the check input of the CRC catalogue (reveng): CRC-16/ARC = 0xBB3D,
    # CRC-32/ISO-HDLC = 0xCBF43926.
    assert crc16(b"123456789") == 0xBB3D
    assert crc32(b"123456789") == 0xCBF43926


def test_csum16_of_the_rfc1071_example() -> None:
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum (ones' complement) to 0xddf2,
    # so the checksum is its complement 0x220d.
    assert csum16(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_csum16_of_a_real_ipv4_header_is_its_checksum() -> None:
    # A header captured with its checksum (0xb861) zeroed: 45 00 00 73 00 00 40 00 40 11
    # 00 00 c0 a8 00 01 c0 a8 00 c7 (the Wikipedia IPv4 checksum example).
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert csum16(header) == 0xB861
