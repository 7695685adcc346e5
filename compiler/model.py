"""The reference model: an interpreter of the IR on raw packet bytes.

This module *defines* what a program does; every backend is checked against it packet by
packet. It follows the docstrings of ``compiler/ir.py`` and the rules of ``docs/language.md``
("The fate of a packet", "Malformed input", "Tables and priorities", "Reference semantics").

``Pipeline(program)`` holds the run-time state (table entries and defaults, direct counters,
registers, meters); ``Pipeline.process(port, data, now)`` runs one packet through parser,
ingress control and deparser and returns what leaves, as ``[(port, bytes)]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from wirespeed.compiler import ir
from wirespeed.compiler.crc import hash_fields

# A parser that visits more states than this for one packet is looping without consuming
# input (a state may select back to itself); the packet is rejected rather than hanging.
MAX_PARSER_STEPS = 256

# A packet that would leave with fewer bytes than an Ethernet header is dropped instead.
MIN_FRAME_BYTES = 14

BUILTIN_ACTIONS: dict[str, ir.Action] = {
    "drop": ir.Action("drop", (), (ir.Drop(),)),
    "send_to_host": ir.Action("send_to_host", (), (ir.SendToHost(),)),
    "forward": ir.Action(
        "forward",
        (ir.Param("port", ir.PORT_WIDTH),),
        (ir.Forward(ir.ParamRef("port", ir.Bits(ir.PORT_WIDTH))),),
    ),
    "nop": ir.Action("nop", (), ()),
}

GREEN, YELLOW, RED = 0, 1, 2


class ModelError(Exception):
    """A run-time request the model refuses (a bad table entry, an unknown name); the message
    is for the user."""


def mask(width: int) -> int:
    return (1 << width) - 1


def find_action(program: ir.Program, name: str) -> ir.Action:
    """A program action, or one of the built-in actions (``drop``, ``send_to_host``,
    ``forward``, ``nop``) when the program does not declare one of that name."""
    for action in program.actions:
        if action.name == name:
            return action
    if name in BUILTIN_ACTIONS:
        return BUILTIN_ACTIONS[name]
    raise ModelError(f"unknown action {name!r}")


# ----------------------------------------------------------------------------- tables


@dataclass
class Counter:
    packets: int = 0
    bytes: int = 0


@dataclass
class InstalledEntry:
    entry: ir.Entry  # matches normalised to the key kinds (no Wildcard)
    order: int  # insertion order across const and run-time entries: earlier wins ties
    counter: Counter = field(default_factory=Counter)


def _check_call(program: ir.Program, table: ir.Table, call: ir.ActionCall) -> None:
    if call.action not in table.actions:
        raise ModelError(
            f"table {table.name!r} has no action {call.action!r} "
            f"(actions: {', '.join(table.actions)})")
    action = find_action(program, call.action)
    if len(call.args) != len(action.params):
        raise ModelError(
            f"action {call.action!r} takes {len(action.params)} argument(s), "
            f"got {len(call.args)}")
    for param, arg in zip(action.params, call.args, strict=True):
        if not 0 <= arg <= mask(param.width):
            raise ModelError(
                f"argument {param.name}={arg:#x} of action {call.action!r} does not fit in "
                f"bit<{param.width}>")


def _normalise_match(table: ir.Table, key: ir.TableKey, match: ir.Match) -> ir.Match:
    """Check one match against its key and return it in the key's own kind."""
    width = key.width
    where = f"table {table.name!r} key {key.name!r}"

    def fits(value: int, what: str) -> None:
        if not 0 <= value <= mask(width):
            raise ModelError(f"{where}: {what} {value:#x} is too wide for bit<{width}>")

    kind = key.kind
    match match:
        case ir.Wildcard():
            if kind is ir.MatchKind.EXACT:
                raise ModelError(f"{where}: an exact key cannot be a wildcard")
            if kind is ir.MatchKind.LPM:
                return ir.Lpm(0, 0)
            if kind is ir.MatchKind.TERNARY:
                return ir.Ternary(0, 0)
            return ir.Range(0, mask(width))
        case ir.Exact(value):
            fits(value, "value")
            if kind is ir.MatchKind.EXACT:
                return match
            raise ModelError(f"{where}: is a {kind} key, got an exact value")
        case ir.Lpm(value, prefix_len):
            if kind is not ir.MatchKind.LPM:
                raise ModelError(f"{where}: is a {kind} key, got a prefix")
            fits(value, "value")
            if not 0 <= prefix_len <= width:
                raise ModelError(
                    f"{where}: prefix length {prefix_len} is longer than the key ({width} bits)")
            prefix_mask = mask(width) ^ mask(width - prefix_len)
            return ir.Lpm(value & prefix_mask, prefix_len)
        case ir.Ternary(value, tmask):
            if kind is not ir.MatchKind.TERNARY:
                raise ModelError(f"{where}: is a {kind} key, got a value and mask")
            fits(value, "value")
            fits(tmask, "mask")
            return ir.Ternary(value & tmask, tmask)
        case ir.Range(lo, hi):
            if kind is not ir.MatchKind.RANGE:
                raise ModelError(f"{where}: is a {kind} key, got a range")
            fits(lo, "low bound")
            fits(hi, "high bound")
            if lo > hi:
                raise ModelError(f"{where}: empty range {lo}..{hi}")
            return match
        case _:
            assert_never(match)


def _matches(match: ir.Match, value: int, width: int) -> bool:
    match match:
        case ir.Exact(expected):
            return value == expected
        case ir.Lpm(prefix, prefix_len):
            prefix_mask = mask(width) ^ mask(width - prefix_len)
            return value & prefix_mask == prefix
        case ir.Ternary(expected, tmask):
            return value & tmask == expected & tmask
        case ir.Range(lo, hi):
            return lo <= value <= hi
        case ir.Wildcard():
            return True
        case _:
            assert_never(match)


class TableState:
    """One table's entries, default action and counters."""

    def __init__(self, program: ir.Program, table: ir.Table) -> None:
        self.program = program
        self.table = table
        self.default = table.default_action
        self.const_entries: list[InstalledEntry] = []
        self.entries: list[InstalledEntry] = []  # run-time entries; the handle is the index
        self.miss_counter = Counter()
        self._exact_index: dict[tuple[ir.Match, ...], InstalledEntry] = {}
        self._order = 0
        kinds = {k.kind for k in table.keys}
        self.is_exact = kinds <= {ir.MatchKind.EXACT}
        self.is_lpm = not table.needs_priority and ir.MatchKind.LPM in kinds
        for entry in table.const_entries:
            self.const_entries.append(self._install(entry))

    def _install(self, entry: ir.Entry) -> InstalledEntry:
        table = self.table
        if len(self.const_entries) + len(self.entries) >= table.size:
            raise ModelError(f"table {table.name!r} is full ({table.size} entries)")
        if len(entry.matches) != len(table.keys):
            names = " ".join(k.name for k in table.keys)
            raise ModelError(
                f"table {table.name!r} has {len(table.keys)} key(s) ({names}), "
                f"the entry gives {len(entry.matches)}")
        matches = tuple(
            _normalise_match(table, key, m)
            for key, m in zip(table.keys, entry.matches, strict=True))
        if table.needs_priority:
            if entry.priority is None:
                raise ModelError(
                    f"table {table.name!r} has ternary or range keys: every entry needs a "
                    "priority (lowest number wins)")
            if entry.priority < 0:
                raise ModelError(f"priority {entry.priority} is negative")
        elif entry.priority is not None:
            raise ModelError(
                f"table {table.name!r} has no ternary or range key, so its entries take no "
                "priority")
        _check_call(self.program, table, entry.action)
        dedup_key = matches if not table.needs_priority else (*matches, entry.priority)
        if dedup_key in self._exact_index:
            raise ModelError(f"table {table.name!r} already has an entry with this key")
        installed = InstalledEntry(
            ir.Entry(matches, entry.action, entry.priority, entry.span), self._order)
        self._order += 1
        self._exact_index[dedup_key] = installed
        return installed

    def add(self, entry: ir.Entry) -> int:
        if self.table.const_entries:
            # as P4 `const entries` (and bmv2): a table with entries in the program is
            # read-only, so no target has to merge constant and run-time entries
            raise ModelError(f"table {self.table.name!r} has constant entries in the program: "
                             "it is read-only")
        self.entries.append(self._install(entry))
        return len(self.entries) - 1

    def set_default(self, call: ir.ActionCall) -> None:
        _check_call(self.program, self.table, call)
        self.default = call

    def lookup(self, key_values: tuple[int, ...]) -> InstalledEntry | None:
        if self.is_exact:
            return self._exact_index.get(tuple(ir.Exact(v) for v in key_values))
        widths = [k.width for k in self.table.keys]
        best: InstalledEntry | None = None
        best_rank: tuple[int, int] | None = None
        for candidate in (*self.const_entries, *self.entries):
            if not all(
                _matches(m, v, w)
                for m, v, w in zip(candidate.entry.matches, key_values, widths, strict=True)
            ):
                continue
            if self.is_lpm:
                prefix = sum(m.prefix_len for m in candidate.entry.matches
                             if isinstance(m, ir.Lpm))
                rank = (-prefix, candidate.order)
            else:
                assert candidate.entry.priority is not None
                rank = (candidate.entry.priority, candidate.order)
            if best_rank is None or rank < best_rank:
                best, best_rank = candidate, rank
        return best


# ----------------------------------------------------------------------------- meters


@dataclass
class MeterCell:
    """An RFC 2698 two-rate three-colour meter in colour-blind mode. Rates are per second in
    the meter's unit (packets or bytes); both buckets start full."""

    cir: float = 0.0
    cburst: int = 0
    pir: float = 0.0
    pburst: int = 0
    configured: bool = False
    committed_tokens: float = 0.0
    peak_tokens: float = 0.0
    last: float | None = None

    def configure(self, cir: float, cburst: int, pir: float, pburst: int) -> None:
        if cir < 0 or pir < 0 or cburst < 0 or pburst < 0:
            raise ModelError("meter rates and bursts must not be negative")
        if pir < cir:
            raise ModelError(f"meter peak rate {pir} is below the committed rate {cir}")
        self.cir, self.cburst, self.pir, self.pburst = cir, cburst, pir, pburst
        self.configured = True
        self.committed_tokens = float(cburst)
        self.peak_tokens = float(pburst)
        self.last = None

    def execute(self, amount: int, now: float) -> int:
        if not self.configured:
            return GREEN  # as bmv2: a meter nobody configured lets everything through
        if self.last is not None and now > self.last:
            elapsed = now - self.last
            self.committed_tokens = min(float(self.cburst),
                                        self.committed_tokens + self.cir * elapsed)
            self.peak_tokens = min(float(self.pburst), self.peak_tokens + self.pir * elapsed)
        if self.last is None or now > self.last:
            self.last = now
        if self.peak_tokens < amount:
            return RED
        if self.committed_tokens < amount:
            self.peak_tokens -= amount
            return YELLOW
        self.peak_tokens -= amount
        self.committed_tokens -= amount
        return GREEN


# ----------------------------------------------------------------------------- packets


class _Reject(Exception):
    """The parser rejected the packet (truncated, bad variable length, ``reject``)."""


class _Return(Exception):
    """``return`` in the ingress control."""


@dataclass
class PacketState:
    """Everything one packet carries through the pipeline."""

    valid: dict[str, bool]
    fields: dict[str, dict[str, int]]
    varlen: dict[str, bytes]
    meta: dict[tuple[str, str], int]
    payload: bytes = b""


@dataclass(frozen=True)
class TableResult:
    hit: bool
    action: str


class Pipeline:
    """A program loaded into the reference model, with its run-time state."""

    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.tables = {t.name: TableState(program, t) for t in program.tables}
        self.registers = {r.name: [0] * r.size for r in program.registers}
        self.meters = {m.name: [MeterCell() for _ in range(m.size)] for m in program.meters}
        self._headers = {h.name: h for h in program.headers}
        #: when a list, ``process`` appends a line per step (parser states, rejects, tables,
        #: the fate): ``wirespeed test --trace`` prints it
        self.trace: list[str] | None = None

    def _note(self, line: str) -> None:
        if self.trace is not None:
            self.trace.append(line)

    # -------------------------------------------------------------- control plane

    def table(self, name: str) -> TableState:
        try:
            return self.tables[name]
        except KeyError:
            raise ModelError(f"unknown table {name!r}") from None

    def add_entry(self, table: str, entry: ir.Entry) -> int:
        return self.table(table).add(entry)

    def set_default(self, table: str, call: ir.ActionCall) -> None:
        self.table(table).set_default(call)

    def read_counter(self, table: str, handle: int | None) -> Counter:
        state = self.table(table)
        if not state.table.counters:
            raise ModelError(f"table {table!r} has no counters")
        if handle is None:
            return state.miss_counter
        if not 0 <= handle < len(state.entries):
            raise ModelError(
                f"table {table!r} has no entry {handle} ({len(state.entries)} added)")
        return state.entries[handle].counter

    def read_register(self, register: str, index: int) -> int:
        if register not in self.registers:
            raise ModelError(f"unknown register {register!r}")
        cells = self.registers[register]
        if not 0 <= index < len(cells):
            raise ModelError(f"register {register!r} has no index {index}")
        return cells[index]

    def set_meter(self, meter: str, index: int, cir: float, cburst: int, pir: float,
                  pburst: int) -> None:
        if meter not in self.meters:
            raise ModelError(f"unknown meter {meter!r}")
        cells = self.meters[meter]
        if not 0 <= index < len(cells):
            raise ModelError(f"meter {meter!r} has no index {index}")
        cells[index].configure(cir, cburst, pir, pburst)

    # -------------------------------------------------------------- data plane

    def process(self, port: int, data: bytes, now: float = 0.0) -> list[tuple[int, bytes]]:
        """Run one packet that arrived on ``port``; return ``[(egress port, bytes)]``, empty
        when the packet is dropped. ``now`` (seconds) drives the meters."""
        self._now = now
        packet = PacketState(
            valid={h.name: False for h in self.program.headers},
            fields={h.name: {f.name: 0 for f in h.type.fields} for h in self.program.headers},
            varlen={h.name: b"" for h in self.program.headers},
            meta={(m.scope, m.name): 0 for m in (*ir.STD_FIELDS, *self.program.metadata)},
        )
        packet.meta[("std", "ingress_port")] = port & mask(ir.PORT_WIDTH)
        packet.meta[("std", "egress_port")] = ir.DROP_PORT
        packet.meta[("std", "packet_length")] = len(data) & mask(32)
        self._note(f"packet in on port {port}, {len(data)} bytes")
        try:
            self._parse(packet, data)
        except _Reject as reject:
            self._note(f"parser rejects: {reject} -> dropped")
            return []
        try:
            self._run(packet, self.program.ingress, {})
        except _Return:
            self._note("return")
        egress = packet.meta[("std", "egress_port")]
        if egress == ir.DROP_PORT:
            self._note("egress port 511 -> dropped")
            return []
        out = self._deparse(packet)
        if len(out) < MIN_FRAME_BYTES:
            # shorter than an Ethernet header: no wire carries it (and XDP cannot emit it)
            self._note(f"only {len(out)} bytes left, less than an Ethernet header -> dropped")
            return []
        valid = [h.name for h in self.program.headers if packet.valid[h.name]]
        self._note(f"out on port {egress}, {len(out)} bytes: {' '.join(valid) or 'no headers'}"
                   f" + {len(packet.payload)} bytes of payload")
        return [(egress, out)]

    # ------------------------------------------------------------------ parser

    def _parse(self, packet: PacketState, data: bytes) -> None:
        offset = 0
        state_name = self.program.start.name
        for _ in range(MAX_PARSER_STEPS):
            if state_name == ir.ACCEPT:
                packet.payload = data[offset:]
                return
            if state_name == ir.REJECT:
                raise _Reject("reached state reject")
            state = self.program.state(state_name)
            for header in state.extracts:
                offset = self._extract(packet, header, data, offset)
            state_name = self._select(packet, state)
            self._note(f"parser state {state.name}: extracted "
                       f"{', '.join(state.extracts) or 'nothing'} -> {state_name}")
        raise _Reject(f"more than {MAX_PARSER_STEPS} parser states")

    def _extract(self, packet: PacketState, name: str, data: bytes, offset: int) -> int:
        htype = self._headers[name].type
        if htype.fixed_bits % 8:
            raise ModelError(f"header {name!r} is {htype.fixed_bits} bits, not whole bytes")
        end = offset + htype.fixed_bytes
        if end > len(data):
            raise _Reject(f"{name} needs {htype.fixed_bytes} bytes at offset {offset}, "
                          f"the packet has {len(data)}")
        value = int.from_bytes(data[offset:end], "big")
        shift = htype.fixed_bits
        values = {}
        for f in htype.fields:
            shift -= f.width
            values[f.name] = (value >> shift) & mask(f.width)
        varlen = b""
        if htype.varlen is not None:
            v = htype.varlen
            length = values[v.length_field] * v.scale + v.offset
            if not 0 <= length <= v.max_bytes:
                raise _Reject(f"{name}.{v.name} length {length} is outside 0..{v.max_bytes}")
            if end + length > len(data):
                raise _Reject(f"{name}.{v.name} needs {length} bytes at offset {end}, the "
                              f"packet has {len(data)}")
            varlen = data[end:end + length]
            end += length
        packet.valid[name] = True
        packet.fields[name] = values
        packet.varlen[name] = varlen
        return end

    def _select(self, packet: PacketState, state: ir.ParserState) -> str:
        if not state.select_keys:
            return state.default
        keys = [(self._eval(packet, k, {}), k.type) for k in state.select_keys]
        for case in state.cases:
            if all(_matches(m, int(v), t.width if isinstance(t, ir.Bits) else 1)
                   for m, (v, t) in zip(case.matches, keys, strict=True)):
                return case.next_state
        return state.default

    # ------------------------------------------------------------------ deparser

    def _header_bytes(self, packet: PacketState, name: str) -> bytes:
        htype = self._headers[name].type
        value = 0
        for f in htype.fields:
            value = (value << f.width) | packet.fields[name][f.name]
        return value.to_bytes(htype.fixed_bytes, "big") + packet.varlen[name]

    def _deparse(self, packet: PacketState) -> bytes:
        for name in self.program.checksums:
            if packet.valid.get(name):
                packet.fields[name]["checksum"] = 0
                packet.fields[name]["checksum"] = ipv4_checksum(
                    self._header_bytes(packet, name))
        out = bytearray()
        for header in self.program.headers:
            if packet.valid[header.name]:
                out += self._header_bytes(packet, header.name)
        return bytes(out) + packet.payload

    # ------------------------------------------------------------------ control

    def _run(self, packet: PacketState, body: tuple[ir.Stmt, ...],
             params: dict[str, int]) -> None:
        for stmt in body:
            self._exec(packet, stmt, params)

    def _exec(self, packet: PacketState, stmt: ir.Stmt, params: dict[str, int]) -> None:
        match stmt:
            case ir.Assign(target, value):
                self._store(packet, target, int(self._eval(packet, value, params)))
            case ir.SetValid(header):
                if not packet.valid[header]:
                    htype = self._headers[header].type
                    packet.fields[header] = {f.name: 0 for f in htype.fields}
                    packet.varlen[header] = b""
                    packet.valid[header] = True
            case ir.SetInvalid(header):
                packet.valid[header] = False
            case ir.Forward(port):
                packet.meta[("std", "egress_port")] = (
                    int(self._eval(packet, port, params)) & mask(ir.PORT_WIDTH))
            case ir.Drop():
                packet.meta[("std", "egress_port")] = ir.DROP_PORT
            case ir.SendToHost():
                packet.meta[("std", "egress_port")] = ir.HOST_PORT
            case ir.Hash(target, algo, exprs):
                values = [(int(self._eval(packet, e, params)), _width(e.type)) for e in exprs]
                self._store(packet, target, hash_fields(algo, values))
            case ir.RegisterRead(target, register, index):
                cells = self.registers[register]
                i = int(self._eval(packet, index, params))
                self._store(packet, target, cells[i] if i < len(cells) else 0)
            case ir.RegisterWrite(register, index, value):
                cells = self.registers[register]
                i = int(self._eval(packet, index, params))
                if i < len(cells):
                    width = self.program.register(register).width
                    cells[i] = int(self._eval(packet, value, params)) & mask(width)
            case ir.MeterExecute(target, meter, index):
                cells = self.meters[meter]
                i = int(self._eval(packet, index, params))
                colour = GREEN
                if i < len(cells):
                    unit = self.program.meter(meter).unit
                    amount = (packet.meta[("std", "packet_length")]
                              if unit is ir.MeterUnit.BYTES else 1)
                    colour = cells[i].execute(amount, self._now)
                self._store(packet, target, colour)
            case ir.Apply(table):
                self._apply(packet, table)
            case ir.ApplyHit(table, hit, miss):
                result = self._apply(packet, table)
                self._run(packet, hit if result.hit else miss, params)
            case ir.ApplySwitch(table, cases, default):
                result = self._apply(packet, table)
                for case in cases:
                    if result.action in case.actions:
                        self._run(packet, case.body, params)
                        break
                else:
                    self._run(packet, default, params)
            case ir.If(cond, then, otherwise):
                taken = bool(self._eval(packet, cond, params))
                self._run(packet, then if taken else otherwise, params)
            case ir.Return():
                raise _Return
            case _:
                assert_never(stmt)

    def _apply(self, packet: PacketState, name: str) -> TableResult:
        state = self.tables[name]
        key = tuple(int(self._eval(packet, k.expr, {})) for k in state.table.keys)
        found = state.lookup(key)
        length = packet.meta[("std", "packet_length")]
        if found is None:
            call = state.default
            counter = state.miss_counter
        else:
            call = found.entry.action
            counter = found.counter
        if state.table.counters:
            counter.packets += 1
            counter.bytes += length
        if self.trace is not None:
            keys = ", ".join(f"{k.name}={v:#x}" for k, v in zip(state.table.keys, key,
                                                                 strict=True))
            if found is None:
                how = "miss -> default"
            elif found in state.entries:
                how = f"hit entry {state.entries.index(found)} ->"
            else:
                how = f"hit constant entry {state.const_entries.index(found)} ->"
            args = ", ".join(map(hex, call.args))
            self._note(f"table {name} ({keys}): {how} {call.action}({args})")
        self.run_action(packet, call)
        return TableResult(found is not None, call.action)

    def run_action(self, packet: PacketState, call: ir.ActionCall) -> None:
        action = find_action(self.program, call.action)
        params = {p.name: arg & mask(p.width)
                  for p, arg in zip(action.params, call.args, strict=True)}
        self._run(packet, action.body, params)

    # ------------------------------------------------------------------ expressions

    def _store(self, packet: PacketState, target: ir.LValue, value: int) -> None:
        match target:
            case ir.FieldRef(header, fname, ftype):
                if packet.valid[header]:  # writing a field of an invalid header does nothing
                    packet.fields[header][fname] = value & mask(ftype.width)
            case ir.MetaRef(scope, name, mtype):
                packet.meta[(scope, name)] = value & mask(mtype.width)
            case _:
                assert_never(target)

    def _eval(self, packet: PacketState, expr: ir.Expr, params: dict[str, int]) -> int | bool:
        match expr:
            case ir.Const(value, ctype):
                if isinstance(ctype, ir.BoolType):
                    return bool(value)
                return value & mask(ctype.width)
            case ir.FieldRef(header, fname, _):
                return packet.fields[header][fname] if packet.valid[header] else 0
            case ir.MetaRef(scope, name, _):
                return packet.meta[(scope, name)]
            case ir.ParamRef(name, _):
                return params[name]
            case ir.IsValid(header):
                return packet.valid[header]
            case ir.BinOp(op, left, right, rtype):
                return self._binop(packet, op, left, right, rtype, params)
            case ir.UnOp(op, operand, _):
                value = self._eval(packet, operand, params)
                if op is ir.UnOpKind.LNOT:
                    return not value
                return ~int(value) & mask(_width(operand.type))
            case ir.Slice(value, hi, lo, _):
                return (int(self._eval(packet, value, params)) >> lo) & mask(hi - lo + 1)
            case ir.Concat(left, right, _):
                high = int(self._eval(packet, left, params))
                low = int(self._eval(packet, right, params))
                return (high << _width(right.type)) | low
            case ir.Cast(value, ctype):
                return int(self._eval(packet, value, params)) & mask(ctype.width)
            case _:
                assert_never(expr)

    def _binop(self, packet: PacketState, op: ir.BinOpKind, left: ir.Expr, right: ir.Expr,
               rtype: ir.Type, params: dict[str, int]) -> int | bool:
        if op is ir.BinOpKind.LAND:
            return bool(self._eval(packet, left, params)) and bool(
                self._eval(packet, right, params))
        if op is ir.BinOpKind.LOR:
            return bool(self._eval(packet, left, params)) or bool(
                self._eval(packet, right, params))
        a = int(self._eval(packet, left, params))
        b = int(self._eval(packet, right, params))
        return binop_value(op, a, b, _width(left.type))


def _width(t: ir.Type) -> int:
    return t.width if isinstance(t, ir.Bits) else 1


def binop_value(op: ir.BinOpKind, a: int, b: int, width: int) -> int:
    """``a op b`` on bit<width> operands; comparisons and ``&&``/``||`` give 0 or 1. The one
    definition of the operators: the model runs it and constant folding uses it."""
    m = mask(width)
    match op:
        case ir.BinOpKind.ADD:
            return (a + b) & m
        case ir.BinOpKind.SUB:
            return (a - b) & m
        case ir.BinOpKind.AND:
            return a & b
        case ir.BinOpKind.OR:
            return a | b
        case ir.BinOpKind.XOR:
            return a ^ b
        case ir.BinOpKind.SHL:
            return (a << b) & m if b < width else 0
        case ir.BinOpKind.SHR:
            return a >> b if b < width else 0
        case ir.BinOpKind.EQ:
            return int(a == b)
        case ir.BinOpKind.NE:
            return int(a != b)
        case ir.BinOpKind.LT:
            return int(a < b)
        case ir.BinOpKind.LE:
            return int(a <= b)
        case ir.BinOpKind.GT:
            return int(a > b)
        case ir.BinOpKind.GE:
            return int(a >= b)
        case ir.BinOpKind.LAND:
            return int(bool(a) and bool(b))
        case ir.BinOpKind.LOR:
            return int(bool(a) or bool(b))
        case _:
            assert_never(op)


def ipv4_checksum(header: bytes) -> int:
    """The IPv4 header checksum (RFC 791) of ``header`` with its checksum field zero."""
    if len(header) % 2:
        header += b"\0"
    total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
