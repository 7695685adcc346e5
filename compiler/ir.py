"""The wirespeed IR: the one meaning every backend reads.

Plain frozen dataclasses, built by the front end (``compiler.lower``) from a checked AST and
rewritten by passes (``compiler.passes``). Backends (``hdl``, ``p4``, ``xdp``) and the reference
model (``compiler.model``) read only this module, never the parser or the AST.

Conventions that every consumer relies on:

* Every value is an unsigned ``bit<N>``; arithmetic wraps modulo 2**N. Conditions have type
  ``BOOL``. Both operands of a binary operator have the same width (the checker inserts ``Cast``
  where the source mixed widths, and literals take the width of the other side).
* Header fields are big-endian on the wire, packed MSB first with no padding.
* The packet's fate is the standard metadata field ``std.egress_port`` (bit<9>): it starts at
  ``DROP_PORT`` (511), so a packet the program never forwards is dropped. ``HOST_PORT`` (510)
  means "send to the host's network stack" (XDP_PASS on the XDP target).
* Table entry priorities follow bmv2 and p4c's STF runner: the *lowest* number wins.
* Every ``Span`` points back at the ``.wire`` source so backends can name things after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum, StrEnum
from typing import Union

DROP_PORT = 511
HOST_PORT = 510
PORT_WIDTH = 9


@dataclass(frozen=True)
class Span:
    """A place in a source file (1-based line and column)."""

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<builtin>", 0, 0)


# ---------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Bits:
    width: int

    def __str__(self) -> str:
        return f"bit<{self.width}>"


@dataclass(frozen=True)
class BoolType:
    def __str__(self) -> str:
        return "bool"


BOOL = BoolType()
Type = Union[Bits, BoolType]


# ---------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Field:
    name: str
    width: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class VarLen:
    """Trailing variable-length bytes of a header (IPv4 options), opaque to the program.

    Length in bytes = ``<length_field> * scale + offset``; it must be between 0 and
    ``max_bytes`` or the parser rejects the packet (for IPv4: ``ihl * 4 - 20``, max 40).
    """

    name: str
    length_field: str
    scale: int
    offset: int
    max_bytes: int


@dataclass(frozen=True)
class HeaderType:
    name: str
    fields: tuple[Field, ...]
    varlen: VarLen | None = None
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def fixed_bits(self) -> int:
        return sum(f.width for f in self.fields)

    @property
    def fixed_bytes(self) -> int:
        return self.fixed_bits // 8

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def offset_bits(self, name: str) -> int:
        """Bit offset of a field from the start of the header (MSB first)."""
        offset = 0
        for f in self.fields:
            if f.name == name:
                return offset
            offset += f.width
        raise KeyError(name)


@dataclass(frozen=True)
class HeaderInstance:
    """A header in the packet. Declaration order is the deparse (wire) order."""

    name: str
    type: HeaderType
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class MetaField:
    """A metadata field. ``std`` fields are ``ingress_port``, ``egress_port`` and
    ``packet_length``; user metadata lives in ``meta`` and starts at zero for every packet."""

    scope: str  # "meta" | "std"
    name: str
    width: int
    span: Span = field(default=NO_SPAN, compare=False)


STD_FIELDS = (
    MetaField("std", "ingress_port", PORT_WIDTH),
    MetaField("std", "egress_port", PORT_WIDTH),
    MetaField("std", "packet_length", 32),
)


# ---------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Const:
    value: int
    type: Type


@dataclass(frozen=True)
class FieldRef:
    """``header.field``. Reading a field of an invalid header yields 0."""

    header: str
    field: str
    type: Bits


@dataclass(frozen=True)
class MetaRef:
    scope: str  # "meta" | "std"
    name: str
    type: Bits


@dataclass(frozen=True)
class ParamRef:
    """An action parameter, only inside an action body."""

    name: str
    type: Bits


@dataclass(frozen=True)
class IsValid:
    header: str
    type: BoolType = BOOL


class BinOpKind(StrEnum):
    ADD = "+"
    SUB = "-"
    AND = "&"
    OR = "|"
    XOR = "^"
    SHL = "<<"
    SHR = ">>"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LAND = "&&"
    LOR = "||"


COMPARISONS = frozenset(
    {BinOpKind.EQ, BinOpKind.NE, BinOpKind.LT, BinOpKind.LE, BinOpKind.GT, BinOpKind.GE}
)
LOGICAL = frozenset({BinOpKind.LAND, BinOpKind.LOR})


@dataclass(frozen=True)
class BinOp:
    """Arithmetic wraps at the operand width; shifts by >= width give 0; comparisons are
    unsigned and give BOOL; ``&&``/``||`` take and give BOOL. For shifts only the left operand
    fixes the width (the right may be any width)."""

    op: BinOpKind
    left: Expr
    right: Expr
    type: Type


class UnOpKind(StrEnum):
    NOT = "~"  # bitwise
    LNOT = "!"  # boolean


@dataclass(frozen=True)
class UnOp:
    op: UnOpKind
    operand: Expr
    type: Type


@dataclass(frozen=True)
class Slice:
    """``value[hi:lo]``, both bounds inclusive, like P4."""

    value: Expr
    hi: int
    lo: int
    type: Bits


@dataclass(frozen=True)
class Concat:
    """``a ++ b``: ``a`` in the high bits."""

    left: Expr
    right: Expr
    type: Bits


@dataclass(frozen=True)
class Cast:
    """Zero-extend or truncate (keep the low bits) to ``type.width``; BOOL to bit<1>."""

    value: Expr
    type: Bits


Expr = Union[Const, FieldRef, MetaRef, ParamRef, IsValid, BinOp, UnOp, Slice, Concat, Cast]
LValue = Union[FieldRef, MetaRef]


# ----------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Assign:
    """Writing a field of an invalid header has no effect."""

    target: LValue
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class SetValid:
    """Make a header valid (push/encap). Its fields become zero unless it was already valid."""

    header: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class SetInvalid:
    """Remove a header (pop/decap): it is not emitted by the deparser."""

    header: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Forward:
    """``std.egress_port = port``."""

    port: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Drop:
    """``std.egress_port = DROP_PORT``."""

    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class SendToHost:
    """``std.egress_port = HOST_PORT``."""

    span: Span = field(default=NO_SPAN, compare=False)


class HashAlgo(StrEnum):
    CRC16 = "crc16"  # CRC-16/ARC: poly 0x8005 reflected, init 0, xorout 0 (bmv2's crc16)
    CRC32 = "crc32"  # CRC-32/ISO-HDLC, as zlib.crc32 (bmv2's crc32)


@dataclass(frozen=True)
class Hash:
    """``target = algo(fields concatenated MSB first)``, result truncated or zero-extended to
    the target width. The fields' total width is a multiple of 8."""

    target: LValue
    algo: HashAlgo
    fields: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class RegisterRead:
    """``target = register[index]``; an index out of range reads 0."""

    target: LValue
    register: str
    index: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class RegisterWrite:
    """``register[index] = value``; an index out of range writes nothing."""

    register: str
    index: Expr
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class MeterExecute:
    """``target = meter.execute(index)``: 0 green, 1 yellow, 2 red (v1model's colours)."""

    target: LValue
    meter: str
    index: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class ActionCall:
    action: str
    args: tuple[int, ...] = ()


@dataclass(frozen=True)
class Apply:
    """Apply a table and run the action it chooses."""

    table: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class ApplyHit:
    """Apply a table, then run ``hit`` if an entry matched, else ``miss``."""

    table: str
    hit: tuple[Stmt, ...]
    miss: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class SwitchCase:
    actions: tuple[str, ...]
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class ApplySwitch:
    """Apply a table, then run the case of the action it ran (``default`` if none listed)."""

    table: str
    cases: tuple[SwitchCase, ...]
    default: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    otherwise: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Return:
    """Leave the ingress control; the packet keeps the fate decided so far."""

    span: Span = field(default=NO_SPAN, compare=False)


# Statements inside an action body: Assign, SetValid, SetInvalid, Forward, Drop, SendToHost,
# Hash, RegisterRead, RegisterWrite, MeterExecute. The control may use all of them plus the
# Apply*, If and Return forms.
Stmt = Union[
    Assign, SetValid, SetInvalid, Forward, Drop, SendToHost, Hash, RegisterRead, RegisterWrite,
    MeterExecute, Apply, ApplyHit, ApplySwitch, If, Return,
]


# ----------------------------------------------------------------------------- the parser

ACCEPT = "accept"
REJECT = "reject"


@dataclass(frozen=True)
class Exact:
    value: int


@dataclass(frozen=True)
class Lpm:
    value: int
    prefix_len: int


@dataclass(frozen=True)
class Ternary:
    """Matches ``key & mask == value & mask``."""

    value: int
    mask: int


@dataclass(frozen=True)
class Range:
    lo: int
    hi: int  # inclusive


@dataclass(frozen=True)
class Wildcard:
    pass


Match = Union[Exact, Lpm, Ternary, Range, Wildcard]


@dataclass(frozen=True)
class SelectCase:
    """One ``select`` arm: a match per key; the first arm that matches wins."""

    matches: tuple[Match, ...]
    next_state: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class ParserState:
    """Extract ``extracts`` in order, then go to the first matching select arm, else
    ``default``. A state with no select keys goes straight to ``default``. Extracting past the
    end of the packet, or a VarLen out of bounds, rejects the packet (it is dropped)."""

    name: str
    extracts: tuple[str, ...]
    select_keys: tuple[Expr, ...]
    cases: tuple[SelectCase, ...]
    default: str
    span: Span = field(default=NO_SPAN, compare=False)


# ----------------------------------------------------------------------------- tables


class MatchKind(StrEnum):
    EXACT = "exact"
    LPM = "lpm"
    TERNARY = "ternary"
    RANGE = "range"


@dataclass(frozen=True)
class Param:
    name: str
    width: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Action:
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class TableKey:
    expr: FieldRef | MetaRef
    kind: MatchKind
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def name(self) -> str:
        """The key's name in STF and control-plane files: ``ipv4.dst``, ``meta.vni``."""
        e = self.expr
        return f"{e.header}.{e.field}" if isinstance(e, FieldRef) else f"{e.scope}.{e.name}"

    @property
    def width(self) -> int:
        return self.expr.type.width


@dataclass(frozen=True)
class Entry:
    """A table entry: one match per key (in key order), the action and its arguments, and a
    priority (lowest number wins) for tables with ternary or range keys; None otherwise."""

    matches: tuple[Match, ...]
    action: ActionCall
    priority: int | None = None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Table:
    """A match-action table. With only exact keys: a hash lookup. With exact and one lpm key
    and nothing else: longest prefix wins. With any ternary or range key: entries need a
    priority and the lowest priority number among the matching entries wins."""

    name: str
    keys: tuple[TableKey, ...]
    actions: tuple[str, ...]
    default_action: ActionCall
    size: int
    counters: bool = False
    const_entries: tuple[Entry, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def needs_priority(self) -> bool:
        return any(k.kind in (MatchKind.TERNARY, MatchKind.RANGE) for k in self.keys)


@dataclass(frozen=True)
class Register:
    name: str
    width: int
    size: int
    span: Span = field(default=NO_SPAN, compare=False)


class MeterUnit(StrEnum):
    PACKETS = "packets"
    BYTES = "bytes"


@dataclass(frozen=True)
class Meter:
    """An array of two-rate three-colour meters (RFC 2698), configured by the control plane."""

    name: str
    unit: MeterUnit
    size: int
    span: Span = field(default=NO_SPAN, compare=False)


# ----------------------------------------------------------------------------- program


@dataclass(frozen=True)
class Program:
    """A whole pipeline. ``headers`` are in deparse order; the parser starts at ``start``.

    ``checksums`` lists the IPv4 headers whose checksum is recomputed on every packet that
    leaves with that header valid (filled in by the ``ipv4_checksums`` pass)."""

    name: str
    header_types: tuple[HeaderType, ...]
    headers: tuple[HeaderInstance, ...]
    metadata: tuple[MetaField, ...]
    parser: tuple[ParserState, ...]
    actions: tuple[Action, ...]
    tables: tuple[Table, ...]
    registers: tuple[Register, ...]
    meters: tuple[Meter, ...]
    ingress: tuple[Stmt, ...]
    checksums: tuple[str, ...] = ()
    source: str = ""

    @property
    def start(self) -> ParserState:
        return self.parser[0]

    def header(self, name: str) -> HeaderInstance:
        return _by_name(self.headers, name)

    def state(self, name: str) -> ParserState:
        return _by_name(self.parser, name)

    def action(self, name: str) -> Action:
        return _by_name(self.actions, name)

    def table(self, name: str) -> Table:
        return _by_name(self.tables, name)

    def register(self, name: str) -> Register:
        return _by_name(self.registers, name)

    def meter(self, name: str) -> Meter:
        return _by_name(self.meters, name)

    def meta(self, scope: str, name: str) -> MetaField:
        for m in (*STD_FIELDS, *self.metadata):
            if m.scope == scope and m.name == name:
                return m
        raise KeyError(f"{scope}.{name}")


def _by_name(items, name: str):
    for item in items:
        if item.name == name:
            return item
    raise KeyError(name)


# ----------------------------------------------------------------------------- printing


def sexpr(node: object) -> str:
    """The IR as an s-expression, for ``--dump-after`` and for tests that compare short text.

    Spans and empty tuples are left out so the text shows meaning, not bookkeeping."""
    if isinstance(node, Enum):
        return str(node.value)
    if isinstance(node, (Bits, BoolType)):
        return str(node)
    if isinstance(node, tuple):
        return "(" + " ".join(sexpr(n) for n in node) + ")"
    if isinstance(node, str):
        return node if node and all(c.isalnum() or c in "_.<>" for c in node) else repr(node)
    if is_dataclass(node):
        parts = [type(node).__name__]
        for f in fields(node):
            value = getattr(node, f.name)
            if f.name in ("span", "source") or value == () or value is None:
                continue
            parts.append(f":{f.name} {sexpr(value)}")
        return "(" + " ".join(parts) + ")"
    return repr(node)
