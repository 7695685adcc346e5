"""Reproducers: a case written as ``program.wire`` + ``test.stf`` into a folder.

The STF holds the entries (``add``/``setdefault``), every packet, and what the *reference
model* sent out for it (``expect PORT HEX$``, or ``no_packet``), then a ``check_counter`` per
counter read. So ``wirespeed test program.wire --stf test.stf --target reference`` passes and
the same command with the target that differed fails on the line of the difference.
``difference.txt`` says what differed and how to run it.
"""

from __future__ import annotations

import re
from pathlib import Path

from wirespeed.compiler import ir
from wirespeed.compiler.model import find_action
from wirespeed.sim.conformance.runner import Case, Difference, RunResult
from wirespeed.sim.executor import AddEntry, CounterValue, ReadCounter, SendPacket, SetDefault


def match_text(match: ir.Match) -> str:
    match match:
        case ir.Exact(value):
            return hex(value)
        case ir.Lpm(value, prefix):
            return f"{hex(value)}/{prefix}"
        case ir.Ternary(value, mask):
            return f"{hex(value)}&&&{hex(mask)}"
        case ir.Range(lo, hi):
            return f"{lo}..{hi}"
        case ir.Wildcard():
            return "_"
    raise AssertionError(match)


def call_text(program: ir.Program, call: ir.ActionCall) -> str:
    params = find_action(program, call.action).params
    args = ", ".join(f"{p.name}:{hex(v)}" for p, v in zip(params, call.args, strict=True))
    return f"{call.action}({args})"


def entry_line(program: ir.Program, table_name: str, entry: ir.Entry) -> str:
    table = program.table(table_name)
    keys = " ".join(f"{k.name}:{match_text(m)}" for k, m in zip(table.keys, entry.matches,
                                                                strict=True))
    priority = f" {entry.priority}" if entry.priority is not None else ""
    return f"add {table_name}{priority} {keys} {call_text(program, entry.action)}"


def stf_text(program: ir.Program, case: Case, expected: RunResult,
             header: list[str] | None = None) -> str:
    """The case as an STF whose expectations are the reference model's results."""
    assert expected.results is not None
    lines = [f"# {line}" for line in header or []]
    # STF cannot say "an empty packet"; a port that sent one is left unchecked (`expect PORT`)
    unchecked = {o.port for r in expected.results if isinstance(r, list) for o in r
                 if not o.data}
    if unchecked:
        lines.append(f"# ports {sorted(unchecked)} sent packets of 0 bytes, which STF cannot "
                     "express: their packets are not checked")
    for i, (op, result) in enumerate(zip(case.ops, expected.results, strict=True)):
        label = case.labels[i] if i < len(case.labels) else ""
        match op:
            case AddEntry(table, entry):
                lines.append(entry_line(program, table, entry))
            case SetDefault(table, call):
                lines.append(f"setdefault {table} {call_text(program, call)}")
            case SendPacket(port, data):
                lines.append(f"# op {i}: {label}, {len(data)} bytes")
                lines.append(f"packet {port} {data.hex()}")
                assert isinstance(result, list)
                if not result:
                    lines.append("no_packet")
                for out in result:
                    if out.port in unchecked:
                        lines.append(f"expect {out.port}")
                    else:
                        lines.append(f"expect {out.port} {out.data.hex()}$")
            case ReadCounter(table, handle):
                assert isinstance(result, CounterValue)
                which = "miss" if handle is None else str(handle)
                lines.append(f"check_counter {table}({which}) packets == {result.packets}")
                lines.append(f"check_counter {table}({which}) bytes == {result.bytes}")
    return "\n".join(lines) + "\n"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:80]


def write_reproducer(folder: Path, program: ir.Program, case: Case, expected: RunResult,
                     differences: list[Difference], got: RunResult | None = None) -> Path:
    """Write ``program.wire``, ``test.stf`` and ``difference.txt`` into a new folder."""
    target = differences[0].target
    out = folder / safe_name(f"{target}-{case.name}")
    n = 1
    while out.exists():
        n += 1
        out = folder / safe_name(f"{target}-{case.name}-{n}")
    out.mkdir(parents=True)
    (out / "program.wire").write_text(case.source)
    header = [f"conformance reproducer: case {case.name}, target {target}",
              "expectations are the reference model's results"]
    (out / "test.stf").write_text(stf_text(program, case, expected, header))
    notes = [f"target: {target}", f"case: {case.name}",
             f"run: wirespeed test {out / 'program.wire'} --stf {out / 'test.stf'} "
             f"--target {target}", ""]
    for d in differences:
        notes += [f"{d.where}:", f"  reference: {d.expected}", f"  {target}: {d.got}"]
    if got is not None and got.error:
        notes += ["", f"{target} failed: {got.error}"]
    (out / "difference.txt").write_text("\n".join(notes) + "\n")
    return out
