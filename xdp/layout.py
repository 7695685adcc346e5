"""C types for ``bit<N>`` values and the byte layout of every BPF map key and value.

The generated C and the Python control plane must agree on each struct to the byte: this
module computes the layout once (natural alignment, members sorted widest first, explicit
padding members), the template prints it as C with ``_Static_assert`` checks on every offset,
and the control plane packs keys and values with the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

# Unsigned C types by size in bytes; every value of bit<N> lives in the smallest that holds it.
_CTYPES = {1: "__u8", 2: "__u16", 4: "__u32", 8: "__u64", 16: "u128"}


def storage_bytes(width: int) -> int:
    """Bytes of the smallest unsigned C integer that holds a bit<width> value."""
    for size in (1, 2, 4, 8, 16):
        if width <= size * 8:
            return size
    raise ValueError(f"bit<{width}> is wider than 128 bits")


def ctype(width: int) -> str:
    return _CTYPES[storage_bytes(width)]


def mask(width: int) -> int:
    return (1 << width) - 1


def is_natural(width: int) -> bool:
    """True when bit<width> fills its C type, so wrap-around needs no explicit mask."""
    return width in (8, 16, 32, 64, 128)


@dataclass(frozen=True)
class Member:
    """One struct member: a little-endian integer of ``size`` bytes, or a byte array
    (``array=True``) written as given (big-endian keys of LPM tries)."""

    name: str
    size: int
    offset: int
    array: bool = False

    @property
    def c_decl(self) -> str:
        if self.array:
            return f"__u8 {self.name}[{self.size}];"
        return f"{_CTYPES[self.size]} {self.name};"


@dataclass(frozen=True)
class Struct:
    name: str
    members: tuple[Member, ...]
    size: int
    align: int

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)

    def c_members(self) -> list[str]:
        """Member declarations in offset order, with explicit padding so that ``= {}`` zeroes
        every byte (hash map keys must have no stray padding bytes)."""
        lines: list[str] = []
        at = 0
        for m in sorted(self.members, key=lambda m: m.offset):
            if m.offset > at:
                lines.append(f"__u8 _pad{at}[{m.offset - at}];")
            lines.append(m.c_decl)
            at = m.offset + m.size
        if self.size > at:
            lines.append(f"__u8 _pad{at}[{self.size - at}];")
        return lines

    def pack(self, values: dict[str, int | bytes]) -> bytes:
        out = bytearray(self.size)
        for m in self.members:
            value = values.get(m.name, 0)
            if m.array:
                assert isinstance(value, bytes) and len(value) == m.size
                out[m.offset:m.offset + m.size] = value
            else:
                assert isinstance(value, int)
                out[m.offset:m.offset + m.size] = (value & mask(m.size * 8)).to_bytes(
                    m.size, "little")
        return bytes(out)

    def unpack(self, data: bytes, name: str) -> int:
        m = self.member(name)
        return int.from_bytes(data[m.offset:m.offset + m.size], "little")


def align_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def natural_struct(name: str, fields: list[tuple[str, int]], *, min_align: int = 1,
                   start: int = 0) -> Struct:
    """A struct of integer members (``(name, size in bytes)``), widest first so that natural
    alignment leaves no holes; ``start`` reserves bytes at the front."""
    members = []
    at = start
    align = min_align
    for fname, size in sorted(fields, key=lambda f: -f[1]):
        at = align_up(at, size)
        members.append(Member(fname, size, at))
        at += size
        align = max(align, size)
    return Struct(name, tuple(members), align_up(max(at, 1), align), align)
