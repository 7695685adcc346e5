"""The ``wirespeed`` command: check, test, run, graph, compile, demo and diff.

Exit codes: 0 success; 1 a user error (diagnostics in the program, a bad STF or pcap file, a
missing file, a failing packet test); 2 bad command-line usage; 3 an internal compiler error
(a bug in wirespeed). No Python traceback reaches the user unless ``WIRESPEED_TRACEBACK=1``.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from wirespeed.compiler import ir

EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

#: checks of state (not of packets): counters and registers
STATE_CHECKS = ("counter", "register")

# emoji=False: rich would print "f.wire:100:4" as "f.wire💯4"
console = Console(highlight=False, soft_wrap=True, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


class UserError(Exception):
    """A mistake of the user (not of the compiler); printed as ``error: <message>``."""


class TestsFailed(Exception):
    """Packet tests ran and some failed (the report is already printed)."""


# ----------------------------------------------------------------------------- helpers


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that mean "the user's input is wrong", imported lazily."""
    from wirespeed.compiler.model import ModelError
    from wirespeed.sim.executor import ExecutorError
    from wirespeed.sim.pcap import PcapError
    from wirespeed.sim.stf import StfError

    return (UserError, StfError, ExecutorError, PcapError, ModelError)


def load(path: str) -> ir.Program:
    """Compile ``path`` to IR after all passes; CompileError carries the diagnostics."""
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file")
    from wirespeed.compiler.frontend import load_program

    return load_program(path)


def _target_names() -> list[str]:
    from wirespeed.sim.targets import TARGETS

    return list(TARGETS)


def _print_stf_result(result, title: str) -> None:
    """A table of every check, then a byte diff of each failed packet."""
    from wirespeed.sim.stf import byte_diff

    table = Table(title=title, title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("check")
    table.add_column("port", justify="right")
    table.add_column("result")
    table.add_column("detail")
    for check in result.checks:
        verdict = Text("pass", style="green") if check.passed else Text("FAIL", style="bold red")
        what = {"packet": "expect", "no_packet": "no_packet", "counter": "counter",
                "register": "register"}[check.kind]
        if check.kind in STATE_CHECKS:
            detail = f"{check.message}: want {check.expected}, got {check.got_text}"
        else:
            detail = check.message
        table.add_row(str(check.line) if check.line else "-", what,
                      "" if check.port is None else str(check.port), verdict, detail)
    console.print(table)
    for check in result.failures:
        if check.kind in STATE_CHECKS or (check.expected is None and check.got is None):
            continue
        where = f"line {check.line}" if check.line else "unexpected output"
        console.print(f"[bold]{result.filename}: {where}, port {check.port}[/bold]: "
                      f"{check.message}")
        console.print(_diff_text(byte_diff(check.expected, check.got)))


def _diff_text(rows: list[tuple[int, str, str, bool]]) -> Text:
    """Expected and received bytes, 16 a row, differing bytes in red."""
    text = Text()
    sides = [("expected", 1), ("received", 2)]
    if all(row[1] == "--" for row in rows):
        sides = sides[1:]  # an unexpected packet: nothing was expected
    for start in range(0, len(rows), 16):
        chunk = rows[start:start + 16]
        for label, index in sides:
            text.append(f"  {start:04x} {label} ", style="dim")
            for row in chunk:
                style = "bold red" if row[3] else ""
                text.append(row[index] + " ", style=style)
            text.append("\n")
    return text


def _summary_line(result) -> str:
    failed = len(result.failures)
    packets = sum(c.kind not in STATE_CHECKS for c in result.checks)
    counters = sum(c.kind in STATE_CHECKS for c in result.checks)
    verdict = "PASS" if failed == 0 else f"FAIL ({failed} failed)"
    return f"{result.target}: {packets} packet checks, {counters} counter/register checks: {verdict}"


def _print_reference_trace(program: ir.Program, stf_path: str) -> None:
    """Replay the STF on a fresh reference model and print its trace of every packet."""
    from wirespeed.compiler.model import Pipeline
    from wirespeed.sim.executor import AddEntry, SendPacket, SetDefault
    from wirespeed.sim.stf import load_stf

    test = load_stf(program, stf_path)
    pipeline = Pipeline(program)
    for meter in test.meters:
        pipeline.set_meter(meter.meter, meter.index, meter.cir, meter.cburst, meter.pir,
                           meter.pburst)
    for op, line in zip(test.ops, test.op_lines, strict=True):
        match op:
            case AddEntry(table, entry):
                pipeline.add_entry(table, entry)
            case SetDefault(table, call):
                pipeline.set_default(table, call)
            case SendPacket(port, data):
                pipeline.trace = []
                pipeline.process(port, data)
                console.print(f"[bold]{stf_path}:{line}[/bold] (reference model)")
                for step in pipeline.trace:
                    console.print(f"  {step}", markup=False)
                pipeline.trace = None
            case _:
                pass


def run_stf_on(program: ir.Program, stf_path: str, target: str):
    from wirespeed.sim.stf import load_stf, run_stf
    from wirespeed.sim.targets import open_executor

    test = load_stf(program, stf_path)
    with open_executor(target, program) as executor:
        return run_stf(executor, test)


# ----------------------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wirespeed")
def cli() -> None:
    """wirespeed: one packet pipeline for FPGA (Amaranth), P4 (bmv2) and XDP (eBPF)."""


@cli.command()
@click.argument("files", nargs=-1, required=False)
@click.option("--dump-after", "dump_after", metavar="PASS",
              help="Print the IR (s-expression) after this pass.")
@click.option("--list-passes", is_flag=True, help="List the compiler passes in order.")
def check(files: Sequence[str], dump_after: str | None, list_passes: bool) -> None:
    """Check .wire FILES; print every diagnostic. Exit 0 when clean, 1 with errors."""
    if list_passes:
        from wirespeed.compiler import passes

        for item in passes.list_passes():
            name, doc = (item, "") if isinstance(item, str) else (item[0], item[1])
            console.print(f"{name:<24} {doc}".rstrip(), markup=False)
        return
    if not files:
        raise click.UsageError("give at least one .wire file (or --list-passes)")
    for path in files:
        if not Path(path).is_file():
            raise UserError(f"{path}: no such file")
    from wirespeed.compiler.diagnostics import render, summary_line
    from wirespeed.compiler.frontend import check_files

    diagnostics = check_files(list(files))
    for diagnostic in diagnostics:
        err_console.print(render(diagnostic), markup=False)
    if any(d.is_error for d in diagnostics):
        err_console.print(summary_line(diagnostics), markup=False)
        sys.exit(EXIT_USER)
    if dump_after:
        from wirespeed.compiler import passes
        from wirespeed.compiler.frontend import load_program

        known = ["lower", *(name for name, _ in passes.list_passes())]
        if dump_after not in known:
            raise UserError(f"unknown pass {dump_after!r} (passes: {', '.join(known)})")
        for path in files:
            passes.run_passes(load_program(path, passes=False), dump_after=dump_after,
                              dump=lambda text: console.print(text, markup=False))
        return
    warnings = len(diagnostics)
    console.print(f"{len(files)} file(s) checked: no errors"
                  + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""),
                  markup=False)


@cli.command()
@click.argument("file")
@click.option("--stf", "stf_path", required=True, metavar="T.stf", help="The packet test.")
@click.option("--target", default="reference", show_default=True, metavar="TARGET",
              help="Where to run it (see `wirespeed demo` for what is available).")
@click.option("--trace", is_flag=True,
              help="Also print what the reference model did with each packet.")
def test(file: str, stf_path: str, target: str, trace: bool) -> None:
    """Run the STF packet test on a target: a table of checks, a byte diff per failure."""
    if target not in _target_names():
        raise UserError(f"unknown target {target!r} (targets: {', '.join(_target_names())})")
    if not Path(stf_path).is_file():
        raise UserError(f"{stf_path}: no such file")
    program = load(file)
    started = time.perf_counter()
    result = run_stf_on(program, stf_path, target)
    if trace:
        _print_reference_trace(program, stf_path)
    _print_stf_result(result, f"{stf_path} on {target}")
    console.print(f"{_summary_line(result)} in {time.perf_counter() - started:.2f} s")
    if not result.passed:
        raise TestsFailed


@cli.command()
@click.argument("file")
@click.option("--pcap", "pcap_in", required=True, metavar="IN.pcap", help="Packets to send.")
@click.option("--out", "pcap_out", required=True, metavar="OUT.pcap",
              help="Every packet that left, in order (see --per-port).")
@click.option("--entries", metavar="E.stf",
              help="Table entries (add/setdefault/meter lines of an STF file).")
@click.option("--target", default="reference", show_default=True, metavar="TARGET")
@click.option("--port", "ingress_port", default=0, show_default=True, type=int,
              help="The ingress port every input packet arrives on.")
@click.option("--per-port", is_flag=True,
              help="Also write OUT.portN.pcap per egress port N.")
def run(file: str, pcap_in: str, pcap_out: str, entries: str | None, target: str,
        ingress_port: int, per_port: bool) -> None:
    """Send the packets of a pcap file through the program and write what leaves.

    Every input packet arrives on --port. OUT gets every packet that left, on any port, in
    the order they left, stamped with the time of the packet that caused it; with --per-port
    each egress port N also gets OUT.portN.pcap. A summary per port is printed. On the
    reference target the pcap timestamps drive the meters.
    """
    from wirespeed.sim.executor import SendPacket
    from wirespeed.sim.pcap import PcapPacket, read_pcap, write_pcap
    from wirespeed.sim.reference import ReferenceExecutor
    from wirespeed.sim.stf import load_stf
    from wirespeed.sim.targets import open_executor

    if target not in _target_names():
        raise UserError(f"unknown target {target!r} (targets: {', '.join(_target_names())})")
    if not 0 <= ingress_port < ir.DROP_PORT:
        raise UserError(f"--port {ingress_port} is not a port (0..{ir.DROP_PORT - 1})")
    program = load(file)
    packets = read_pcap(pcap_in)
    table_ops = []
    meters = []
    if entries:
        if not Path(entries).is_file():
            raise UserError(f"{entries}: no such file")
        test = load_stf(program, entries)
        table_ops, meters = test.table_ops, test.meters
    first = packets[0].time if packets else 0.0
    outputs: list[tuple[int, PcapPacket]] = []
    with open_executor(target, program) as executor:
        for meter in meters:
            executor.set_meter(meter.meter, meter.index, meter.cir, meter.cburst, meter.pir,
                               meter.pburst)
        if isinstance(executor, ReferenceExecutor):
            # one packet at a time, so that each reaches the meters at its own timestamp
            executor.run_script(table_ops)
            results = []
            for packet in packets:
                executor.now = packet.time - first
                results.append(executor.send(ingress_port, packet.data))
        else:
            ops = [*table_ops, *(SendPacket(ingress_port, p.data) for p in packets)]
            results = executor.run_script(ops)[len(table_ops):]
        for packet, sent in zip(packets, results, strict=True):
            for out in sent:
                outputs.append((out.port, PcapPacket(packet.time, out.data)))
    write_pcap(pcap_out, [p for _, p in outputs])
    summary = Table(title=f"{pcap_in} -> {pcap_out} on {target}", title_justify="left")
    summary.add_column("egress port", justify="right")
    summary.add_column("packets", justify="right")
    summary.add_column("bytes", justify="right")
    ports = sorted({port for port, _ in outputs})
    stem = pcap_out[:-5] if pcap_out.endswith(".pcap") else pcap_out
    for port in ports:
        leaving = [p for q, p in outputs if q == port]
        name = {ir.HOST_PORT: f"{port} (host)"}.get(port, str(port))
        summary.add_row(name, str(len(leaving)), str(sum(len(p.data) for p in leaving)))
        if per_port:
            write_pcap(f"{stem}.port{port}.pcap", leaving)
    sent_count = len(packets)
    dropped = sum(1 for r in results if not r)
    summary.add_row("dropped", str(dropped), "", style="dim")
    console.print(summary)
    console.print(f"{sent_count} packets in on port {ingress_port}, {len(outputs)} out")


@cli.command()
@click.argument("file")
@click.option("-o", "--out", "out", required=True, metavar="OUT.svg",
              help="Output picture; the format follows the suffix (svg, png, pdf, dot).")
def graph(file: str, out: str) -> None:
    """Draw the parser graph and the control flow with its tables."""
    from wirespeed.compiler.graph import write_graph

    program = load(file)
    try:
        write_graph(program, out)
    except OSError as e:
        raise UserError(f"{out}: cannot write ({e.strerror})") from None
    except Exception as e:  # graphviz reports a missing `dot` or a bad format this way
        if type(e).__name__ in ("ExecutableNotFound", "CalledProcessError", "ValueError"):
            raise UserError(f"cannot draw the graph: {e}") from None
        raise
    console.print(f"wrote {out}")


@cli.command("compile")
@click.argument("file")
@click.option("--target", required=True, metavar="TARGET", help="Backend (ir, p4, xdp, ...).")
@click.option("-o", "--out", "outdir", required=True, metavar="DIR",
              help="Directory for the generated files.")
@click.option("--entries", metavar="E.stf", help="Table entries to hand to the backend.")
def compile_cmd(file: str, target: str, outdir: str, entries: str | None) -> None:
    """Compile the program for a backend and write its files into DIR."""
    from wirespeed.compiler.backends import BACKENDS
    from wirespeed.sim.stf import load_stf

    if target not in BACKENDS:
        raise UserError(f"unknown backend {target!r} (backends: {', '.join(BACKENDS)})")
    program = load(file)
    module, function = BACKENDS[target].split(":")
    compile_program = getattr(importlib.import_module(module), function)
    given = None
    if entries:
        if not Path(entries).is_file():
            raise UserError(f"{entries}: no such file")
        test = load_stf(program, entries)
        # the table ops, or the whole STF test for a backend that also rewrites packets
        given = test if getattr(compile_program, "takes_stf_test", False) else test.table_ops
    out = Path(outdir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{outdir}: cannot create ({e.strerror})") from None
    written = compile_program(program, out, given)
    for path in written:
        console.print(f"wrote {path}")


@cli.command()
@click.argument("file")
@click.option("--stf", "stf_path", metavar="T.stf",
              help="The packet test (default: the .stf next to FILE).")
def demo(file: str, stf_path: str | None) -> None:
    """Check FILE, then run its STF on every target available here, with a summary."""
    from wirespeed.sim.targets import unavailable_reason

    stf_path = stf_path or str(Path(file).with_suffix(".stf"))
    if not Path(stf_path).is_file():
        raise UserError(f"{stf_path}: no such file (the demo runs the example's STF)")
    started = time.perf_counter()
    program = load(file)
    console.print(f"[bold]{file}[/bold]: checked in {time.perf_counter() - started:.2f} s "
                  f"({len(program.tables)} tables, {len(program.parser)} parser states)")
    summary = Table(title=f"{stf_path} on every target", title_justify="left")
    for column in ("target", "result", "packet checks", "counter/register checks", "time",
                   "note"):
        summary.add_column(column)
    any_failed = False
    internal_error: Exception | None = None
    for target in _target_names():
        try:
            reason = unavailable_reason(target)
        except ImportError as e:
            reason = f"cannot load its executor ({e})"
        if reason:
            summary.add_row(target, Text("skipped", style="yellow"), "", "", "", reason)
            continue
        t0 = time.perf_counter()
        try:
            result = run_stf_on(program, stf_path, target)
        except _user_error_types() as e:
            any_failed = True
            summary.add_row(target, Text("ERROR", style="bold red"), "", "", "", str(e))
            continue
        except Exception as e:  # noqa: BLE001 - one broken target must not hide the others
            internal_error = e
            summary.add_row(target, Text("ERROR", style="bold red"), "", "", "",
                            f"internal error: {type(e).__name__}: {e}")
            continue
        packets = [c for c in result.checks if c.kind not in STATE_CHECKS]
        counters = [c for c in result.checks if c.kind in STATE_CHECKS]
        if not result.passed:
            any_failed = True
            _print_stf_result(result, f"{stf_path} on {target}: failures")
        summary.add_row(
            target,
            Text("pass", style="green") if result.passed else Text("FAIL", style="bold red"),
            f"{sum(c.passed for c in packets)}/{len(packets)}",
            f"{sum(c.passed for c in counters)}/{len(counters)}",
            f"{time.perf_counter() - t0:.2f} s")
    console.print(summary)
    if internal_error is not None:
        raise internal_error
    if any_failed:
        raise TestsFailed


def mutated_packets(originals: list[tuple[int, bytes]], count: int, seed: int
                    ) -> list[tuple[int, bytes]]:
    """``count`` packets derived from ``originals``: truncated at a random byte, with a bit
    flipped or a byte replaced in the first 80 bytes (where the headers are), or with random
    bytes appended. Deterministic for one ``seed``."""
    import random

    rng = random.Random(seed)
    out: list[tuple[int, bytes]] = []
    for _ in range(count):
        port, base = rng.choice(originals)
        data = bytearray(base)
        kind = rng.randrange(4)
        if kind == 0 and data:
            data = data[:rng.randrange(len(data))]
        elif kind == 1 and data:
            data[rng.randrange(min(len(data), 80))] ^= 1 << rng.randrange(8)
        elif kind == 2 and data:
            data[rng.randrange(min(len(data), 80))] = rng.randrange(256)
        else:
            data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        out.append((port, bytes(data)))
    return out


@cli.command()
@click.argument("file")
@click.option("--stf", "stf_path", required=True, metavar="T.stf",
              help="Entries and seed packets (its expect lines are not used).")
@click.option("--target", "targets", multiple=True, metavar="TARGET",
              help="Compare this target with the reference (repeatable; default: all "
                   "available).")
@click.option("--count", default=200, show_default=True, help="Mutated packets to add.")
@click.option("--seed", default=1, show_default=True, help="Seed of the mutations.")
@click.option("--show", default=3, show_default=True, help="Differences to print per target.")
def diff(file: str, stf_path: str, targets: Sequence[str], count: int, seed: int,
         show: int) -> None:
    """Differential test: the STF's packets and mutations of them (truncated, corrupted,
    padded) through the reference model and each target; every difference in port or bytes
    is printed as a self-contained STF reproducer."""
    from wirespeed.sim.executor import SendPacket
    from wirespeed.sim.stf import format_op, load_stf
    from wirespeed.sim.targets import open_executor, unavailable_reason

    if not Path(stf_path).is_file():
        raise UserError(f"{stf_path}: no such file")
    names = list(targets) or [t for t in _target_names() if t != "reference"]
    for name in names:
        if name not in _target_names():
            raise UserError(f"unknown target {name!r} (targets: {', '.join(_target_names())})")
    program = load(file)
    test = load_stf(program, stf_path)
    originals = [(op.port, op.data) for op in test.ops if isinstance(op, SendPacket)]
    if not originals:
        raise UserError(f"{stf_path} sends no packets to start from")
    packets = originals + mutated_packets(originals, count, seed)
    ops = [*test.table_ops, *(SendPacket(port, data) for port, data in packets)]

    def run_on(target: str) -> list[list[tuple[int, bytes]]]:
        with open_executor(target, program) as executor:
            for m in test.meters:
                executor.set_meter(m.meter, m.index, m.cir, m.cburst, m.pir, m.pburst)
            results = executor.run_script(ops)[len(test.table_ops):]
        return [sorted((o.port, o.data) for o in r) for r in results]

    expected = run_on("reference")
    summary = Table(title=f"{len(packets)} packets ({len(originals)} from {stf_path}, "
                          f"{count} mutated, seed {seed}) against the reference",
                    title_justify="left")
    for column in ("target", "result", "differences", "time", "note"):
        summary.add_column(column)
    any_difference = False
    entry_lines = [format_op(program, op) for op in test.table_ops]
    for target in names:
        reason = unavailable_reason(target)
        if reason:
            summary.add_row(target, Text("skipped", style="yellow"), "", "", reason)
            continue
        t0 = time.perf_counter()
        got = run_on(target)
        differing = [i for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
        elapsed = f"{time.perf_counter() - t0:.2f} s"
        if not differing:
            summary.add_row(target, Text("same", style="green"), "0", elapsed)
            continue
        any_difference = True
        summary.add_row(target, Text("DIFFERENT", style="bold red"), str(len(differing)),
                        elapsed)
        for i in differing[:show]:
            port, data = packets[i]
            console.print(f"[bold]{target}: packet {i} differs[/bold] (reproducer):")
            lines = [*entry_lines, f"packet {port} {data.hex()}"]
            lines += [f"expect {p} {d.hex()}$" for p, d in expected[i]] or ["no_packet"]
            console.print("\n".join(lines), markup=False)
            console.print(f"# {target} gave: " + (", ".join(
                f"port {p}, {len(d)} bytes" for p, d in got[i]) or "nothing"), markup=False)
            if len(expected[i]) == 1 and len(got[i]) == 1:
                from wirespeed.sim.stf import byte_diff

                console.print(_diff_text(byte_diff(expected[i][0][1].hex(), got[i][0][1])))
    console.print(summary)
    if any_difference:
        raise TestsFailed


# random programs on every target (sim/conformance/cli.py)
cli.add_command(importlib.import_module("wirespeed.sim.conformance.cli").conformance)
# attach, entries, detach on real interfaces (xdp/cli.py)
cli.add_command(importlib.import_module("wirespeed.xdp.cli").xdp)
# bitstreams for boards, and talking to a board (boards/cli.py)
cli.add_command(importlib.import_module("wirespeed.boards.cli").build)
cli.add_command(importlib.import_module("wirespeed.boards.cli").board)

# ----------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; turn every error into a message and an exit code (never a traceback)."""
    from wirespeed.compiler.diagnostics import CompileError, summary_line

    code = EXIT_OK
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="wirespeed",
                 standalone_mode=False)
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.exceptions.Abort:
        err_console.print("error: aborted", markup=False)
        code = EXIT_USER
    except click.ClickException as e:
        if isinstance(e, click.UsageError) and e.ctx is not None:
            err_console.print(e.ctx.get_usage(), markup=False)
        err_console.print(f"error: {e.format_message()}", markup=False)
        code = EXIT_USAGE if isinstance(e, click.UsageError) else EXIT_USER
    except TestsFailed:
        code = EXIT_USER
    except CompileError as e:
        err_console.print(str(e), markup=False)
        err_console.print(summary_line(e.diagnostics), markup=False)
        code = EXIT_USER
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else EXIT_USER
    except KeyboardInterrupt:
        err_console.print("error: interrupted", markup=False)
        code = 130
    except Exception as e:  # noqa: BLE001 - the one place every error becomes a message
        if isinstance(e, _user_error_types()):
            message = str(e)
            # STF errors already read `file:line: error: ...`, backend refusals of a
            # statement `file:line:col: error: ...`
            if not re.match(r"^(\S+:\d+:(\d+:)? )?error: ", message):
                message = f"error: {message}"
            err_console.print(message, markup=False)
            code = EXIT_USER
        elif isinstance(e, OSError) and e.filename:
            err_console.print(f"error: {e.filename}: {e.strerror}", markup=False)
            code = EXIT_USER
        else:
            err_console.print(f"internal compiler error: {type(e).__name__}: {e}",
                              markup=False)
            err_console.print("(this is a bug in wirespeed; set WIRESPEED_TRACEBACK=1 for "
                              "the traceback)", markup=False, style="dim")
            code = EXIT_INTERNAL
        if os.environ.get("WIRESPEED_TRACEBACK") == "1":
            traceback.print_exc()
    return code


if __name__ == "__main__":
    sys.exit(main())
