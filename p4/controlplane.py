"""Table entries for bmv2: ``simple_switch_CLI`` commands and STF rewritten with P4 names.

Range keys. p4c's STF runner (``backends/bmv2/bmv2stf.py``) knows exact, lpm and ternary keys
and writes ternary values only as hex with ``*`` nibbles; it cannot even load a table that has
a ``range`` key. So every ``.wire`` range key is a P4 ``ternary`` key, and this layer expands
each range into the prefixes that cover it exactly (at most ``2 * width - 2`` of them), all
with the entry's priority. The prefixes of one range are disjoint, so the expansion matches
exactly what the range matched. For the STF file a ternary mask that is not whole nibbles is
expanded once more, nibble by nibble. ``Expansion`` counts the blow-up so ``compile`` can
report it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, assert_never

from wirespeed.compiler import ir
from wirespeed.sim.executor import AddEntry, Op, ReadCounter, SendPacket, SetDefault

if TYPE_CHECKING:
    from wirespeed.p4.names import Names
    from wirespeed.sim.stf import StfTest

# Runs the P4 ingress control in the JSON p4c-bm2-ss writes: tables and actions are named
# ``WireIngress.<name>`` there.
CONTROL = "WireIngress"


def mask(width: int) -> int:
    return (1 << width) - 1


# ----------------------------------------------------------------------------- expansion


def range_to_prefixes(lo: int, hi: int, width: int) -> list[tuple[int, int]]:
    """The fewest ``(value, mask)`` prefixes whose union is exactly ``lo..hi``."""
    out: list[tuple[int, int]] = []
    while lo <= hi:
        # the largest aligned block starting at lo that stays within hi
        size = lo & -lo if lo else 1 << width
        while size > hi - lo + 1:
            size >>= 1
        out.append((lo, mask(width) ^ (size - 1)))
        lo += size
    return out


def expand_match(m: ir.Match, kind: ir.MatchKind, width: int) -> list[ir.Match]:
    """One ``.wire`` match as the P4 key sees it (a range key is ternary in P4)."""
    if kind is not ir.MatchKind.RANGE:
        return [m]
    match m:
        case ir.Range(lo, hi):
            if lo == 0 and hi == mask(width):
                return [ir.Wildcard()]
            return [ir.Ternary(v, pm) for v, pm in range_to_prefixes(lo, hi, width)]
        case ir.Wildcard():
            return [m]
        case ir.Exact(value):
            return [ir.Ternary(value, mask(width))]
        case ir.Ternary() | ir.Lpm():
            raise ValueError(f"a range key cannot take {m}")
        case _:
            assert_never(m)


def expand_entry_for_p4(table: ir.Table, entry: ir.Entry) -> list[tuple[ir.Match, ...]]:
    """The match tuples that stand for ``entry`` in the P4 table (one unless a range key
    needs several prefixes)."""
    per_key = [expand_match(m, k.kind, k.width)
               for m, k in zip(entry.matches, table.keys, strict=True)]
    return [tuple(combo) for combo in itertools.product(*per_key)]


class Installed:
    """The expanded entries already written per table. Two different ranges can expand to the
    same prefix; at the same priority the earlier entry always wins there (the model breaks
    ties by insertion order), so a later identical entry could never match and is left out
    instead of being refused by bmv2 as a duplicate."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, object, int | None]] = set()

    def first_time(self, table: str, key: object, priority: int | None) -> bool:
        item = (table, key, priority)
        if item in self.seen:
            return False
        self.seen.add(item)
        return True


def p4_match_text(m: ir.Match, width: int) -> str:
    """A keyset expression for ``const entries``."""
    from wirespeed.p4.emit import literal

    match m:
        case ir.Exact(value):
            return literal(value, width)
        case ir.Lpm(value, prefix_len):
            if prefix_len == 0:
                return "_"
            pmask = mask(width) ^ mask(width - prefix_len)
            return f"{literal(value & pmask, width)} &&& {literal(pmask, width)}"
        case ir.Ternary(value, tmask):
            if tmask == 0:
                return "_"
            return f"{literal(value & tmask, width)} &&& {literal(tmask, width)}"
        case ir.Range(lo, hi):
            return f"{literal(lo, width)} .. {literal(hi, width)}"
        case ir.Wildcard():
            return "_"
        case _:
            assert_never(m)


def nibble_patterns(value: int, tmask: int, width: int) -> list[str]:
    """Hex digit strings with ``*`` (p4c's STF ternary form) that together match exactly
    ``key & tmask == value & tmask``; a nibble that is only partly masked is enumerated."""
    digits = (width + 3) // 4
    choices: list[list[str]] = []
    for i in reversed(range(digits)):
        shift = 4 * i
        valid = mask(min(4, width - shift))
        nib_mask = (tmask >> shift) & valid
        nib_value = (value >> shift) & nib_mask
        if nib_mask == 0:
            choices.append(["*"])
        elif nib_mask == valid:
            choices.append([f"{nib_value:x}"])
        else:
            choices.append([f"{d:x}" for d in range(valid + 1) if d & nib_mask == nib_value])
    return ["".join(combo) for combo in itertools.product(*choices)]


@dataclass
class Expansion:
    """How many bmv2 entries the ``.wire`` entries became, per table."""

    wire_entries: dict[str, int] = field(default_factory=dict)
    bmv2_entries: dict[str, int] = field(default_factory=dict)

    def count(self, table: str, wire: int, bmv2: int) -> None:
        self.wire_entries[table] = self.wire_entries.get(table, 0) + wire
        self.bmv2_entries[table] = self.bmv2_entries.get(table, 0) + bmv2

    def over_size(self, program: ir.Program) -> list[str]:
        """Tables whose expanded entries do not fit the P4 table's size."""
        from wirespeed.p4.emit import p4_table_size

        return [f"table {t}: {n} bmv2 entries do not fit its P4 size "
                f"{p4_table_size(program.table(t))[0]}"
                for t, n in self.bmv2_entries.items()
                if n > p4_table_size(program.table(t))[0]]

    def lines(self) -> list[str]:
        return [f"table {t}: {self.wire_entries[t]} .wire entries became {self.bmv2_entries[t]} "
                "bmv2 entries (range keys expanded to ternary prefixes)"
                for t in self.wire_entries if self.bmv2_entries[t] != self.wire_entries[t]]


# ----------------------------------------------------------------------------- CLI commands


def _cli_value(m: ir.Match, kind: ir.MatchKind, width: int) -> str:
    match m:
        case ir.Exact(value):
            if kind is ir.MatchKind.TERNARY:
                return f"0x{value:x}&&&0x{mask(width):x}"
            if kind is ir.MatchKind.LPM:
                return f"0x{value:x}/{width}"
            return f"0x{value:x}"
        case ir.Lpm(value, prefix_len):
            return f"0x{value:x}/{prefix_len}"
        case ir.Ternary(value, tmask):
            return f"0x{value & tmask:x}&&&0x{tmask:x}"
        case ir.Wildcard():
            if kind is ir.MatchKind.LPM:
                return "0x0/0"
            return "0x0&&&0x0"
        case ir.Range(lo, hi):
            return f"0x{lo:x}->0x{hi:x}"
        case _:
            assert_never(m)


def p4_kind(kind: ir.MatchKind) -> ir.MatchKind:
    return ir.MatchKind.TERNARY if kind is ir.MatchKind.RANGE else kind


def cli_commands(program: ir.Program, names: Names, ops: list[Op],
                 meters: list | None = None) -> tuple[list[str], Expansion]:
    """``simple_switch_CLI`` commands for the entries and defaults in ``ops``."""
    from wirespeed.compiler.model import find_action

    expansion = Expansion()
    installed = Installed()
    lines: list[str] = []
    for op in ops:
        match op:
            case AddEntry(table, entry):
                t = program.table(table)
                action = find_action(program, entry.action.action)
                args = " ".join(f"0x{v:x}" for v in entry.action.args)
                combos = [c for c in expand_entry_for_p4(t, entry)
                          if installed.first_time(table, c, entry.priority)]
                expansion.count(table, 1, len(combos))
                for copy in names.copies[table]:
                    for combo in combos:
                        keys = " ".join(_cli_value(m, p4_kind(k.kind), k.width)
                                        for m, k in zip(combo, t.keys, strict=True))
                        line = (f"table_add {CONTROL}.{copy} "
                                f"{CONTROL}.{names.actions[action.name]} {keys} => "
                                f"{args}").rstrip()
                        if t.needs_priority:
                            line += f" {entry.priority}"
                        lines.append(line)
            case SetDefault(table, call):
                args = " ".join(f"0x{v:x}" for v in call.args)
                for copy in names.copies[table]:
                    lines.append(f"table_set_default {CONTROL}.{copy} "
                                 f"{CONTROL}.{names.default_action(copy, call.action)} "
                                 f"{args}".rstrip())
            case SendPacket() | ReadCounter():
                pass
            case _:
                assert_never(op)
    for m in meters or []:
        # bmv2 takes rates per microsecond and bursts in the meter's unit.
        lines.append(f"meter_set_rates {CONTROL}.{names.meters[m.meter]} {m.index} "
                     f"{m.cir / 1e6:.9g}:{m.cburst} {m.pir / 1e6:.9g}:{m.pburst}")
    return lines, expansion


# ----------------------------------------------------------------------------- STF


def _stf_values(m: ir.Match, kind: ir.MatchKind, width: int) -> list[str]:
    """The key value(s) p4c's STF runner understands for one match."""
    digits = (width + 3) // 4
    match m:
        case ir.Exact(value):
            if kind is ir.MatchKind.TERNARY:
                return [f"0x{value:0{digits}x}"]
            return [f"0x{value:x}"]
        case ir.Lpm(value, prefix_len):
            return [f"0x{value:0{digits}x}/{prefix_len}"]
        case ir.Ternary(value, tmask):
            return ["0x" + p for p in nibble_patterns(value, tmask, width)]
        case ir.Wildcard():
            if kind is ir.MatchKind.LPM:
                return [f"0x{0:0{digits}x}/0"]
            return ["0x" + "*" * digits]
        case ir.Range():
            raise ValueError("range matches are expanded before they reach the STF")
        case _:
            assert_never(m)


def stf_add_lines(program: ir.Program, names: Names, table: str, entry: ir.Entry,
                  installed: Installed | None = None) -> list[str]:
    t = program.table(table)
    from wirespeed.compiler.model import find_action

    action = find_action(program, entry.action.action)
    args = ",".join(f"{p.name}:0x{v:x}"
                    for p, v in zip(action.params, entry.action.args, strict=True))
    lines = []
    for combo in expand_entry_for_p4(t, entry):
        per_key = [[f"{k.name}:{v}" for v in _stf_values(m, p4_kind(k.kind), k.width)]
                   for m, k in zip(combo, t.keys, strict=True)]
        for keys in itertools.product(*per_key):
            if installed is not None and not installed.first_time(table, keys, entry.priority):
                continue
            prio = f" {entry.priority}" if t.needs_priority else ""
            for copy in names.copies[table]:
                lines.append(f"add {copy}{prio} {' '.join(keys)} "
                             f"{names.actions[action.name]}({args})")
    return lines


def rewrite_stf(program: ir.Program, names: Names, test: StfTest) -> tuple[list[str], int]:
    """The STF ``test`` with P4 names and only what p4c's runner knows; returns the lines and
    how many ``add`` lines the range and nibble expansion produced."""
    items: list[tuple[int, int, list[str]]] = []  # (line, order, text)
    installed = Installed()
    adds = 0
    for order, (op, line) in enumerate(zip(test.ops, test.op_lines, strict=True)):
        match op:
            case AddEntry(table, entry):
                texts = stf_add_lines(program, names, table, entry, installed)
                adds += len(texts)
                items.append((line, order, texts))
            case SetDefault(table, call):
                from wirespeed.compiler.model import find_action

                action = find_action(program, call.action)
                args = ",".join(f"{p.name}:0x{v:x}"
                                for p, v in zip(action.params, call.args, strict=True))
                items.append((line, order, [f"setdefault {copy} "
                                            f"{names.default_action(copy, call.action)}"
                                            f"({args})" for copy in names.copies[table]]))
            case SendPacket(port, data):
                items.append((line, order, [f"packet {port} {data.hex()}"]))
            case ReadCounter(table, handle):
                entry_text = "miss" if handle is None else str(handle)
                items.append((line, order, [
                    f"# check_counter {names.tables[table]}({entry_text}): checked by "
                    "`wirespeed test`; p4c's runner has no counter check"]))
            case _:
                assert_never(op)
    base = len(test.ops)
    for i, expect in enumerate(test.expects):
        pattern = expect.pattern + ("$" if expect.exact_length else "")
        items.append((expect.line, base + i, [f"expect {expect.port} {pattern}"]))
    for i, port in enumerate(sorted(test.any_ports)):
        items.append((10**9, base + len(test.expects) + i, [f"expect {port}"]))
    for i, check in enumerate(getattr(test, "register_checks", [])):
        items.append((check.line, base + len(test.expects) + len(test.any_ports) + i, [
            f"# check_register {names.registers[check.register]}[{check.index}] {check.op} "
            f"{check.value}: checked by `wirespeed test` (register_read in simple_switch_CLI)"]))
    for i, meter in enumerate(test.meters):
        items.append((meter.line, -1 - i, [
            f"# meter {meter.meter}[{meter.index}] cir:{meter.cir} cburst:{meter.cburst} "
            f"pir:{meter.pir} pburst:{meter.pburst}: set by the simple_switch_CLI commands"]))
    lines = []
    for _, _, texts in sorted(items, key=lambda it: (it[0], it[1])):
        lines.extend(texts)
    return lines, adds
