"""Run a parsed P4_16 program with v1model semantics, as bmv2's simple_switch does.

``V1Machine(program)`` checks the program's shape (a ``V1Switch`` package of a parser and five
controls), holds the run-time state (table entries, direct and indexed counters, registers,
meters) and runs packets: parser, verify-checksum, ingress, egress, compute-checksum and
deparser. The semantics are those of v1model.p4 and bmv2, not of wirespeed's IR:

* A parser error (short packet, a varbit too long, ``verify``, no matching ``select`` case)
  stops the parser and records ``standard_metadata.parser_error``; the packet still goes
  through ingress, as in v1model. An explicit ``transition reject`` records no error.
* Fields of a header nobody extracted hold stale data (bmv2 reuses its header storage across
  packets): this machine fills them with a poison pattern, so a program that reads an invalid
  header without checking gets garbage here too. ``setInvalid``/``setValid`` keep field values.
* User metadata starts at 0; after ingress ``egress_spec == 511`` drops the packet.
* Tables: exact, lpm (longest prefix), ternary and range keys; with a ternary or range key the
  lowest priority number wins (bmv2, p4c's STF runner); ``const entries`` get priorities in
  the order they are listed (first wins) and make the table read-only.
* Externs: ``mark_to_drop``, ``hash`` (crc16, crc32: ``base + H % max``), ``update_checksum``
  (csum16), ``register``, ``meter`` (RFC 2698 two-rate three-colour, unconfigured = green),
  ``counter`` and ``direct_counter`` (hits only).

Anything else is a ``P4ExecError`` that names the construct and its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from wirespeed.sim.p4exec import syntax as s

DROP_PORT = 511
POISON_BYTE = 0xA5
MAX_PARSER_STATES = 1000
GREEN, YELLOW, RED = 0, 1, 2


class P4ExecError(Exception):
    """The program does something this executor does not know or v1model forbids."""


def mask(width: int) -> int:
    return (1 << width) - 1


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Bits:
    value: int
    width: int | None  # None: an unsized integer literal


@dataclass
class HeaderValue:
    type_name: str
    layout: list[tuple[s.P4Type, str]]
    valid: bool = False
    fields: dict[str, int] = field(default_factory=dict)
    varbits: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (value, bits)

    def poison(self) -> None:
        for ftype, name in self.layout:
            if isinstance(ftype, s.BitType):
                self.fields[name] = int.from_bytes(
                    bytes([POISON_BYTE]) * ((ftype.width + 7) // 8), "big") & mask(ftype.width)
            elif isinstance(ftype, s.VarbitType):
                self.varbits[name] = (0, 0)


@dataclass
class StructValue:
    type_name: str
    members: dict[str, object]
    widths: dict[str, s.P4Type]


@dataclass(frozen=True)
class EnumValue:
    enum: str
    member: str


@dataclass(frozen=True)
class ErrorValue:
    name: str


@dataclass(frozen=True)
class ApplyResult:
    hit: bool
    action_run: str


@dataclass(frozen=True)
class Ref:
    """A named object of the program: an extern, action or table."""

    kind: str
    name: str


ENUMS = {
    "HashAlgorithm": {"crc16", "crc32", "csum16"},  # the ones this executor computes
    "CounterType": {"packets", "bytes", "packets_and_bytes"},
    "MeterType": {"packets", "bytes"},
}
CORE_ERRORS = ["NoError", "PacketTooShort", "NoMatch", "StackOutOfBounds", "HeaderTooShort",
               "ParserTimeout", "ParserInvalidArgument"]
STANDARD_METADATA: list[tuple[s.P4Type, str]] = [
    (s.BitType(9), "ingress_port"), (s.BitType(9), "egress_spec"), (s.BitType(9), "egress_port"),
    (s.BitType(32), "instance_type"), (s.BitType(32), "packet_length"),
    (s.BitType(16), "mcast_grp"), (s.BitType(1), "checksum_error"),
    (s.NamedType("error"), "parser_error"),
]


# ----------------------------------------------------------------------------- hash functions


def _crc_reflected(data: bytes, width: int, poly_reflected: int, init: int, xorout: int) -> int:
    """Bit-at-a-time reflected CRC (written apart from the model's table-driven one)."""
    crc = init
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (poly_reflected if crc & 1 else 0)
    return (crc ^ xorout) & mask(width)


def crc16(data: bytes) -> int:
    """bmv2's ``crc16``: CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0, xorout 0)."""
    return _crc_reflected(data, 16, 0xA001, 0, 0)


def crc32(data: bytes) -> int:
    """bmv2's ``crc32``: CRC-32/ISO-HDLC (poly 0x04C11DB7 reflected = 0xEDB88320)."""
    return _crc_reflected(data, 32, 0xEDB88320, 0xFFFFFFFF, 0xFFFFFFFF)


def csum16(data: bytes) -> int:
    """bmv2's ``csum16``: the ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# ----------------------------------------------------------------------------- run-time state


@dataclass
class Counter:
    packets: int = 0
    bytes: int = 0


@dataclass
class MeterCell:
    """RFC 2698 trTCM, colour-blind, as bmv2's meters; rates per second, buckets start full."""

    cir: float = 0.0
    cburst: int = 0
    pir: float = 0.0
    pburst: int = 0
    configured: bool = False
    committed: float = 0.0
    peak: float = 0.0
    last: float | None = None

    def execute(self, amount: int, now: float) -> int:
        if not self.configured:
            return GREEN
        if self.last is not None and now > self.last:
            elapsed = now - self.last
            self.committed = min(float(self.cburst), self.committed + self.cir * elapsed)
            self.peak = min(float(self.pburst), self.peak + self.pir * elapsed)
        if self.last is None or now > self.last:
            self.last = now
        if self.peak < amount:
            return RED
        if self.committed < amount:
            self.peak -= amount
            return YELLOW
        self.peak -= amount
        self.committed -= amount
        return GREEN


@dataclass(frozen=True)
class KeyMatch:
    """One key of one installed entry: ``kind`` is the P4 match kind."""

    kind: str
    value: int
    mask: int = 0  # ternary mask, or the lpm prefix mask
    hi: int = 0  # range high bound
    prefix_len: int = 0


@dataclass
class TableEntry:
    matches: tuple[KeyMatch, ...]
    action: str
    args: tuple[int, ...]
    priority: int
    order: int
    counter: Counter = field(default_factory=Counter)


@dataclass
class TableState:
    decl: s.TableDecl
    widths: list[int]
    default_action: str
    default_args: tuple[int, ...]
    entries: list[TableEntry] = field(default_factory=list)
    read_only: bool = False
    order: int = 0

    @property
    def kinds(self) -> list[str]:
        return [k.match_kind for k in self.decl.keys]

    @property
    def uses_priority(self) -> bool:
        return any(k in ("ternary", "range") for k in self.kinds)

    def matches(self, entry: TableEntry, values: list[int]) -> bool:
        for m, v in zip(entry.matches, values, strict=True):
            if m.kind == "exact" and v != m.value:
                return False
            if m.kind in ("ternary", "lpm") and v & m.mask != m.value & m.mask:
                return False
            if m.kind == "range" and not m.value <= v <= m.hi:
                return False
        return True

    def lookup(self, values: list[int]) -> TableEntry | None:
        best: TableEntry | None = None
        best_rank: tuple[int, int] | None = None
        for entry in self.entries:
            if not self.matches(entry, values):
                continue
            if self.uses_priority:
                rank = (entry.priority, entry.order)
            else:
                rank = (-sum(m.prefix_len for m in entry.matches if m.kind == "lpm"), entry.order)
            if best_rank is None or rank < best_rank:
                best, best_rank = entry, rank
        return best


class _Return(Exception):
    pass


@dataclass
class Frame:
    """Variables visible to running code: a stack of scopes."""

    scopes: list[dict[str, object]]

    def lookup(self, name: str) -> object:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(name in scope for scope in self.scopes)

    def set(self, name: str, value: object) -> None:
        for scope in reversed(self.scopes):
            if name in scope:
                scope[name] = value
                return
        raise KeyError(name)


# ----------------------------------------------------------------------------- the machine


class V1Machine:
    def __init__(self, program: s.P4Program) -> None:
        self.program = program
        if program.package is None or program.package[0] != "V1Switch":
            raise P4ExecError(f"{program.filename}: no `V1Switch(...) main;` package: only the "
                              "v1model architecture is known")
        blocks = program.package[1]
        if len(blocks) != 6:
            raise P4ExecError(f"{program.filename}: V1Switch takes 6 blocks, got {len(blocks)}")
        parser_name, *control_names = blocks
        if parser_name not in program.parsers:
            raise P4ExecError(f"{program.filename}: unknown parser {parser_name!r}")
        self.parser = program.parsers[parser_name]
        for name in control_names:
            if name not in program.controls:
                raise P4ExecError(f"{program.filename}: unknown control {name!r}")
        (self.verify_control, self.ingress, self.egress, self.compute_control,
         self.deparser) = (program.controls[n] for n in control_names)
        self.errors = [*CORE_ERRORS, *program.errors]
        self.consts: dict[str, object] = {}
        for name, (ctype, value) in program.consts.items():
            self.consts[name] = self._convert(ctype, self.eval(value, Frame([{}])), 0)
        self.now = 0.0
        self.registers: dict[str, list[int]] = {}
        self.register_width: dict[str, int] = {}
        self.meters: dict[str, list[MeterCell]] = {}
        self.meter_unit: dict[str, str] = {}
        self.counters: dict[str, list[Counter]] = {}
        self.direct_counters: dict[str, str | None] = {}  # direct_counter -> its table
        self.tables: dict[str, TableState] = {}
        for control in (self.verify_control, self.ingress, self.egress, self.compute_control,
                        self.deparser):
            self._instantiate(control)

    # -------------------------------------------------------------- set-up

    def _enum_arg(self, expr: s.Expr, enum: str, line: int) -> str:
        if (isinstance(expr, s.Member) and isinstance(expr.base, s.Name)
                and expr.base.name == enum and expr.name in ENUMS[enum]):
            return expr.name
        raise P4ExecError(f"line {line}: expected a {enum} value")

    def _const_int(self, expr: s.Expr, line: int) -> int:
        value = self.eval(expr, Frame([{}]))
        if not isinstance(value, Bits):
            raise P4ExecError(f"line {line}: expected an integer constant")
        return value.value

    def _instantiate(self, control: s.ControlDecl) -> None:
        for ext in control.externs.values():
            match ext.type_name:
                case "register":
                    if len(ext.type_args) != 2 or not all(
                            isinstance(t, s.BitType) for t in ext.type_args) or len(ext.args) != 1:
                        raise P4ExecError(f"line {ext.line}: register<bit<W>, bit<I>>(size) "
                                          "is the register form v1model.p4 declares")
                    self.registers[ext.name] = [0] * self._const_int(ext.args[0], ext.line)
                    self.register_width[ext.name] = ext.type_args[0].width  # type: ignore[union-attr]
                case "meter":
                    if len(ext.args) != 2 or len(ext.type_args) != 1:
                        raise P4ExecError(f"line {ext.line}: meter<I>(size, MeterType) expected")
                    size = self._const_int(ext.args[0], ext.line)
                    self.meter_unit[ext.name] = self._enum_arg(ext.args[1], "MeterType", ext.line)
                    self.meters[ext.name] = [MeterCell() for _ in range(size)]
                case "counter":
                    if len(ext.args) != 2 or len(ext.type_args) != 1:
                        raise P4ExecError(f"line {ext.line}: counter<I>(size, CounterType) "
                                          "expected")
                    size = self._const_int(ext.args[0], ext.line)
                    self._enum_arg(ext.args[1], "CounterType", ext.line)
                    self.counters[ext.name] = [Counter() for _ in range(size)]
                case "direct_counter":
                    if len(ext.args) != 1 or ext.type_args:
                        raise P4ExecError(f"line {ext.line}: direct_counter(CounterType) "
                                          "expected")
                    self._enum_arg(ext.args[0], "CounterType", ext.line)
                    self.direct_counters[ext.name] = None
                case other:
                    raise P4ExecError(f"line {ext.line}: extern {other!r} is not one this "
                                      "executor knows (register, meter, counter, "
                                      "direct_counter)")
        for table in control.tables.values():
            self._instantiate_table(control, table)
        for table, places in self._apply_places(control).items():
            if places > 1:
                raise P4ExecError(
                    f"control {control.name} applies table {table} at {places} places: "
                    "p4c-bm2-ss cannot compile that for bmv2 (a table has one successor set)")

    def _apply_places(self, control: s.ControlDecl) -> dict[str, int]:
        counts: dict[str, int] = {}

        def expr(e: object) -> None:
            match e:
                case s.Call(s.Member(s.Name(name), "apply"), args) if name in control.tables:
                    counts[name] = counts.get(name, 0) + 1
                    for a in args:
                        expr(a)
                case s.Call(func, args):
                    expr(func)
                    for a in args:
                        expr(a)
                case s.Member(base, _) | s.SliceE(base, _, _) | s.Unary(_, base) | s.CastE(_, base):
                    expr(base)
                case s.Binary(_, left, right):
                    expr(left)
                    expr(right)
                case s.Cond(c, a, b):
                    expr(c)
                    expr(a)
                    expr(b)

        def stmt(st: object) -> None:
            match st:
                case s.Block(stmts):
                    for x in stmts:
                        stmt(x)
                case s.Assign(target, value):
                    expr(target)
                    expr(value)
                case s.VarDecl(_, _, init):
                    expr(init)
                case s.CallStmt(call):
                    expr(call)
                case s.IfStmt(cond, then, otherwise):
                    expr(cond)
                    stmt(then)
                    stmt(otherwise)
                case s.SwitchStmt(table, cases, default):
                    counts[table] = counts.get(table, 0) + 1
                    for _, body in cases:
                        stmt(body)
                    stmt(default)

        stmt(control.apply)
        return counts

    def _instantiate_table(self, control: s.ControlDecl, table: s.TableDecl) -> None:
        where = f"line {table.line}: table {table.name}"
        for key in table.keys:
            if key.match_kind not in ("exact", "lpm", "ternary", "range"):
                raise P4ExecError(f"{where}: match kind {key.match_kind!r} is not known")
        if sum(k.match_kind == "lpm" for k in table.keys) > 1:
            raise P4ExecError(f"{where}: bmv2 allows one lpm key per table")
        for action, _ in table.actions:
            if action not in control.actions:
                raise P4ExecError(f"{where}: unknown action {action!r}")
        if table.default_action is None:
            raise P4ExecError(f"{where}: no default_action (this executor does not assume "
                              "NoAction)")
        default, default_args = self._call_parts(table.default_action)
        if table.counters is not None:
            if table.counters not in self.direct_counters:
                raise P4ExecError(f"{where}: counters = {table.counters} is not a "
                                  "direct_counter")
            if self.direct_counters[table.counters] is not None:
                raise P4ExecError(f"{where}: direct_counter {table.counters} already belongs "
                                  f"to table {self.direct_counters[table.counters]}")
            self.direct_counters[table.counters] = table.name
        widths = [self._key_width(control, k.expr) for k in table.keys]
        state = TableState(table, widths, default, default_args)
        self.tables[table.name] = state
        for keyset, call in table.const_entries or ():
            if keyset is None or len(keyset) != len(table.keys):
                raise P4ExecError(f"{where}: a constant entry needs one value per key")
            matches = tuple(self._const_key_match(el, kind, width, table.line)
                            for el, kind, width in zip(keyset, state.kinds, widths, strict=True))
            action, args = self._call_parts(call)
            # const entries: earlier listed wins, so the priority is the position
            self._install(state, matches, action, args, priority=len(state.entries))
        if table.const_entries is not None:
            state.read_only = True

    def _key_width(self, control: s.ControlDecl, expr: s.Expr) -> int:
        frame = self._frame_for(control, self._dummy_args(control))
        try:
            value = self.eval(expr, frame)
        except P4ExecError:
            raise
        except Exception as e:  # noqa: BLE001 - reported as the key's problem
            raise P4ExecError(f"cannot type the table key {expr}: {e}") from None
        if not isinstance(value, Bits) or value.width is None:
            raise P4ExecError(f"a table key must be bit<W>, got {value}")
        return value.width

    def _const_key_match(self, el: s.KeyElement, kind: str, width: int, line: int) -> KeyMatch:
        frame = Frame([{}])

        def num(e: s.Expr) -> int:
            v = self.eval(e, frame)
            if not isinstance(v, Bits):
                raise P4ExecError(f"line {line}: a key value must be a number")
            return v.value & mask(width)

        match el:
            case s.KsAny():
                if kind == "exact":
                    raise P4ExecError(f"line {line}: `_` cannot match an exact key")
                if kind == "range":
                    return KeyMatch("range", 0, hi=mask(width))
                return KeyMatch(kind, 0, 0)
            case s.KsValue(value):
                v = num(value)
                if kind == "range":
                    return KeyMatch("range", v, hi=v)
                if kind == "lpm":
                    return KeyMatch("lpm", v, mask(width), prefix_len=width)
                return KeyMatch(kind, v, mask(width))
            case s.KsMask(value, m):
                v, mm = num(value), num(m)
                if kind == "ternary":
                    return KeyMatch("ternary", v & mm, mm)
                if kind == "lpm":
                    prefix = bin(mm).count("1")
                    if mm != mask(width) ^ mask(width - prefix):
                        raise P4ExecError(f"line {line}: lpm mask {mm:#x} is not a prefix")
                    return KeyMatch("lpm", v & mm, mm, prefix_len=prefix)
                raise P4ExecError(f"line {line}: value &&& mask on a {kind} key")
            case s.KsRange(lo, hi):
                if kind != "range":
                    raise P4ExecError(f"line {line}: lo .. hi on a {kind} key")
                return KeyMatch("range", num(lo), hi=num(hi))
            case _:
                assert_never(el)

    def _call_parts(self, call: s.Call) -> tuple[str, tuple[int, ...]]:
        if not isinstance(call.func, s.Name):
            raise P4ExecError(f"line {call.line}: expected an action call")
        args = []
        for a in call.args:
            v = self.eval(a, Frame([{}]))
            if not isinstance(v, Bits):
                raise P4ExecError(f"line {call.line}: action data must be numbers")
            args.append(v.value)
        return call.func.name, tuple(args)

    def _install(self, state: TableState, matches: tuple[KeyMatch, ...], action: str,
                 args: tuple[int, ...], priority: int) -> TableEntry:
        control = self.ingress
        allowed = {a for a, default_only in state.decl.actions if not default_only}
        if action not in allowed:
            raise P4ExecError(f"table {state.decl.name}: action {action!r} cannot be an entry's "
                              f"action (allowed: {', '.join(sorted(allowed))})")
        params = control.actions[action].params
        if len(params) != len(args):
            raise P4ExecError(f"action {action} takes {len(params)} argument(s), got {len(args)}")
        for entry in state.entries:
            if entry.matches == matches and (not state.uses_priority
                                             or entry.priority == priority):
                raise P4ExecError(f"table {state.decl.name} already has this entry")
        if len(state.entries) >= (state.decl.size or 1024):
            raise P4ExecError(f"table {state.decl.name} is full ({state.decl.size} entries)")
        entry = TableEntry(matches, action, args, priority, state.order)
        state.order += 1
        state.entries.append(entry)
        return entry

    # -------------------------------------------------------------- control plane

    def table(self, name: str) -> TableState:
        if name not in self.tables:
            raise P4ExecError(f"no table {name!r} in the P4 program")
        return self.tables[name]

    def add_entry(self, table: str, matches: tuple[KeyMatch, ...], action: str,
                  args: tuple[int, ...], priority: int | None) -> TableEntry:
        state = self.table(table)
        if state.read_only:
            raise P4ExecError(f"table {table} has `const entries`: P4 makes it read-only")
        if len(matches) != len(state.decl.keys):
            raise P4ExecError(f"table {table} has {len(state.decl.keys)} keys")
        for m, kind in zip(matches, state.kinds, strict=True):
            if m.kind != kind:
                raise P4ExecError(f"table {table}: a {m.kind} match for a {kind} key")
        if state.uses_priority and priority is None:
            raise P4ExecError(f"table {table} needs a priority for every entry")
        return self._install(state, matches, action, args, priority or 0)

    def set_default(self, table: str, action: str, args: tuple[int, ...]) -> None:
        state = self.table(table)
        if action not in {a for a, _ in state.decl.actions}:
            raise P4ExecError(f"table {table} has no action {action!r}")
        state.default_action, state.default_args = action, args

    def set_meter(self, meter: str, index: int, cir: float, cburst: int, pir: float,
                  pburst: int) -> None:
        if meter not in self.meters or not 0 <= index < len(self.meters[meter]):
            raise P4ExecError(f"no meter cell {meter}[{index}]")
        cell = self.meters[meter][index]
        cell.cir, cell.cburst, cell.pir, cell.pburst = cir, cburst, pir, pburst
        cell.configured = True
        cell.committed, cell.peak, cell.last = float(cburst), float(pburst), None

    # -------------------------------------------------------------- packets

    def _new_headers(self, type_name: str) -> StructValue:
        if type_name not in self.program.structs:
            raise P4ExecError(f"unknown struct {type_name!r}")
        members: dict[str, object] = {}
        widths: dict[str, s.P4Type] = {}
        for ftype, name in self.program.structs[type_name]:
            widths[name] = ftype
            if isinstance(ftype, s.NamedType) and ftype.name in self.program.headers:
                h = HeaderValue(ftype.name, self.program.headers[ftype.name])
                h.poison()
                members[name] = h
            elif isinstance(ftype, s.BitType):
                members[name] = 0
            elif isinstance(ftype, s.BoolType):
                members[name] = False
            else:
                raise P4ExecError(f"struct {type_name}: member type {ftype} is not known")
        return StructValue(type_name, members, widths)

    def _param_type(self, block: s.ParserDecl | s.ControlDecl, name: str) -> str:
        for p in block.params:
            if p.name == name and isinstance(p.type, s.NamedType):
                return p.type.name
        raise P4ExecError(f"{block.name} has no parameter {name!r}")

    def process(self, port: int, data: bytes) -> list[tuple[int, bytes]]:
        """One packet in on ``port``; ``[(egress port, bytes)]`` out, empty when dropped."""
        names = [p.name for p in self.parser.params]
        if len(names) != 4:
            raise P4ExecError("the v1model parser takes (packet_in, headers, metadata, "
                              "standard_metadata)")
        hdr = self._new_headers(self.parser.params[1].type.name)  # type: ignore[union-attr]
        meta = self._new_headers(self.parser.params[2].type.name)  # type: ignore[union-attr]
        std = StructValue("standard_metadata_t", {n: 0 for _, n in STANDARD_METADATA},
                          {n: t for t, n in STANDARD_METADATA})
        std.members["parser_error"] = ErrorValue("NoError")
        std.members["ingress_port"] = port & mask(9)
        std.members["packet_length"] = len(data)
        payload = self.run_parser(data, {names[0]: Ref("packet_in", ""), names[1]: hdr,
                                         names[2]: meta, names[3]: std})
        self.run_control(self.verify_control, [hdr, meta])
        self.run_control(self.ingress, [hdr, meta, std])
        if std.members["egress_spec"] == DROP_PORT:
            return []
        std.members["egress_port"] = std.members["egress_spec"]
        self.run_control(self.egress, [hdr, meta, std])
        if std.members["egress_spec"] == DROP_PORT:  # mark_to_drop in egress drops too
            return []
        self.run_control(self.compute_control, [hdr, meta])
        out = bytearray()
        self.run_control(self.deparser, [Ref("packet_out", ""), hdr], emitted=out)
        return [(int(std.members["egress_port"]), bytes(out) + payload)]  # type: ignore[call-overload]

    # -------------------------------------------------------------- parser

    def run_parser(self, data: bytes, args: dict[str, object]) -> bytes:
        frame = Frame([dict(self.consts), dict(args)])
        std = args[self.parser.params[3].name]
        assert isinstance(std, StructValue)
        offset = 0
        state_name = "start"
        for _ in range(MAX_PARSER_STATES):
            if state_name == "accept":
                return data[offset:]
            if state_name == "reject":
                return data[offset:]
            if state_name not in self.parser.states:
                raise P4ExecError(f"parser {self.parser.name}: no state {state_name!r}")
            state = self.parser.states[state_name]
            error: str | None = None
            for stmt in state.stmts:
                match stmt:
                    case s.Extract(target, size):
                        header = self.eval(target, frame)
                        if not isinstance(header, HeaderValue):
                            raise P4ExecError(f"line {stmt.line}: extract needs a header")
                        nbits = None
                        if size is not None:
                            n = self.eval(size, frame)
                            if not isinstance(n, Bits):
                                raise P4ExecError(f"line {stmt.line}: extract size must be bits")
                            nbits = n.value
                        offset, error = self._extract(header, data, offset, nbits, stmt.line)
                    case s.Verify(cond, err):
                        ok = self.eval(cond, frame)
                        e = self.eval(err, frame)
                        if not isinstance(ok, bool) or not isinstance(e, ErrorValue):
                            raise P4ExecError(f"line {stmt.line}: verify(bool, error) expected")
                        if not ok:
                            error = e.name
                    case _:
                        assert_never(stmt)
                if error is not None:
                    std.members["parser_error"] = ErrorValue(error)
                    return data[offset:]
            match state.transition:
                case str(next_state):
                    state_name = next_state
                case s.Select(keys, cases):
                    values = [self.eval(k, frame) for k in keys]
                    chosen = self._select(values, cases, frame)
                    if chosen is None:
                        std.members["parser_error"] = ErrorValue("NoMatch")
                        return data[offset:]
                    state_name = chosen
        raise P4ExecError(f"parser {self.parser.name}: more than {MAX_PARSER_STATES} states "
                          "for one packet")

    def _extract(self, header: HeaderValue, data: bytes, offset: int, varbits: int | None,
                 line: int) -> tuple[int, str | None]:
        fixed = sum(t.width for t, _ in header.layout if isinstance(t, s.BitType))
        varbit_fields = [(t, n) for t, n in header.layout if isinstance(t, s.VarbitType)]
        if varbits is None and varbit_fields:
            raise P4ExecError(f"line {line}: header {header.type_name} has a varbit: extract "
                              "needs the two-argument form")
        if varbits is not None and len(varbit_fields) != 1:
            raise P4ExecError(f"line {line}: two-argument extract needs exactly one varbit "
                              f"in {header.type_name}")
        if varbits is not None:
            vtype = varbit_fields[0][0]
            assert isinstance(vtype, s.VarbitType)
            if varbits > vtype.max_width:
                return offset, "HeaderTooShort"
        total = fixed + (varbits or 0)
        if total % 8:
            raise P4ExecError(f"line {line}: extracting {total} bits, not whole bytes")
        if offset + total // 8 > len(data):
            return offset, "PacketTooShort"
        value = int.from_bytes(data[offset:offset + total // 8], "big")
        shift = total
        for ftype, name in header.layout:
            if isinstance(ftype, s.BitType):
                shift -= ftype.width
                header.fields[name] = (value >> shift) & mask(ftype.width)
            elif isinstance(ftype, s.VarbitType):
                n = varbits or 0
                shift -= n
                header.varbits[name] = ((value >> shift) & mask(n), n)
        header.valid = True
        return offset + total // 8, None

    def _select(self, values: list[object], cases: tuple[tuple[s.Keyset, str], ...],
                frame: Frame) -> str | None:
        for keyset, next_state in cases:
            if keyset is None:
                return next_state
            if len(keyset) != len(values):
                raise P4ExecError(f"select has {len(values)} keys, a case gives {len(keyset)}")
            if all(self._keyset_matches(el, v, frame) for el, v in zip(keyset, values,
                                                                        strict=True)):
                return next_state
        return None

    def _keyset_matches(self, el: s.KeyElement, value: object, frame: Frame) -> bool:
        if not isinstance(value, Bits):
            raise P4ExecError("select keys must be bit<W> here")
        v = value.value

        def num(e: s.Expr) -> int:
            x = self.eval(e, frame)
            if not isinstance(x, Bits):
                raise P4ExecError("a keyset value must be a number")
            if x.width is not None and x.width != value.width:
                raise P4ExecError(f"keyset value is bit<{x.width}>, the key is bit<{value.width}>")
            return x.value

        match el:
            case s.KsAny():
                return True
            case s.KsValue(e):
                return v == num(e)
            case s.KsMask(e, m):
                mm = num(m)
                return v & mm == num(e) & mm
            case s.KsRange(lo, hi):
                return num(lo) <= v <= num(hi)
            case _:
                assert_never(el)

    # -------------------------------------------------------------- controls

    def _dummy_args(self, control: s.ControlDecl) -> list[object]:
        args: list[object] = []
        for p in control.params:
            t = p.type
            if isinstance(t, s.NamedType) and t.name == "standard_metadata_t":
                args.append(StructValue("standard_metadata_t",
                                        {n: 0 for _, n in STANDARD_METADATA},
                                        {n: tt for tt, n in STANDARD_METADATA}))
            elif isinstance(t, s.NamedType) and t.name in self.program.structs:
                args.append(self._new_headers(t.name))
            else:
                args.append(Ref(t.name if isinstance(t, s.NamedType) else "?", ""))
        return args

    def _frame_for(self, control: s.ControlDecl, args: list[object]) -> Frame:
        if len(args) != len(control.params):
            raise P4ExecError(f"control {control.name} takes {len(control.params)} parameters")
        objects: dict[str, object] = {}
        for name in control.externs:
            objects[name] = Ref("extern:" + control.externs[name].type_name, name)
        for name in control.actions:
            objects[name] = Ref("action", name)
        for name in control.tables:
            objects[name] = Ref("table", name)
        params = {p.name: a for p, a in zip(control.params, args, strict=True)}
        return Frame([dict(self.consts), objects, params])

    def run_control(self, control: s.ControlDecl, args: list[object],
                    emitted: bytearray | None = None) -> None:
        frame = self._frame_for(control, args)
        self._control = control
        self._control_args = args
        self._emitted = emitted
        try:
            self.exec_block(control.apply, frame)
        except _Return:
            pass

    def exec_block(self, block: s.Block, frame: Frame) -> None:
        frame.scopes.append({})
        try:
            for stmt in block.stmts:
                self.exec(stmt, frame)
        finally:
            frame.scopes.pop()

    def exec(self, stmt: s.Stmt, frame: Frame) -> None:
        match stmt:
            case s.Block():
                self.exec_block(stmt, frame)
            case s.Assign(target, value):
                self.store(target, self.eval(value, frame), frame, stmt.line)
            case s.VarDecl(vtype, name, init):
                if init is None:
                    value: object = Bits(0, vtype.width) if isinstance(vtype, s.BitType) else False
                else:
                    value = self._convert(vtype, self.eval(init, frame), stmt.line)
                frame.scopes[-1][name] = value
            case s.CallStmt(call):
                self.call(call, frame)
            case s.IfStmt(cond, then, otherwise):
                c = self.eval(cond, frame)
                if not isinstance(c, bool):
                    raise P4ExecError(f"line {stmt.line}: an if condition must be bool")
                if c:
                    self.exec_block(then, frame)
                elif otherwise is not None:
                    self.exec(otherwise, frame)
            case s.SwitchStmt(table, cases, default):
                result = self.apply_table(table, frame, stmt.line)
                for labels, body in cases:
                    for label in labels:
                        if label not in {a for a, _ in self.tables[table].decl.actions}:
                            raise P4ExecError(f"line {stmt.line}: {label!r} is not an action "
                                              f"of table {table}")
                    if result.action_run in labels:
                        self.exec_block(body, frame)
                        break
                else:
                    if default is not None:
                        self.exec_block(default, frame)
            case s.ReturnStmt():
                raise _Return
            case _:
                assert_never(stmt)

    def _convert(self, vtype: s.P4Type, value: object, line: int) -> object:
        if isinstance(vtype, s.BoolType):
            if not isinstance(value, bool):
                raise P4ExecError(f"line {line}: expected bool")
            return value
        if isinstance(vtype, s.BitType):
            if not isinstance(value, Bits):
                raise P4ExecError(f"line {line}: expected bit<{vtype.width}>")
            if value.width is not None and value.width != vtype.width:
                raise P4ExecError(f"line {line}: bit<{value.width}> where bit<{vtype.width}> "
                                  "is expected (P4 does not convert implicitly)")
            return Bits(value.value & mask(vtype.width), vtype.width)
        raise P4ExecError(f"line {line}: type {vtype} is not known here")

    # -------------------------------------------------------------- lvalues

    def store(self, target: s.Expr, value: object, frame: Frame, line: int) -> None:
        match target:
            case s.Name(name):
                if not frame.has(name):
                    raise P4ExecError(f"line {line}: unknown variable {name!r}")
                old = frame.lookup(name)
                if isinstance(old, Bits):
                    frame.set(name, self._convert(s.BitType(old.width or 0), value, line))
                elif isinstance(old, bool):
                    frame.set(name, self._convert(s.BoolType(), value, line))
                else:
                    raise P4ExecError(f"line {line}: cannot assign to {name!r}")
            case s.Member(base, name):
                container = self.eval(base, frame)
                if isinstance(container, HeaderValue):
                    ftype = dict((n, t) for t, n in container.layout).get(name)
                    if not isinstance(ftype, s.BitType):
                        raise P4ExecError(f"line {line}: header {container.type_name} has no "
                                          f"bit field {name!r}")
                    converted = self._convert(ftype, value, line)
                    assert isinstance(converted, Bits)
                    container.fields[name] = converted.value  # bmv2 writes even if invalid
                elif isinstance(container, StructValue):
                    mtype = container.widths.get(name)
                    if mtype is None:
                        raise P4ExecError(f"line {line}: {container.type_name} has no member "
                                          f"{name!r}")
                    if isinstance(mtype, s.NamedType) and mtype.name == "error":
                        raise P4ExecError(f"line {line}: parser_error is read-only here")
                    converted = self._convert(mtype, value, line)
                    container.members[name] = (converted.value if isinstance(converted, Bits)
                                               else converted)
                else:
                    raise P4ExecError(f"line {line}: cannot assign to a member of {container}")
            case _:
                raise P4ExecError(f"line {line}: this assignment target is not supported")

    # -------------------------------------------------------------- expressions

    def eval(self, e: s.Expr, frame: Frame) -> object:  # noqa: C901
        match e:
            case s.Lit(value, width):
                if width is not None and value > mask(width):
                    raise P4ExecError(f"line {e.line}: {value:#x} does not fit in bit<{width}>")
                return Bits(value, width)
            case s.BoolLit(value):
                return value
            case s.Name(name):
                if frame.has(name):
                    return frame.lookup(name)
                if name in ENUMS or name == "error":
                    return Ref("enum", name)
                raise P4ExecError(f"line {e.line}: unknown name {name!r}")
            case s.Member(base, name):
                return self._member(e, frame)
            case s.SliceE(base, hi, lo):
                v = self._bits(base, frame, e.line)
                if v.width is None or not 0 <= lo <= hi < v.width:
                    raise P4ExecError(f"line {e.line}: slice [{hi}:{lo}] of bit<{v.width}>")
                return Bits((v.value >> lo) & mask(hi - lo + 1), hi - lo + 1)
            case s.ListE():
                raise P4ExecError(f"line {e.line}: a list {{...}} only appears as an extern "
                                  "argument")
            case s.Call():
                return self.call(e, frame)
            case s.Unary("!", operand):
                v = self.eval(operand, frame)
                if not isinstance(v, bool):
                    raise P4ExecError(f"line {e.line}: ! needs a bool")
                return not v
            case s.Unary("~", operand):
                v = self._bits(operand, frame, e.line)
                if v.width is None:
                    raise P4ExecError(f"line {e.line}: ~ needs a sized value")
                return Bits(~v.value & mask(v.width), v.width)
            case s.Unary(op, _):
                raise P4ExecError(f"line {e.line}: unary {op} is not known")
            case s.CastE(ctype, operand):
                v = self.eval(operand, frame)
                if isinstance(ctype, s.BitType):
                    if isinstance(v, bool):
                        if ctype.width != 1:
                            raise P4ExecError(f"line {e.line}: P4 casts bool only to bit<1>")
                        return Bits(int(v), 1)
                    if isinstance(v, Bits):
                        return Bits(v.value & mask(ctype.width), ctype.width)
                if isinstance(ctype, s.BoolType) and isinstance(v, Bits) and v.width == 1:
                    return bool(v.value)
                raise P4ExecError(f"line {e.line}: cannot cast {v} to {ctype}")
            case s.Binary(op, left, right):
                return self._binary(op, left, right, frame, e.line)
            case s.Cond(cond, then, otherwise):
                c = self.eval(cond, frame)
                if not isinstance(c, bool):
                    raise P4ExecError(f"line {e.line}: ?: needs a bool condition")
                a = self.eval(then if c else otherwise, frame)
                return a
            case _:
                assert_never(e)

    def _bits(self, e: s.Expr, frame: Frame, line: int) -> Bits:
        v = self.eval(e, frame)
        if not isinstance(v, Bits):
            raise P4ExecError(f"line {line}: expected a bit<W> value, got {type(v).__name__}")
        return v

    def _member(self, e: s.Member, frame: Frame) -> object:
        base = self.eval(e.base, frame)
        name = e.name
        if isinstance(base, Ref) and base.kind == "enum":
            if base.name == "error":
                if name not in self.errors:
                    raise P4ExecError(f"line {e.line}: error.{name} is not declared")
                return ErrorValue(name)
            if name not in ENUMS[base.name]:
                raise P4ExecError(f"line {e.line}: {base.name}.{name} is not known to this "
                                  "executor")
            return EnumValue(base.name, name)
        if isinstance(base, HeaderValue):
            for ftype, fname in base.layout:
                if fname == name:
                    if isinstance(ftype, s.VarbitType):
                        value, nbits = base.varbits.get(name, (0, 0))
                        return ("varbit", value, nbits)
                    return Bits(base.fields[name], ftype.width)  # type: ignore[union-attr]
            return Ref("method", name) if name in ("isValid", "setValid", "setInvalid") else (
                self._no_member(e, base.type_name))
        if isinstance(base, StructValue):
            if name not in base.members:
                return self._no_member(e, base.type_name)
            value = base.members[name]
            mtype = base.widths[name]
            if isinstance(mtype, s.BitType):
                return Bits(int(value), mtype.width)  # type: ignore[call-overload]
            return value
        if isinstance(base, ApplyResult):
            if name == "hit":
                return base.hit
            if name == "miss":
                return not base.hit
            raise P4ExecError(f"line {e.line}: .{name} of a table apply: only hit, miss and "
                              "action_run (in switch) are known")
        if isinstance(base, Ref):
            return Ref("method", name)
        raise P4ExecError(f"line {e.line}: {base!r} has no member {name!r}")

    def _no_member(self, e: s.Member, type_name: str) -> object:
        raise P4ExecError(f"line {e.line}: {type_name} has no member {e.name!r}")

    def _binary(self, op: str, left: s.Expr, right: s.Expr, frame: Frame, line: int) -> object:
        if op in ("&&", "||"):
            a = self.eval(left, frame)
            if not isinstance(a, bool):
                raise P4ExecError(f"line {line}: {op} needs bool operands")
            if (op == "&&" and not a) or (op == "||" and a):
                return a
            b = self.eval(right, frame)
            if not isinstance(b, bool):
                raise P4ExecError(f"line {line}: {op} needs bool operands")
            return b
        a_val = self.eval(left, frame)
        b_val = self.eval(right, frame)
        if op in ("==", "!=") and isinstance(a_val, (bool, ErrorValue)):
            if type(a_val) is not type(b_val):
                raise P4ExecError(f"line {line}: comparing {a_val} with {b_val}")
            return (a_val == b_val) == (op == "==")
        if not isinstance(a_val, Bits) or not isinstance(b_val, Bits):
            raise P4ExecError(f"line {line}: {op} needs bit<W> operands")
        if op in ("<<", ">>"):
            if a_val.width is None:
                raise P4ExecError(f"line {line}: shifting an unsized value")
            w = a_val.width
            if b_val.value >= w:
                return Bits(0, w)
            return Bits(((a_val.value << b_val.value) if op == "<<" else
                         (a_val.value >> b_val.value)) & mask(w), w)
        if op == "++":
            if a_val.width is None or b_val.width is None:
                raise P4ExecError(f"line {line}: ++ needs sized operands")
            return Bits((a_val.value << b_val.width) | b_val.value, a_val.width + b_val.width)
        width = a_val.width if a_val.width is not None else b_val.width
        if a_val.width is not None and b_val.width is not None and a_val.width != b_val.width:
            raise P4ExecError(f"line {line}: {op} on bit<{a_val.width}> and bit<{b_val.width}> "
                              "(P4 needs equal widths)")
        if width is None:
            raise P4ExecError(f"line {line}: {op} on two unsized integers")
        a, b, m = a_val.value & mask(width), b_val.value & mask(width), mask(width)
        match op:
            case "+":
                return Bits((a + b) & m, width)
            case "-":
                return Bits((a - b) & m, width)
            case "*":
                return Bits((a * b) & m, width)
            case "&":
                return Bits(a & b, width)
            case "|":
                return Bits(a | b, width)
            case "^":
                return Bits(a ^ b, width)
            case "==":
                return a == b
            case "!=":
                return a != b
            case "<":
                return a < b
            case "<=":
                return a <= b
            case ">":
                return a > b
            case ">=":
                return a >= b
        raise P4ExecError(f"line {line}: operator {op} is not known")

    # -------------------------------------------------------------- calls

    def call(self, call: s.Call, frame: Frame) -> object:  # noqa: C901
        func = call.func
        line = call.line
        if isinstance(func, s.Name):
            name = func.name
            if frame.has(name):
                target = frame.lookup(name)
                if isinstance(target, Ref) and target.kind == "action":
                    self.run_action(name, [self.eval(a, frame) for a in call.args], line)
                    return None
            match name:
                case "mark_to_drop":
                    std = self._std_arg(call, frame)
                    std.members["egress_spec"] = DROP_PORT
                    std.members["mcast_grp"] = 0
                    return None
                case "hash":
                    self._hash(call, frame)
                    return None
                case "update_checksum":
                    self._update_checksum(call, frame)
                    return None
            raise P4ExecError(f"line {line}: {name}() is not a function or action this "
                              "executor knows")
        if not isinstance(func, s.Member):
            raise P4ExecError(f"line {line}: this call form is not known")
        method = func.name
        if isinstance(func.base, s.Name) and func.base.name in ("packet",):
            obj = self.eval(func.base, frame)
            if isinstance(obj, Ref) and obj.kind == "packet_out" and method == "emit":
                header = self.eval(call.args[0], frame) if len(call.args) == 1 else None
                if not isinstance(header, HeaderValue):
                    raise P4ExecError(f"line {line}: emit(header) expected")
                if header.valid and self._emitted is not None:
                    self._emitted.extend(self.header_bytes(header))
                return None
        obj = self.eval(func.base, frame)
        if isinstance(obj, HeaderValue):
            if call.args:
                raise P4ExecError(f"line {line}: {method}() takes no arguments")
            match method:
                case "isValid":
                    return obj.valid
                case "setValid":
                    obj.valid = True  # fields keep whatever they held: P4 leaves them unspecified
                    return None
                case "setInvalid":
                    obj.valid = False
                    return None
            raise P4ExecError(f"line {line}: header method {method} is not known")
        if isinstance(obj, Ref):
            if obj.kind == "table":
                if method != "apply" or call.args:
                    raise P4ExecError(f"line {line}: tables only have apply()")
                return self.apply_table(obj.name, frame, line)
            if obj.kind.startswith("extern:"):
                return self._extern_method(obj.kind[7:], obj.name, method, call, frame)
        raise P4ExecError(f"line {line}: {method}() on {obj!r} is not known")

    def _std_arg(self, call: s.Call, frame: Frame) -> StructValue:
        if len(call.args) != 1:
            raise P4ExecError(f"line {call.line}: mark_to_drop(standard_metadata) expected")
        std = self.eval(call.args[0], frame)
        if not isinstance(std, StructValue) or std.type_name != "standard_metadata_t":
            raise P4ExecError(f"line {call.line}: mark_to_drop takes standard_metadata")
        return std

    def _field_list_bits(self, items: s.Expr, frame: Frame, line: int) -> tuple[int, int]:
        if not isinstance(items, s.ListE):
            raise P4ExecError(f"line {line}: expected a field list {{ ... }}")
        value, width = 0, 0
        for item in items.items:
            v = self.eval(item, frame)
            if isinstance(v, tuple) and v and v[0] == "varbit":
                _, data, nbits = v
                value, width = (value << nbits) | data, width + nbits
            elif isinstance(v, Bits) and v.width is not None:
                value, width = (value << v.width) | v.value, width + v.width
            elif isinstance(v, bool):
                value, width = (value << 1) | int(v), width + 1
            else:
                raise P4ExecError(f"line {line}: field list items must be sized bit values")
        return value, width

    def _hash(self, call: s.Call, frame: Frame) -> None:
        line = call.line
        if len(call.args) != 5:
            raise P4ExecError(f"line {line}: hash(result, algo, base, data, max) expected")
        algo = self.eval(call.args[1], frame)
        if not isinstance(algo, EnumValue) or algo.enum != "HashAlgorithm" or algo.member not in (
                "crc16", "crc32"):
            raise P4ExecError(f"line {line}: hash algorithm {algo} is not one this executor "
                              "computes (crc16, crc32)")
        base = self._bits(call.args[2], frame, line)
        value, width = self._field_list_bits(call.args[3], frame, line)
        if width % 8:
            raise P4ExecError(f"line {line}: hashed fields total {width} bits, not whole bytes")
        data = value.to_bytes(width // 8, "big")
        h = crc16(data) if algo.member == "crc16" else crc32(data)
        modulus = self._bits(call.args[4], frame, line).value
        result = base.value + (h % modulus) if modulus >= 1 else base.value
        self._store_out(call.args[0], result, frame, line)

    def _store_out(self, target: s.Expr, value: int, frame: Frame, line: int) -> None:
        """Write an ``out`` argument, truncated to its type (extern results are)."""
        current = self.eval(target, frame)
        if not isinstance(current, Bits) or current.width is None:
            raise P4ExecError(f"line {line}: an out argument must be a bit<W> lvalue")
        self.store(target, Bits(value & mask(current.width), current.width), frame, line)

    def _update_checksum(self, call: s.Call, frame: Frame) -> None:
        line = call.line
        if len(call.args) != 4:
            raise P4ExecError(f"line {line}: update_checksum(cond, data, checksum, algo) "
                              "expected")
        algo = self.eval(call.args[3], frame)
        if not isinstance(algo, EnumValue) or algo.member != "csum16":
            raise P4ExecError(f"line {line}: update_checksum algorithm {algo} is not csum16")
        cond = self.eval(call.args[0], frame)
        if not isinstance(cond, bool):
            raise P4ExecError(f"line {line}: update_checksum needs a bool condition")
        if not cond:
            return
        value, width = self._field_list_bits(call.args[1], frame, line)
        if width % 16:
            raise P4ExecError(f"line {line}: csum16 over {width} bits, not 16-bit words")
        self._store_out(call.args[2], csum16(value.to_bytes(width // 8, "big")), frame, line)

    def _index(self, arg: s.Expr, frame: Frame, line: int) -> int:
        v = self._bits(arg, frame, line)
        if v.width != 32:
            raise P4ExecError(f"line {line}: the index is bit<{v.width}>; this program "
                              "declares bit<32> indexes")
        return v.value

    def _extern_method(self, kind: str, name: str, method: str, call: s.Call,
                       frame: Frame) -> object:
        line = call.line
        args = call.args
        match kind, method:
            case "register", "read":
                cells = self.registers[name]
                index = self._index(args[1], frame, line)
                if index >= len(cells):
                    raise P4ExecError(f"line {line}: {name}.read index {index} is out of range "
                                      f"(size {len(cells)}): v1model leaves the result unspecified")
                current = self.eval(args[0], frame)
                if not isinstance(current, Bits) or current.width != self.register_width[name]:
                    raise P4ExecError(f"line {line}: {name}.read result must be "
                                      f"bit<{self.register_width[name]}>")
                self.store(args[0], Bits(cells[index], current.width), frame, line)
                return None
            case "register", "write":
                cells = self.registers[name]
                index = self._index(args[0], frame, line)
                value = self._bits(args[1], frame, line)
                if value.width != self.register_width[name]:
                    raise P4ExecError(f"line {line}: {name}.write value must be "
                                      f"bit<{self.register_width[name]}>")
                if index < len(cells):
                    cells[index] = value.value
                return None
            case "meter", "execute_meter":
                cells = self.meters[name]
                index = self._index(args[0], frame, line)
                if index >= len(cells):
                    raise P4ExecError(f"line {line}: {name}.execute_meter index {index} is out "
                                      "of range: v1model leaves the colour unspecified")
                std = self._current_std(frame)
                amount = 1 if self.meter_unit[name] == "packets" else int(
                    std.members["packet_length"])  # type: ignore[call-overload]
                colour = cells[index].execute(amount, self.now)
                self._store_out(args[1], colour, frame, line)
                return None
            case "counter", "count":
                cells = self.counters[name]
                index = self._index(args[0], frame, line)
                if index < len(cells):
                    std = self._current_std(frame)
                    cells[index].packets += 1
                    cells[index].bytes += int(std.members["packet_length"])  # type: ignore[call-overload]
                return None
        raise P4ExecError(f"line {line}: {kind} {name} has no method {method}() this executor "
                          "knows")

    def _current_std(self, frame: Frame) -> StructValue:
        for scope in frame.scopes:
            for value in scope.values():
                if isinstance(value, StructValue) and value.type_name == "standard_metadata_t":
                    return value
        raise P4ExecError("standard_metadata is not visible here")

    def run_action(self, name: str, args: list[object], line: int) -> None:
        action = self.ingress.actions.get(name) or self._control.actions.get(name)
        if action is None:
            raise P4ExecError(f"line {line}: unknown action {name!r}")
        if len(args) != len(action.params):
            raise P4ExecError(f"line {line}: action {name} takes {len(action.params)} "
                              f"argument(s), got {len(args)}")
        bound = {p.name: self._convert(p.type, a, line)
                 for p, a in zip(action.params, args, strict=True)}
        frame = self._frame_for(self._control, self._control_args)
        frame.scopes.append(bound)
        self.exec_block(action.body, frame)

    def apply_table(self, name: str, frame: Frame, line: int) -> ApplyResult:
        if name not in self.tables:
            raise P4ExecError(f"line {line}: unknown table {name!r}")
        state = self.tables[name]
        values = []
        for key, width in zip(state.decl.keys, state.widths, strict=True):
            v = self._bits(key.expr, frame, line)
            if v.width != width:
                raise P4ExecError(f"line {line}: key {key.name} changed width")
            values.append(v.value)
        entry = state.lookup(values)
        std = self._current_std(frame)
        if entry is None:
            self.run_action(state.default_action, [Bits(a, None) for a in state.default_args],
                            line)
            return ApplyResult(False, state.default_action)
        if state.decl.counters is not None:
            entry.counter.packets += 1
            entry.counter.bytes += int(std.members["packet_length"])  # type: ignore[call-overload]
        params = self.ingress.actions[entry.action].params
        self.run_action(entry.action, [Bits(a, p.type.width) for a, p in zip(  # type: ignore[union-attr]
            entry.args, params, strict=True)], line)
        return ApplyResult(True, entry.action)

    # -------------------------------------------------------------- deparser

    def header_bytes(self, header: HeaderValue) -> bytes:
        value, width = 0, 0
        for ftype, name in header.layout:
            if isinstance(ftype, s.BitType):
                value, width = (value << ftype.width) | header.fields[name], width + ftype.width
            elif isinstance(ftype, s.VarbitType):
                data, nbits = header.varbits.get(name, (0, 0))
                value, width = (value << nbits) | data, width + nbits
        if width % 8:
            raise P4ExecError(f"header {header.type_name} is {width} bits, not whole bytes")
        return value.to_bytes(width // 8, "big")
