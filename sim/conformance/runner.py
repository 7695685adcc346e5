"""Run cases on the reference model and on every target, compare, shrink what differs.

A case is a program (``.wire`` text) and one script of executor ops: table entries, then the
packets, then a read of every direct counter. Each target runs the whole script with one
``Executor.run_script`` call (so a simulator in another process runs it in one go), opened
through ``sim.targets.open_executor`` like ``wirespeed test`` does; afterwards the first cells of
every register are read where the target can. The reference model's results are the expected
ones; any other result on a target is a ``Difference``.

``shrink`` makes a failing case small: first the packets (the one that differs, alone if the
difference survives), then the entries one by one, then the program, line by line and block by
block (the generator writes one statement per line), keeping each cut that still compiles and
still shows a difference on that target.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from wirespeed.compiler import ir
from wirespeed.compiler.frontend import CompileError, compile_source
from wirespeed.sim.conformance.choices import RandomChoices
from wirespeed.sim.conformance.limits import Hang, time_limit
from wirespeed.sim.conformance.packets import (
    generate_entries,
    malformed_packet,
    valid_ops,
    well_formed_packet,
)
from wirespeed.sim.conformance.programs import generate_program
from wirespeed.sim.executor import (
    AddEntry,
    CounterValue,
    ExecutorError,
    Op,
    OpResult,
    Output,
    ReadCounter,
    SendPacket,
    SetDefault,
    TargetLimit,
)

REGISTER_CELLS = 4  # register cells read back after a run, per register
RUN_SECONDS = 900.0  # one target, one case: longer is a hang (reported as a difference)
CASE_FILENAME = "case.wire"
# the FPGA runs under the native Verilator harness in campaigns (cocotb drives the
# behavioural tests); WIRESPEED_CONFORMANCE_FPGA_DRIVER=cocotb runs them through cocotb
BULK_DRIVER = os.environ.get("WIRESPEED_CONFORMANCE_FPGA_DRIVER", "native")


@dataclass
class Case:
    """One program and its script. ``labels[i]`` says what op ``i`` is (for reports)."""

    name: str
    source: str
    ops: list[Op]
    labels: list[str] = field(default_factory=list)

    @property
    def packet_count(self) -> int:
        return sum(isinstance(op, SendPacket) for op in self.ops)

    def compile(self) -> ir.Program:
        return compile_source(self.source, CASE_FILENAME)


@dataclass
class RunResult:
    """What one target did with a case: the op results and register cells, or an error."""

    results: list[OpResult] | None = None
    registers: dict[tuple[str, int], int] = field(default_factory=dict)
    error: str | None = None
    refused: str | None = None  # the target's documented limit keeps it from running this
    seconds: float = 0.0


@dataclass(frozen=True)
class Difference:
    target: str
    case: str
    where: str  # "op 12 (packet, malformed: runt)", "register r[0]", "target error"
    expected: str
    got: str
    op_index: int | None = None


def counter_reads(program: ir.Program, ops: Sequence[Op]) -> list[Op]:
    """A read of every entry's counter and every miss counter, for tables with counters."""
    reads: list[Op] = []
    added: dict[str, int] = {}
    for op in ops:
        if isinstance(op, AddEntry):
            added[op.table] = added.get(op.table, 0) + 1
    for table in program.tables:
        if not table.counters:
            continue
        reads.append(ReadCounter(table.name, None))
        # run-time entries are numbered from 0 in the order added
        reads += [ReadCounter(table.name, h) for h in range(added.get(table.name, 0))]
    return reads


def build_case(seed: str, packets: int, malformed_fraction: float = 1 / 3,
               source: str | None = None) -> Case:
    """A random program (or ``source``) with entries, packets and counter reads."""
    if source is None:
        source = generate_program(RandomChoices(seed))
    program = compile_source(source, CASE_FILENAME)
    c = RandomChoices(f"{seed}:traffic")
    ingress_ports = [c.integer(0, 7) for _ in range(3)] + [c.integer(0, 510)]
    sends: list[tuple[Op, str]] = []
    samples = []
    for _ in range(packets):
        port = c.choice(ingress_ports)
        if c.chance(malformed_fraction):
            data, layout, kind = malformed_packet(program, c)
            label = f"malformed packet ({kind})"
        else:
            data, layout = well_formed_packet(program, c)
            label = "packet"
        samples.append(layout.header_values())
        sends.append((SendPacket(port, data), label))
    table_ops = valid_ops(program, generate_entries(program, samples, c, ingress_ports))
    ops: list[Op] = list(table_ops)
    labels = ["entry" if isinstance(op, AddEntry) else "setdefault" for op in table_ops]
    ops += [op for op, _ in sends]
    labels += [label for _, label in sends]
    reads = counter_reads(program, table_ops)
    ops += reads
    labels += ["counter"] * len(reads)
    return Case(seed, source, ops, labels)


def run_on(target: str, program: ir.Program, ops: Sequence[Op]) -> RunResult:
    """Run the script on ``target``; errors become ``RunResult.error`` (never raised)."""
    from wirespeed.sim.targets import open_executor

    started = time.perf_counter()
    result = RunResult()
    try:
        with time_limit(RUN_SECONDS), open_executor(target, program) as executor:
            if hasattr(executor, "driver"):
                executor.driver = BULK_DRIVER  # a simulator's bench for bulk runs
            result.results = executor.run_script(list(ops))
            for register in program.registers:
                for index in range(min(register.size, REGISTER_CELLS)):
                    try:
                        result.registers[(register.name, index)] = \
                            executor.read_register(register.name, index)
                    except ExecutorError:
                        break  # this target cannot read registers back
    except Hang as e:
        result.error = f"hang: {e}"
    except TargetLimit as e:
        result.refused = str(e)
    except ExecutorError as e:
        result.error = f"ExecutorError: {e}"
    except Exception as e:  # noqa: BLE001 - a crashing backend is a finding, not our crash
        result.error = f"internal error: {type(e).__name__}: {e}"
    result.seconds = time.perf_counter() - started
    return result


def describe(result: OpResult) -> str:
    match result:
        case None:
            return "-"
        case int():
            return f"handle {result}"
        case CounterValue(packets, count):
            return f"packets {packets}, bytes {count}"
        case list():
            if not result:
                return "dropped"
            return "; ".join(f"port {o.port}: {len(o.data)} bytes {o.data.hex()}"
                             for o in result)
    return repr(result)


def compare(case: Case, target: str, expected: RunResult, got: RunResult) -> list[Difference]:
    if got.refused is not None:
        return []
    if got.error is not None:
        return [Difference(target, case.name, "target error", "the script runs", got.error)]
    assert expected.results is not None and got.results is not None
    out: list[Difference] = []
    if len(got.results) != len(expected.results):
        return [Difference(target, case.name, "result count", str(len(expected.results)),
                           str(len(got.results)))]
    for i, (want, have) in enumerate(zip(expected.results, got.results, strict=True)):
        if isinstance(case.ops[i], AddEntry) and isinstance(have, int):
            continue  # handles are the target's business
        if _normal(want) != _normal(have):
            label = case.labels[i] if i < len(case.labels) else "op"
            out.append(Difference(target, case.name, f"op {i} ({label})", describe(want),
                                  describe(have), i))
    for cell, value in got.registers.items():
        want_value = expected.registers.get(cell)
        if want_value is not None and want_value != value:
            out.append(Difference(target, case.name, f"register {cell[0]}[{cell[1]}]",
                                  str(want_value), str(value)))
    return out


def _normal(result: OpResult) -> object:
    if isinstance(result, list):
        return [(o.port, bytes(o.data)) for o in result if isinstance(o, Output)]
    return result


def reference_run(case: Case, program: ir.Program) -> RunResult:
    result = run_on("reference", program, case.ops)
    if result.error is not None:
        raise RuntimeError(f"the reference model failed on case {case.name}: {result.error}")
    return result


# ----------------------------------------------------------------------------- shrinking


def _rebuild(source: str, ops: Sequence[Op], keep_reads: bool) -> tuple[ir.Program, list[Op]] | None:
    """Compile ``source`` and keep the ops its control plane still accepts."""
    try:
        program = compile_source(source, CASE_FILENAME)
    except CompileError:
        return None
    table_ops = valid_ops(program, [op for op in ops if isinstance(op, (AddEntry, SetDefault))])
    sends = [op for op in ops if isinstance(op, SendPacket)]
    reads = counter_reads(program, table_ops) if keep_reads else []
    return program, [*table_ops, *sends, *reads]


def signature(difference: Difference) -> str:
    """What kind of difference this is, so shrinking keeps the bug it started with and does not
    drift to another: the kind of result that differs, or for a target error its message with
    names, numbers and file digests taken out."""
    if difference.where == "target error":
        first = difference.got.splitlines()[0] if difference.got else ""
        return "error: " + re.sub(r"[0-9a-f]{8,}|\d+|'[^']*'|`[^`]*`", "#", first)
    label = re.sub(r"^op \d+ \(|\)$", "", difference.where)
    if label.startswith("malformed packet") or label == "packet":
        return "packet"
    return re.sub(r"\[\d+\]", "", label)


def differs(target: str, source: str, ops: Sequence[Op], keep_reads: bool,
            labels: Callable[[list[Op]], list[str]], kind: str | None = None) -> bool:
    """Whether the case still differs on ``target`` (with a difference of ``kind``, a
    ``signature``, when given)."""
    rebuilt = _rebuild(source, ops, keep_reads)
    if rebuilt is None:
        return False
    program, script = rebuilt
    case = Case("shrink", source, script, labels(script))
    expected = run_on("reference", program, script)
    if expected.error is not None:
        return False
    found = compare(case, target, expected, run_on(target, program, script))
    return any(kind is None or signature(d) == kind for d in found)


def _labels_for(original: Case) -> Callable[[list[Op]], list[str]]:
    by_op = {id(op): label for op, label in zip(original.ops, original.labels, strict=False)}

    def labels(ops: list[Op]) -> list[str]:
        return [by_op.get(id(op), "counter" if isinstance(op, ReadCounter) else "op")
                for op in ops]

    return labels


def shrink(case: Case, difference: Difference, budget_seconds: float = 60.0) -> Case:
    """A smaller case that still differs on ``difference.target`` (best effort in the time
    budget; the case itself when nothing smaller is found)."""
    target = difference.target
    deadline = time.monotonic() + budget_seconds
    labels = _labels_for(case)
    keep_reads = difference.where.endswith("(counter)")
    table_ops = [op for op in case.ops if isinstance(op, (AddEntry, SetDefault))]
    sends = [op for op in case.ops if isinstance(op, SendPacket)]
    source = case.source

    kind = signature(difference)

    def fails(src: str, tops: list[Op], pkts: list[Op]) -> bool:
        return differs(target, src, [*tops, *pkts], keep_reads, labels, kind)

    # 1. packets: up to the first one that differs, then that one alone, then fewer before it
    if difference.op_index is not None and isinstance(case.ops[difference.op_index], SendPacket):
        culprit = case.ops[difference.op_index]
        upto = sends[:sends.index(culprit) + 1]
        if fails(source, table_ops, [culprit]):
            sends = [culprit]
        elif fails(source, table_ops, upto):
            sends = upto
    sends = _ddmin(sends, lambda s: fails(source, table_ops, s), deadline)
    # 2. entries
    table_ops = _ddmin(table_ops, lambda t: fails(source, t, sends), deadline)
    # 3. the program, block by block and line by line
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        lines = source.splitlines()
        i = 1  # keep `import std;`
        while i < len(lines) and time.monotonic() < deadline:
            span = _removable_span(lines, i)
            if span is not None:
                candidate = lines[:span[0]] + lines[span[1]:]
                text = "\n".join(candidate) + "\n"
                if fails(text, table_ops, sends):
                    lines, source, changed = candidate, text, True
                    continue
            i += 1
    rebuilt = _rebuild(source, [*table_ops, *sends], keep_reads)
    assert rebuilt is not None
    _, script = rebuilt
    return Case(f"{case.name}-shrunk", source, script, labels(script))


def _removable_span(lines: list[str], i: int) -> tuple[int, int] | None:
    """The lines [start, end) a cut at line ``i`` removes: a statement, or a whole block."""
    line = lines[i].strip()
    if not line or line.startswith("}"):
        return None
    if line.endswith("{"):
        depth = 0
        for j in range(i, len(lines)):
            depth += lines[j].count("{") - lines[j].count("}")
            if depth == 0:
                return i, j + 1
        return None
    return i, i + 1


def _ddmin(items: list[Op], fails: Callable[[list[Op]], bool], deadline: float) -> list[Op]:
    """Remove chunks (halves, quarters, ..., single items) while ``fails`` stays true."""
    chunk = max(1, len(items) // 2)
    while items and time.monotonic() < deadline:
        removed = False
        start = 0
        while start < len(items) and time.monotonic() < deadline:
            candidate = items[:start] + items[start + chunk:]
            if candidate != items and fails(candidate):
                items, removed = candidate, True
            else:
                start += chunk
        if chunk == 1 and not removed:
            break
        chunk = max(1, chunk // 2) if not removed else chunk
    return items
