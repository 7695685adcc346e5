"""``--target p4``: the program compiled to P4 by the backend, then the P4 text parsed and run.

The executor writes the ``.p4`` file with ``wirespeed.p4.compile`` into a temporary folder,
reads that file back with the executor's own P4 parser and runs it with v1model semantics
(``machine.V1Machine``). Nothing of the IR is executed: the IR only names the tables, keys and
actions that STF files refer to, and the control-plane layer (``wirespeed.p4.controlplane``)
turns each entry into the P4 entries bmv2 would get (ranges expanded into ternary prefixes).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from wirespeed.compiler import ir
from wirespeed.p4.compile import compile_program
from wirespeed.p4.controlplane import Installed, expand_entry_for_p4, p4_kind
from wirespeed.p4.emit import build_output
from wirespeed.sim.executor import CounterValue, Executor, ExecutorError, Output
from wirespeed.sim.p4exec.machine import KeyMatch, P4ExecError, TableEntry, V1Machine, mask
from wirespeed.sim.p4exec.syntax import P4SyntaxError, parse_p4


def key_match(m: ir.Match, kind: ir.MatchKind, width: int) -> KeyMatch:
    """One control-plane match as bmv2 holds it for a key of P4 match kind ``kind``."""
    match m:
        case ir.Exact(value):
            if kind is ir.MatchKind.TERNARY:
                return KeyMatch("ternary", value, mask(width))
            if kind is ir.MatchKind.LPM:
                return KeyMatch("lpm", value, mask(width), prefix_len=width)
            return KeyMatch("exact", value)
        case ir.Lpm(value, prefix_len):
            pmask = mask(width) ^ mask(width - prefix_len)
            return KeyMatch("lpm", value & pmask, pmask, prefix_len=prefix_len)
        case ir.Ternary(value, tmask):
            return KeyMatch("ternary", value & tmask, tmask)
        case ir.Wildcard():
            if kind is ir.MatchKind.LPM:
                return KeyMatch("lpm", 0, 0)
            if kind is ir.MatchKind.EXACT:
                raise ExecutorError("an exact key cannot be a wildcard")
            return KeyMatch("ternary", 0, 0)
        case ir.Range(lo, hi):
            return KeyMatch("range", lo, hi=hi)
    raise ExecutorError(f"unknown match {m}")


class P4Executor(Executor):
    """Runs the P4 program the backend emits for ``program`` (or ``p4_text``, for tests that
    run a deliberately altered program)."""

    target = "p4"

    def __init__(self, program: ir.Program, p4_text: str | None = None) -> None:
        super().__init__(program)
        self.names = build_output(program).names
        with tempfile.TemporaryDirectory(prefix="wirespeed-p4-") as tmp:
            if p4_text is None:
                path = compile_program(program, Path(tmp), None)[0]
            else:
                path = Path(tmp) / f"{program.name}.p4"
                path.write_text(p4_text)
            self.p4_text = path.read_text()
            try:
                self.machine = V1Machine(parse_p4(self.p4_text, path.name))
            except (P4SyntaxError, P4ExecError) as e:
                raise ExecutorError(f"the P4 executor cannot run {path.name}: {e}") from None
        self.handles: dict[str, list[list[TableEntry]]] = {}
        self.installed = Installed()

    @staticmethod
    def unavailable_reason() -> str | None:
        return None  # pure Python

    def add_entry(self, table: str, entry: ir.Entry) -> int:
        t = self._table(table)
        from wirespeed.compiler.model import find_action

        action = find_action(self.program, entry.action.action)
        installed = []
        try:
            for combo in expand_entry_for_p4(t, entry):
                if not self.installed.first_time(table, combo, entry.priority):
                    continue
                matches = tuple(key_match(m, p4_kind(k.kind), k.width)
                                for m, k in zip(combo, t.keys, strict=True))
                for copy in self.names.copies[table]:
                    installed.append(self.machine.add_entry(
                        copy, matches, self.names.actions[action.name], entry.action.args,
                        entry.priority))
        except (P4ExecError, ValueError) as e:
            raise ExecutorError(str(e)) from None
        self.handles.setdefault(table, []).append(installed)
        return len(self.handles[table]) - 1

    def _table(self, table: str) -> ir.Table:
        try:
            return self.program.table(table)
        except KeyError:
            raise ExecutorError(f"unknown table {table!r}") from None

    def set_default(self, table: str, call: ir.ActionCall) -> None:
        self._table(table)
        try:
            for copy in self.names.copies[table]:
                self.machine.set_default(copy, self.names.default_action(copy, call.action),
                                         call.args)
        except P4ExecError as e:
            raise ExecutorError(str(e)) from None

    def send(self, port: int, data: bytes) -> list[Output]:
        try:
            return [Output(p, d) for p, d in self.machine.process(port, data)]
        except P4ExecError as e:
            raise ExecutorError(f"the P4 program failed on a packet: {e}") from None

    def read_counter(self, table: str, handle: int | None) -> CounterValue:
        t = self._table(table)
        if not t.counters:
            raise ExecutorError(f"table {table!r} has no counters")
        if handle is None:
            cells = [self.machine.counters[self.names.misses[c]][0]
                     for c in self.names.copies[table]]
            return CounterValue(sum(c.packets for c in cells), sum(c.bytes for c in cells))
        entries = self.handles.get(table, [])
        if not 0 <= handle < len(entries):
            raise ExecutorError(f"table {table!r} has no entry {handle}")
        return CounterValue(sum(e.counter.packets for e in entries[handle]),
                            sum(e.counter.bytes for e in entries[handle]))

    def read_register(self, register: str, index: int) -> int:
        reg = next((r for r in self.program.registers if r.name == register), None)
        if reg is None or not 0 <= index < reg.size:
            raise ExecutorError(f"no register cell {register}[{index}]")
        return self.machine.registers[self.names.registers[register]][index]

    def set_meter(self, meter: str, index: int, cir: int, cburst: int, pir: int,
                  pburst: int) -> None:
        m = next((x for x in self.program.meters if x.name == meter), None)
        if m is None or not 0 <= index < m.size:
            raise ExecutorError(f"no meter cell {meter}[{index}]")
        self.machine.set_meter(self.names.meters[meter], index, cir, cburst, pir, pburst)
