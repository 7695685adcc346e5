"""``wirespeed build``: a program onto a board, from .wire to bitstream, with a report.

Stages: front end -> Amaranth (RTLIL, constraints) -> Yosys synthesis -> nextpnr place and
route -> bitstream packing. The tools are the YoWASP builds from PyPI unless the variables
Amaranth reads (``YOSYS``, ``NEXTPNR_ECP5``, ``ECPPACK``, ``NEXTPNR_ICE40``, ``ICEPACK``) name
others. nextpnr writes a JSON report (resources and fmax per clock), from which ``report.txt``
and ``report.json`` are made. Failed timing is an error and no bitstream is delivered.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wirespeed.boards.board import (
    Board,
    BoardError,
    EthernetBoardTop,
    UartBoardTop,
    find_board,
)
from wirespeed.boards.pipeline import ProgramPipeline

NAME = "top"

# nextpnr's cell types, grouped into the figures an FPGA engineer reads.
RESOURCE_CELLS = {
    "ecp5": {"LUT": "TRELLIS_COMB", "FF": "TRELLIS_FF", "BRAM": "DP16KD",
             "DSP": "MULT18X18D", "IO": "TRELLIS_IO"},
    "ice40": {"LUT": "ICESTORM_LC", "FF": "ICESTORM_LC", "BRAM": "ICESTORM_RAM",
              "DSP": "ICESTORM_DSP", "IO": "SB_IO"},
}


class BuildError(Exception):
    """The build cannot go on (message for the user)."""


@dataclass
class ClockTiming:
    name: str
    achieved_mhz: float
    constraint_mhz: float

    @property
    def met(self) -> bool:
        return self.achieved_mhz >= self.constraint_mhz


@dataclass
class Resource:
    used: int
    available: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.available if self.available else 0.0


@dataclass
class TableCapacity:
    name: str
    kind: str        # the match unit: "hash", "tcam" or "none"
    entries: int     # run-time entries the board's pipeline holds
    requested: int   # the program's ``size``


@dataclass
class BuildReport:
    program: str
    board: str
    device: str
    width: int
    resources: dict[str, Resource] = field(default_factory=dict)
    clocks: list[ClockTiming] = field(default_factory=list)
    tables: list[TableCapacity] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    bitstream: str | None = None

    @property
    def timing_met(self) -> bool:
        return bool(self.clocks) and all(c.met for c in self.clocks)

    @property
    def seconds(self) -> float:
        return sum(self.stage_seconds.values())

    def to_json(self) -> dict:
        data = asdict(self)
        data["timing_met"] = self.timing_met
        data["seconds"] = round(self.seconds, 1)
        for r in data["resources"].values():
            r["percent"] = round(100.0 * r["used"] / r["available"], 1) if r["available"] else 0
        for c in data["clocks"]:
            c["met"] = c["achieved_mhz"] >= c["constraint_mhz"]
        return data

    def to_text(self) -> str:
        lines = [f"{self.program} on {self.board} ({self.device}), {self.width}-bit datapath",
                 "", "resources:"]
        for name, r in self.resources.items():
            lines.append(f"  {name:<5} {r.used:>6} / {r.available:<6} {r.percent:5.1f}%")
        lines += ["", "timing:"]
        for c in self.clocks:
            verdict = "met" if c.met else "FAILED"
            lines.append(f"  {c.name:<28} {c.achieved_mhz:7.2f} MHz  (constraint "
                         f"{c.constraint_mhz:.2f} MHz)  {verdict}")
        lines.append(f"  timing {'met' if self.timing_met else 'NOT met'}")
        if self.tables:
            lines += ["", "tables (run-time entries):"]
            for t in self.tables:
                cut = f"  (program asks {t.requested})" if t.entries < t.requested else ""
                lines.append(f"  {t.name:<20} {t.kind:<5} {t.entries:>6}{cut}")
        lines += ["", "build time:"]
        for stage, seconds in self.stage_seconds.items():
            lines.append(f"  {stage:<10} {seconds:7.1f} s")
        lines.append(f"  {'total':<10} {self.seconds:7.1f} s")
        if self.bitstream:
            lines += ["", f"bitstream: {self.bitstream}"]
        return "\n".join(lines) + "\n"


def tool_command(argv: list[str]) -> list[str]:
    """The tool a command names, as Amaranth would find it: its variable, else YoWASP's."""
    tool = argv[0]
    variable = tool.upper().replace("-", "_")
    chosen = os.environ.get(variable) or f"yowasp-{tool}"
    # The venv's own bin directory first: `.venv/bin/wirespeed` works without activating it.
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(chosen, path=search)
    if found is None:
        raise BuildError(f"{tool} not found (looked for {chosen!r}; run `make setup`, or set "
                         f"{variable})")
    return [found, *argv[1:]]


def parse_nextpnr_report(path: Path, family: str) -> tuple[dict[str, Resource],
                                                           list[ClockTiming]]:
    data = json.loads(path.read_text())
    utilization = data.get("utilization", {})
    resources: dict[str, Resource] = {}
    for figure, cell in RESOURCE_CELLS[family].items():
        entry = utilization.get(cell, {"used": 0, "available": 0})
        resources[figure] = Resource(entry["used"], entry["available"])
    clocks = [ClockTiming(name, round(v["achieved"], 2), round(v["constraint"], 2))
              for name, v in sorted(data.get("fmax", {}).items())]
    return resources, clocks


Progress = Callable[[str], None]


def build(program_path: Path, board_name: str, out_dir: Path, width: int = 64,
          progress: Progress = lambda message: None) -> BuildReport:
    """Builds the bitstream; the report is written whether or not timing is met. Raises
    ``BuildError`` for a failed tool or failed timing."""
    from wirespeed.compiler.frontend import load_program

    board = find_board(board_name)
    stages: dict[str, float] = {}

    progress(f"[1/5] front end: {program_path}")
    start = time.monotonic()
    program = load_program(str(program_path))
    stages["frontend"] = time.monotonic() - start
    return build_design(lambda: make_top(board, program, width), program_path.stem, board,
                        out_dir, width, progress, stages, table_capacities(board, program, width))


def table_capacities(board: Board, program: object, width: int) -> list[TableCapacity]:
    from wirespeed.hdl.pipeline import Plan

    sizes = {t.name: t.size for t in program.tables}  # type: ignore[attr-defined]
    return [TableCapacity(t.name, t.kind, t.capacity, sizes[t.name])
            for t in Plan.of(program, width, limits=board.limits).tables]  # type: ignore[arg-type]


def build_design(top_factory: Callable[[], object], stem: str, board: Board, out_dir: Path,
                 width: int, progress: Progress, stages: dict[str, float],
                 tables: list[TableCapacity] | None = None) -> BuildReport:
    """Stages 2 to 5 for any board top (``build`` gives it the program's NIC)."""
    work = out_dir / "build"
    work.mkdir(parents=True, exist_ok=True)
    progress(f"[2/5] Amaranth: NIC top for {board.name}, {width}-bit pipeline")
    start = time.monotonic()
    platform = board.make_platform()
    top = top_factory()
    overrides = {"nextpnr_opts": "--report report.json --timing-allow-fail"}
    if board.family == "ecp5":
        overrides["add_preferences"] = board.lpf_preferences()
    plan = platform.prepare(top, name=NAME, **overrides)
    plan.extract(work)
    commands = json.loads(plan.files[f"build_{NAME}.json"])["commands"]
    stages["amaranth"] = time.monotonic() - start

    report = BuildReport(program=stem, board=board.name,
                         device=f"{platform.device}-{platform.package}", width=width,
                         tables=tables or [], stage_seconds=stages)
    labels = {"yosys": "[3/5] Yosys: synthesis", "nextpnr": "[4/5] nextpnr: place and route",
              "pack": "[5/5] bitstream"}
    for argv in commands:
        stage = ("yosys" if argv[0] == "yosys" else
                 "nextpnr" if argv[0].startswith("nextpnr") else "pack")
        command = tool_command(argv)
        progress(f"{labels[stage]} ({command[0]})")
        start = time.monotonic()
        done = subprocess.run(command, cwd=work, capture_output=True, text=True)
        stages[stage] = time.monotonic() - start
        if done.returncode != 0:
            over = _overused(work / f"{NAME}.tim", board.family) if stage == "nextpnr" else ""
            if over:
                raise BuildError(f"{stem} does not fit {board.name} ({report.device}): {over}")
            log = _tail(work, stage, done.stdout + done.stderr)
            raise BuildError(f"{stage} failed for {board.name}:\n{log}")
        if stage == "nextpnr":
            report.resources, report.clocks = parse_nextpnr_report(
                work / "report.json", board.family)
            if not report.timing_met:
                break

    _write_report(report, out_dir)
    if not report.timing_met:
        failed = ", ".join(f"{c.name} {c.achieved_mhz:.2f} MHz < {c.constraint_mhz:.2f} MHz"
                           for c in report.clocks if not c.met) or "no clock was analysed"
        raise BuildError(f"timing not met on {board.name}: {failed}; no bitstream written "
                         f"(report: {out_dir / 'report.txt'})")
    suffix = ".bit" if board.family == "ecp5" else ".bin"
    bitstream = out_dir / f"{stem}-{board.name}{suffix}"
    shutil.copyfile(work / f"{NAME}{suffix}", bitstream)
    report.bitstream = str(bitstream)
    _write_report(report, out_dir)
    return report


def make_top(board: Board, program: object, width: int) -> object:
    top = EthernetBoardTop if board.family == "ecp5" else UartBoardTop
    return top(board, ProgramPipeline(program, width, board.limits), width)  # type: ignore[arg-type]


def _write_report(report: BuildReport, out_dir: Path) -> None:
    (out_dir / "report.txt").write_text(report.to_text())
    (out_dir / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")


def _overused(log: Path, family: str) -> str:
    """What nextpnr's utilisation lines show over 100 %, as ``LUT 66,378 of 24,288 (273 %)``;
    empty when nothing is (the failure is something else)."""
    if not log.exists():
        return ""
    figures: dict[str, str] = {}
    for name, cell in RESOURCE_CELLS[family].items():
        figures.setdefault(cell, name)  # an iCE40 logic cell is LUT and FF: call it LUT
    over = []
    for cell, used, available in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", log.read_text(),
                                            re.MULTILINE):
        if int(used) > int(available) > 0 and cell in figures:
            over.append(f"{figures[cell]} {int(used):,} of {int(available):,} "
                        f"({100 * int(used) // int(available)} %)")
    # the ECP5's distributed RAM is a quarter of its LUTs: nextpnr counts it before packing
    for used, available in re.findall(r"^Info:\s+RAM LUTs:\s+(\d+)/\s*(\d+)", log.read_text(),
                                      re.MULTILINE):
        if int(used) > int(available) > 0:
            over.append(f"LUT-RAM {int(used):,} of {int(available):,} LUTs "
                        f"({100 * int(used) // int(available)} %)")
    return ", ".join(dict.fromkeys(over))


def _tail(work: Path, stage: str, output: str, lines: int = 25) -> str:
    text = output
    if stage == "yosys" and (work / f"{NAME}.rpt").exists():
        text = (work / f"{NAME}.rpt").read_text()
    if stage == "nextpnr" and (work / f"{NAME}.tim").exists():
        text = (work / f"{NAME}.tim").read_text()
    return "\n".join(text.strip().splitlines()[-lines:])


__all__ = ["BoardError", "BuildError", "BuildReport", "build"]
