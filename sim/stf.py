"""STF packet tests: the format of p4c's bmv2 STF runner, plus a few documented extensions.

``parse_stf(program, text, filename)`` resolves every table, key, action and value against the
IR and gives ``StfError`` (``file:line: error: ...``) for anything wrong. ``run_stf(executor,
test)`` turns the file into executor ops, runs them with one ``Executor.run_script`` call and
matches what came out against the ``expect`` lines per port, in order, as p4c's runner does.
The format and its extensions are described in ``docs/stf.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import assert_never

from wirespeed.compiler import ir
from wirespeed.compiler.model import ModelError, Pipeline, find_action, mask
from wirespeed.sim.executor import (
    AddEntry,
    CounterValue,
    Executor,
    Op,
    Output,
    ReadCounter,
    SendPacket,
    SetDefault,
)


class StfError(Exception):
    """A mistake in an STF file; ``str()`` is the ``file:line: error: ...`` message."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(f"{filename}:{line}: error: {message}")
        self.filename = filename
        self.line = line
        self.message = message


# ----------------------------------------------------------------------------- the parsed test


@dataclass(frozen=True)
class Expect:
    """``expect PORT PATTERN``: hex nibbles with ``*`` wildcards; a prefix unless ``exact``."""

    line: int
    port: int
    pattern: str  # lower-case hex digits and '*'
    exact_length: bool


@dataclass(frozen=True)
class CounterCheck:
    line: int
    table: str
    handle: int | None  # None: the table's misses
    kind: str | None  # "packets" | "bytes" | None (both must be 0, as p4c's bare form)
    op: str
    value: int
    op_index: int  # index of the ReadCounter op in StfTest.ops


@dataclass(frozen=True)
class NoPacket:
    """``no_packet``: the packet sent just before produced no output on any port."""

    line: int
    op_index: int  # the SendPacket op it refers to


@dataclass(frozen=True)
class RegisterCheck:
    """``check_register NAME[INDEX] OP VALUE``: read after every packet has run."""

    line: int
    register: str
    index: int
    op: str
    value: int


@dataclass(frozen=True)
class MeterConfig:
    line: int
    meter: str
    index: int
    cir: int
    cburst: int
    pir: int
    pburst: int


@dataclass
class StfTest:
    filename: str
    ops: list[Op] = field(default_factory=list)
    op_lines: list[int] = field(default_factory=list)
    expects: list[Expect] = field(default_factory=list)
    any_ports: set[int] = field(default_factory=set)  # `expect PORT` with no data
    counter_checks: list[CounterCheck] = field(default_factory=list)
    no_packets: list[NoPacket] = field(default_factory=list)
    meters: list[MeterConfig] = field(default_factory=list)
    register_checks: list[RegisterCheck] = field(default_factory=list)

    @property
    def table_ops(self) -> list[Op]:
        """Only the control-plane ops (entries and defaults), for ``wirespeed run --entries``
        and for backends that bake entries into their output."""
        return [op for op in self.ops if isinstance(op, (AddEntry, SetDefault))]

    @property
    def packet_count(self) -> int:
        return sum(isinstance(op, SendPacket) for op in self.ops)


# ----------------------------------------------------------------------------- values

_COMPARISONS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b, ">": lambda a, b: a > b,
}


class _ValueError(Exception):
    pass


def parse_number(text: str) -> int:
    """Decimal, ``0x`` hex, ``0b`` binary, and (extensions) IPv4 ``10.0.0.1`` and MAC
    ``02:00:00:00:00:01`` literals."""
    t = text.strip().replace("_", "")
    try:
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", t):
            octets = [int(o) for o in t.split(".")]
            if any(o > 255 for o in octets):
                raise _ValueError(f"bad IPv4 address {text!r}")
            return int.from_bytes(bytes(octets), "big")
        if re.fullmatch(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}", t):
            return int.from_bytes(bytes(int(o, 16) for o in t.split(":")), "big")
        if t.lower().startswith("0x"):
            return int(t[2:], 16)
        if t.lower().startswith("0b"):
            return int(t[2:], 2)
        if t.isdigit():
            return int(t)
    except ValueError:
        pass
    raise _ValueError(f"bad number {text!r}")


def _wildcard_digits(text: str) -> tuple[str, int, str] | None:
    """``0x12**`` / ``0b1*0`` -> (digits, bits per digit, prefix) when the text is a hex or
    binary literal that may hold ``*`` digits; None otherwise."""
    t = text.strip().replace("_", "")
    low = t.lower()
    if low.startswith("0x") and re.fullmatch(r"[0-9a-fA-F*]+", t[2:]):
        return t[2:], 4, "0x"
    if low.startswith("0b") and re.fullmatch(r"[01*]+", t[2:]):
        return t[2:], 1, "0b"
    return None


def parse_match(text: str, kind: ir.MatchKind, width: int) -> ir.Match:
    """One key value of an ``add`` line, for a key of ``kind`` and ``width`` bits."""
    t = text.strip()
    if t in ("*", "_"):
        if kind is ir.MatchKind.EXACT:
            raise _ValueError("an exact key cannot be a wildcard")
        return ir.Wildcard()
    if "&&&" in t:
        if kind is not ir.MatchKind.TERNARY:
            raise _ValueError(f"value&&&mask is for ternary keys; this key is {kind}")
        value, _, tmask = t.partition("&&&")
        return ir.Ternary(parse_number(value), parse_number(tmask))
    if ".." in t:
        if kind is not ir.MatchKind.RANGE:
            raise _ValueError(f"lo..hi is for range keys; this key is {kind}")
        lo, _, hi = t.partition("..")
        return ir.Range(parse_number(lo), parse_number(hi))
    if "/" in t:
        if kind is not ir.MatchKind.LPM:
            raise _ValueError(f"value/length is for lpm keys; this key is {kind}")
        value, _, length = t.partition("/")
        if not length.strip().isdigit():
            raise _ValueError(f"bad prefix length {length!r}")
        starred = _wildcard_digits(value)
        if starred:  # 0x0a******/8: the '*' digits read as 0
            value = starred[2] + starred[0].replace("*", "0")
        return ir.Lpm(parse_number(value), int(length))
    starred = _wildcard_digits(t)
    match kind:
        case ir.MatchKind.EXACT:
            return ir.Exact(parse_number(t))
        case ir.MatchKind.LPM:
            if starred and "*" in starred[0]:
                digits, bits, prefix = starred
                fixed = digits.rstrip("*")
                if "*" in fixed:
                    raise _ValueError(f"lpm value {t!r} has '*' before a fixed digit")
                # p4c's runner: '*' digits read as 0, the prefix is the digits before them
                # (so write every digit of the key: 0x0a****** for 10/8 on 32 bits).
                value = int(digits.replace("*", "0"), 16 if bits == 4 else 2)
                return ir.Lpm(value, len(fixed) * bits)
            return ir.Lpm(parse_number(t), width)
        case ir.MatchKind.TERNARY:
            if starred:
                # p4c's runner: the mask covers exactly the digits written, '*' digits are 0.
                digits, bits, _ = starred
                base = 16 if bits == 4 else 2
                value = int(digits.replace("*", "0"), base)
                full = "f" if bits == 4 else "1"
                tmask = int("".join("0" if d == "*" else full for d in digits), base)
                return ir.Ternary(value, tmask)
            return ir.Ternary(parse_number(t), mask(width))
        case ir.MatchKind.RANGE:
            value = parse_number(t)
            return ir.Range(value, value)
    raise AssertionError(kind)


# ----------------------------------------------------------------------------- parser


def _find_by_name(names: Sequence[str], given: str) -> str | None:
    """Exact name, else the unique name that ``given`` ends with after a dot (so p4c-style
    qualified names such as ``ingress.acl`` or ``hdr.ipv4.dst`` resolve)."""
    if given in names:
        return given
    candidates = [n for n in names if given.endswith("." + n)]
    return candidates[0] if len(candidates) == 1 else None


_ADD_TAIL = re.compile(r"\)\s*(?:=\s*\$?(?P<id>[A-Za-z_][\w]*))?\s*$")
_CHECK_COUNTER = re.compile(
    r"(?P<table>[\w.]+)\s*\(\s*(?P<entry>[^)]*?)\s*\)\s*"
    r"(?:(?P<kind>packets|bytes)\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>\S+))?\s*$")
_CHECK_REGISTER = re.compile(
    r"(?P<name>[\w.]+)\s*\[\s*(?P<index>\w+)\s*\]\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>\S+)$")
_METER = re.compile(r"(?P<name>[\w.]+)\s*\[\s*(?P<index>\w+)\s*\]\s*(?P<params>.*)$")


class _Parser:
    def __init__(self, program: ir.Program, filename: str) -> None:
        self.program = program
        self.filename = filename
        self.test = StfTest(filename)
        # Entries are also installed in a scratch model so that duplicates, full tables and
        # every other entry error point at their line before anything runs on a target.
        self.scratch = Pipeline(program)
        self.entry_ids: dict[str, tuple[str, int]] = {}
        self.line = 0

    def error(self, message: str) -> StfError:
        return StfError(self.filename, self.line, message)

    def parse(self, text: str) -> StfTest:
        for number, raw in enumerate(text.splitlines(), start=1):
            self.line = number
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            command, _, rest = line.partition(" ")
            command = command.lower()
            rest = rest.strip()
            handler = getattr(self, f"_cmd_{command}", None)
            if handler is None:
                raise self.error(f"unknown command {command!r}")
            try:
                handler(rest)
            except _ValueError as e:
                raise self.error(str(e)) from None
            except ModelError as e:
                raise self.error(str(e)) from None
        return self.test

    def _emit(self, op: Op) -> int:
        self.test.ops.append(op)
        self.test.op_lines.append(self.line)
        return len(self.test.ops) - 1

    # ------------------------------------------------------------------ names

    def _table(self, given: str) -> ir.Table:
        name = _find_by_name([t.name for t in self.program.tables], given)
        if name is None:
            known = ", ".join(t.name for t in self.program.tables) or "none"
            raise self.error(f"unknown table {given!r} (tables: {known})")
        return self.program.table(name)

    def _action_call(self, table: ir.Table, text: str) -> ir.ActionCall:
        """``name(arg:value, ...)``."""
        m = re.fullmatch(r"\s*([\w.]+)\s*\((.*)\)\s*", text)
        if not m:
            raise self.error(f"expected an action call like name(arg:value), got {text!r}")
        given, args_text = m.group(1), m.group(2).strip()
        name = _find_by_name(list(table.actions), given)
        if name is None:
            raise self.error(f"table {table.name!r} has no action {given!r} "
                             f"(actions: {', '.join(table.actions)})")
        action = find_action(self.program, name)
        given_args: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in args_text.split(","))):
            arg, sep, value = part.partition(":")
            if not sep:
                raise self.error(f"action argument {part!r} must be name:value")
            arg = arg.strip()
            if arg not in {p.name for p in action.params}:
                names = ", ".join(p.name for p in action.params) or "none"
                raise self.error(
                    f"action {name!r} has no parameter {arg!r} (parameters: {names})")
            if arg in given_args:
                raise self.error(f"argument {arg!r} given twice")
            given_args[arg] = parse_number(value)
        values = []
        for param in action.params:
            if param.name not in given_args:
                raise self.error(f"action {name!r} needs argument {param.name!r}")
            value = given_args[param.name]
            if value > mask(param.width):
                raise self.error(f"argument {param.name}={value:#x} does not fit in "
                                 f"bit<{param.width}>")
            values.append(value)
        return ir.ActionCall(name, tuple(values))

    # ------------------------------------------------------------------ commands

    def _cmd_add(self, rest: str) -> None:
        paren = rest.find("(")
        tail = _ADD_TAIL.search(rest)
        if paren < 0 or not tail:
            raise self.error("expected: add TABLE [PRIORITY] key:value ... action(args)")
        head_tokens = rest[:paren].split()
        if len(head_tokens) < 2:
            raise self.error("expected: add TABLE [PRIORITY] key:value ... action(args)")
        table = self._table(head_tokens[0])
        if table.const_entries:
            raise self.error(f"table {table.name!r} has constant entries in the program: it "
                             "is read-only (move its entries to the STF file to add more)")
        action_text = head_tokens[-1] + rest[paren:tail.start() + 1]
        tokens = head_tokens[1:-1]
        priority = None
        if tokens and tokens[0].isdigit():
            priority = int(tokens.pop(0))
        key_names = [k.name for k in table.keys]
        given: dict[str, ir.Match] = {}
        for token in tokens:
            name, sep, value = token.partition(":")
            if not sep:
                raise self.error(f"expected key:value, got {token!r}")
            key_name = _find_by_name(key_names, name)
            if key_name is None:
                raise self.error(f"table {table.name!r} has no key {name!r} "
                                 f"(keys: {', '.join(key_names)})")
            if key_name in given:
                raise self.error(f"key {key_name!r} given twice")
            key = table.keys[key_names.index(key_name)]
            try:
                given[key_name] = parse_match(value, key.kind, key.width)
            except _ValueError as e:
                raise self.error(f"key {key_name!r}: {e}") from None
        matches = []
        for key in table.keys:
            if key.name in given:
                matches.append(given[key.name])
            elif key.kind is ir.MatchKind.EXACT:
                raise self.error(f"missing value for exact key {key.name!r}")
            else:
                matches.append(ir.Wildcard())  # p4c's runner leaves unnamed keys matching all
        if table.needs_priority and priority is None:
            raise self.error(f"table {table.name!r} has ternary or range keys: the entry "
                             "needs a priority (add TABLE PRIORITY ...; lowest number wins)")
        call = self._action_call(table, action_text)
        entry = ir.Entry(tuple(matches), call, priority,
                         ir.Span(self.filename, self.line, 1))
        handle = self.scratch.add_entry(table.name, entry)
        if tail.group("id"):
            self.entry_ids[tail.group("id")] = (table.name, handle)
        self._emit(AddEntry(table.name, entry))

    def _cmd_setdefault(self, rest: str) -> None:
        name, _, action_text = rest.partition(" ")
        if not action_text.strip():
            raise self.error("expected: setdefault TABLE action(args)")
        table = self._table(name)
        call = self._action_call(table, action_text)
        self.scratch.set_default(table.name, call)
        self._emit(SetDefault(table.name, call))

    def _port(self, text: str) -> int:
        if not text.isdigit():
            raise self.error(f"expected a port number, got {text!r}")
        port = int(text)
        if port > mask(ir.PORT_WIDTH):
            raise self.error(f"port {port} does not fit in bit<{ir.PORT_WIDTH}>")
        return port

    def _cmd_packet(self, rest: str) -> None:
        if self.test.register_checks:
            raise self.error("check_register lines must come after the last packet "
                             "(registers are read when every packet has run)")
        port_text, _, data = rest.partition(" ")
        port = self._port(port_text)
        hexdata = "".join(data.split())
        if not re.fullmatch(r"[0-9a-fA-F]*", hexdata) or len(hexdata) % 2:
            raise self.error("packet data must be an even number of hex digits")
        if not hexdata:
            raise self.error("packet has no data")
        self._emit(SendPacket(port, bytes.fromhex(hexdata)))

    def _cmd_expect(self, rest: str) -> None:
        port_text, _, data = rest.partition(" ")
        port = self._port(port_text)
        pattern = "".join(data.split())
        exact = pattern.endswith("$")
        if exact:
            pattern = pattern[:-1]
        if not pattern:
            if exact:
                raise self.error("'$' needs packet data before it")
            self.test.any_ports.add(port)
            return
        if not re.fullmatch(r"[0-9a-fA-F*]+", pattern):
            raise self.error("expected data must be hex digits or '*'")
        if exact and len(pattern) % 2:
            raise self.error("an exact-length expectation needs whole bytes")
        self.test.expects.append(Expect(self.line, port, pattern.lower(), exact))

    def _cmd_no_packet(self, rest: str) -> None:
        sends = [i for i, op in enumerate(self.test.ops) if isinstance(op, SendPacket)]
        if not sends:
            raise self.error("no_packet must follow a packet line")
        self.test.no_packets.append(NoPacket(self.line, sends[-1]))

    def _cmd_check_counter(self, rest: str) -> None:
        m = _CHECK_COUNTER.fullmatch(rest)
        if not m:
            raise self.error("expected: check_counter TABLE(ENTRY) [packets|bytes OP N]")
        table = self._table(m.group("table"))
        if not table.counters:
            raise self.error(f"table {table.name!r} has no counters")
        entry = m.group("entry").lstrip("$")
        handle: int | None
        if entry in ("miss", "default"):
            handle = None
        elif entry.isdigit():
            handle = int(entry)
            if handle >= len(self.scratch.table(table.name).entries):
                raise self.error(f"table {table.name!r} has no entry {handle} yet")
        elif entry in self.entry_ids:
            owner, handle = self.entry_ids[entry]
            if owner != table.name:
                raise self.error(f"entry {entry!r} belongs to table {owner!r}")
        else:
            raise self.error(f"unknown entry {m.group('entry')!r}: use its index (from 0), "
                             "an id given with `add ... = ID`, or miss")
        value = parse_number(m.group("value")) if m.group("value") else 0
        index = self._emit(ReadCounter(table.name, handle))
        self.test.counter_checks.append(CounterCheck(
            self.line, table.name, handle, m.group("kind"), m.group("op") or "==", value,
            index))

    def _cmd_check_register(self, rest: str) -> None:
        m = _CHECK_REGISTER.fullmatch(rest)
        if not m:
            raise self.error("expected: check_register NAME[INDEX] OP VALUE")
        name = m.group("name")
        registers = {r.name: r for r in self.program.registers}
        if name not in registers:
            known = ", ".join(registers) or "none"
            raise self.error(f"unknown register {name!r} (registers: {known})")
        register = registers[name]
        index = parse_number(m.group("index"))
        if index >= register.size:
            raise self.error(f"register {name!r} has {register.size} cells, no index {index}")
        value = parse_number(m.group("value"))
        if value > mask(register.width):
            raise self.error(f"{value:#x} does not fit in the register's bit<{register.width}>")
        self.test.register_checks.append(
            RegisterCheck(self.line, name, index, m.group("op"), value))

    def _cmd_wait(self, rest: str) -> None:
        pass  # p4c's runner sleeps; every executor here finishes a packet before the next

    def _cmd_meter(self, rest: str) -> None:
        m = _METER.fullmatch(rest)
        if not m:
            raise self.error("expected: meter NAME[INDEX] cir:R cburst:B pir:R pburst:B")
        name = m.group("name")
        if name not in {mt.name for mt in self.program.meters}:
            known = ", ".join(mt.name for mt in self.program.meters) or "none"
            raise self.error(f"unknown meter {name!r} (meters: {known})")
        if any(isinstance(op, SendPacket) for op in self.test.ops):
            raise self.error("meter lines must come before the first packet")
        params: dict[str, int] = {}
        for token in m.group("params").split():
            key, sep, value = token.partition(":")
            if not sep or key not in ("cir", "cburst", "pir", "pburst"):
                raise self.error(f"bad meter parameter {token!r} (cir, cburst, pir, pburst)")
            params[key] = parse_number(value)
        missing = {"cir", "cburst", "pir", "pburst"} - params.keys()
        if missing:
            raise self.error(f"meter needs {', '.join(sorted(missing))}")
        index = parse_number(m.group("index"))
        self.scratch.set_meter(name, index, params["cir"], params["cburst"], params["pir"],
                               params["pburst"])
        self.test.meters.append(MeterConfig(self.line, name, index, params["cir"],
                                            params["cburst"], params["pir"],
                                            params["pburst"]))

    def _cmd_remove(self, rest: str) -> None:
        raise self.error("remove is not supported")


def format_match(match: ir.Match) -> str:
    """STF text for one resolved match (``/`` for lpm, ``&&&`` for ternary, ``..`` for
    range); ``parse_match`` reads it back to the same value."""
    match match:
        case ir.Exact(value):
            return hex(value)
        case ir.Lpm(value, prefix_len):
            return f"{value:#x}/{prefix_len}"
        case ir.Ternary(value, tmask):
            return f"{value:#x}&&&{tmask:#x}"
        case ir.Range(lo, hi):
            return f"{lo:#x}..{hi:#x}"
        case ir.Wildcard():
            return "*"
        case _:
            assert_never(match)


def _format_call(program: ir.Program, call: ir.ActionCall) -> str:
    action = find_action(program, call.action)
    args = ", ".join(f"{p.name}:{v:#x}" for p, v in zip(action.params, call.args, strict=True))
    return f"{call.action}({args})"


def format_op(program: ir.Program, op: Op) -> str:
    """One STF line for an executor op (for reproducers and generated tests)."""
    match op:
        case AddEntry(table, entry):
            keys = program.table(table).keys
            parts = [f"add {table}"]
            if entry.priority is not None:
                parts.append(str(entry.priority))
            parts += [f"{k.name}:{format_match(m)}"
                      for k, m in zip(keys, entry.matches, strict=True)]
            parts.append(_format_call(program, entry.action))
            return " ".join(parts)
        case SetDefault(table, call):
            return f"setdefault {table} {_format_call(program, call)}"
        case SendPacket(port, data):
            return f"packet {port} {data.hex()}"
        case ReadCounter(table, handle):
            return f"check_counter {table}({'miss' if handle is None else handle})"
        case _:
            assert_never(op)


def parse_stf(program: ir.Program, text: str, filename: str = "<stf>") -> StfTest:
    """Parse and resolve an STF file against ``program``; raises ``StfError``."""
    return _Parser(program, filename).parse(text)


def load_stf(program: ir.Program, path: str | Path) -> StfTest:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise StfError(str(path), 0, f"cannot read: {e.strerror}") from None
    return parse_stf(program, text, str(path))


# ----------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Check:
    """One verdict of a test run. ``kind`` is "packet" (an expect line, or an output nobody
    expected when ``line`` is None), "no_packet", "counter" or "register"."""

    kind: str
    line: int | None
    passed: bool
    message: str
    port: int | None = None
    expected: str | None = None  # hex pattern (packets) or the condition (counters)
    got: bytes | None = None
    got_text: str | None = None  # counters: "packets=3 bytes=180"; registers: the value


@dataclass
class StfResult:
    filename: str
    target: str
    checks: list[Check]
    outputs: list[Output]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def pattern_matches(pattern: str, data: bytes, exact_length: bool) -> bool:
    got = data.hex()
    if len(got) < len(pattern) or (exact_length and len(got) != len(pattern)):
        return False
    return all(p == "*" or p == g for p, g in zip(pattern, got, strict=False))


def _compare_counter(check: CounterCheck, value: CounterValue) -> tuple[bool, str]:
    got = f"packets={value.packets} bytes={value.bytes}"
    if check.kind is None:
        return value.packets == 0 and value.bytes == 0, got
    actual = value.packets if check.kind == "packets" else value.bytes
    return _COMPARISONS[check.op](actual, check.value), got


def run_stf(executor: Executor, test: StfTest) -> StfResult:
    """Run ``test`` on ``executor`` (one ``run_script`` call) and judge the outputs."""
    for meter in test.meters:
        executor.set_meter(meter.meter, meter.index, meter.cir, meter.cburst, meter.pir,
                           meter.pburst)
    results = executor.run_script(test.ops)
    outputs: list[Output] = []
    per_send: dict[int, list[Output]] = {}
    for index, (op, result) in enumerate(zip(test.ops, results, strict=True)):
        if isinstance(op, SendPacket):
            assert isinstance(result, list)
            per_send[index] = result
            outputs.extend(result)
    checks: list[Check] = []
    got_by_port: dict[int, list[bytes]] = {}
    for out in outputs:
        got_by_port.setdefault(out.port, []).append(out.data)
    expects_by_port: dict[int, list[Expect]] = {}
    for expect in test.expects:
        expects_by_port.setdefault(expect.port, []).append(expect)
    for expect in test.expects:
        position = expects_by_port[expect.port].index(expect)
        received = got_by_port.get(expect.port, [])
        if position >= len(received):
            checks.append(Check("packet", expect.line, False,
                                f"no packet {position + 1} on port {expect.port}",
                                expect.port, expect.pattern, None))
            continue
        data = received[position]
        ok = pattern_matches(expect.pattern, data, expect.exact_length)
        if ok:
            message = "ok"
        elif len(data) * 2 < len(expect.pattern):
            message = f"too short: {len(data)} bytes, expected {len(expect.pattern) // 2}"
        elif expect.exact_length and len(data) * 2 != len(expect.pattern):
            message = f"length {len(data)} bytes, expected exactly {len(expect.pattern) // 2}"
        else:
            first = next(i for i, (p, g) in enumerate(zip(expect.pattern, data.hex(),
                                                          strict=False))
                         if p != "*" and p != g)
            message = f"differs at byte {first // 2}"
        checks.append(Check("packet", expect.line, ok, message, expect.port, expect.pattern,
                            data))
    for port, received in sorted(got_by_port.items()):
        if port in test.any_ports:
            continue
        for extra in received[len(expects_by_port.get(port, [])):]:
            checks.append(Check("packet", None, False, f"unexpected packet on port {port}",
                                port, None, extra))
    for no_packet in test.no_packets:
        sent = per_send[no_packet.op_index]
        ok = not sent
        message = "ok" if ok else "got " + ", ".join(f"port {o.port}" for o in sent)
        checks.append(Check("no_packet", no_packet.line, ok, message,
                            sent[0].port if sent else None, None,
                            sent[0].data if sent else None))
    for counter in test.counter_checks:
        value = results[counter.op_index]
        assert isinstance(value, CounterValue)
        ok, got = _compare_counter(counter, value)
        entry = "miss" if counter.handle is None else str(counter.handle)
        condition = (f"{counter.kind} {counter.op} {counter.value}" if counter.kind
                     else "packets == 0 and bytes == 0")
        checks.append(Check("counter", counter.line, ok,
                            f"{counter.table}({entry}) {'ok' if ok else 'mismatch'}",
                            None, condition, None, got))
    for check in test.register_checks:
        value = executor.read_register(check.register, check.index)
        ok = _COMPARISONS[check.op](value, check.value)
        checks.append(Check("register", check.line, ok,
                            f"{check.register}[{check.index}] {'ok' if ok else 'mismatch'}",
                            None, f"{check.op} {check.value}", None, str(value)))
    checks.sort(key=lambda c: (c.line is None, c.line or 0))
    return StfResult(test.filename, executor.target, checks, outputs)


def byte_diff(pattern: str | None, got: bytes | None) -> list[tuple[int, str, str, bool]]:
    """Rows of (byte offset, expected hex, received hex, differs) for a failure report; a
    byte missing on one side shows as ``--``."""
    expected_bytes = [pattern[i:i + 2] for i in range(0, len(pattern), 2)] if pattern else []
    got_bytes = [f"{b:02x}" for b in got] if got is not None else []
    rows = []
    for i in range(max(len(expected_bytes), len(got_bytes))):
        e = expected_bytes[i] if i < len(expected_bytes) else "--"
        g = got_bytes[i] if i < len(got_bytes) else "--"
        differs = e != "--" and (g == "--" or any(
            a != "*" and a != b for a, b in zip(e, g, strict=False)))
        if e == "--" and pattern is not None and got is not None:
            differs = False  # bytes past a prefix expectation are fine
        rows.append((i, e, g, differs))
    return rows
