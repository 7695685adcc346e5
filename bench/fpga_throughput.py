"""Throughput and latency of the FPGA pipeline under Verilator (``python -m bench.fpga_throughput``).

For every example and frame size from 60 to 1518 bytes, a long stream of frames that the
program forwards is sent back to back with no idle cycles and no backpressure. Figures, all
measured in the same run:

* ``in beats/clk``: input beats accepted per clock while the stream lasts; line rate is 1.0
  (the pipeline never pushes back on the input).
* ``out beats/clk``: output beats per clock over the output window, against the ideal for
  the output's own size (a decap shrinks frames, so its output needs fewer beats).
* ``latency``: clocks from the first beat of the first frame in to its first beat out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.executor import AddEntry, SendPacket, SetDefault
from wirespeed.sim.reference import ReferenceExecutor
from wirespeed.sim.stf import load_stf

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SIZES = (60, 64, 128, 256, 512, 1024, 1518)


def forwarded_template(name: str) -> tuple[list, int, bytes]:
    """The example's table entries and the first STF packet it forwards (with its port)."""
    program = load_program(EXAMPLES / f"{name}.wire")
    test = load_stf(program, EXAMPLES / f"{name}.stf")
    setup = [op for op in test.ops if isinstance(op, AddEntry | SetDefault)]
    model = ReferenceExecutor(program)
    model.run_script(setup)
    # the frame the program changes most (decap, encap), else the shortest forwarded one
    best = None
    for op in (o for o in test.ops if isinstance(o, SendPacket)):
        if len(op.data) > 1518:
            continue
        out = model.send(op.port, op.data)
        if out:
            score = (-abs(len(out[0].data) - len(op.data)), len(op.data))
            if best is None or score < best[0]:
                best = (score, op)
    if best is None:
        raise SystemExit(f"{name}: no STF packet is forwarded")
    return setup, best[1].port, best[1].data


def measure(name: str, width: int, count: int, driver: str = "native") -> list[dict]:
    from wirespeed.hdl.controlplane import ControlPlane
    from wirespeed.hdl.pipeline import Plan
    from wirespeed.sim.fpga import BUILD_ROOT, _tool_env, generated_verilog, run_steps, simulator
    from wirespeed.sim.fpga_native import native_harness, run_steps_native

    program = load_program(EXAMPLES / f"{name}.wire")
    setup, port, template = forwarded_template(name)
    vfile, _ = generated_verilog(program, width)
    control = ControlPlane(Plan.of(program, width).tables, program)
    writes = []
    for op in setup:
        writes += (control.add_entry(op.table, op.entry)[1] if isinstance(op, AddEntry)
                   else control.set_default(op.table, op.call))
    steps: list[dict] = [{"write": writes}]
    sizes: list[int] = []
    for size in SIZES:
        if max(size, len(template)) in sizes:
            continue
        # frames shorter than the template keep the template's headers (it would not parse)
        frame = template + bytes((i * 7) & 0xFF for i in range(max(0, size - len(template))))
        sizes.append(len(frame))
        steps.append({"packets": [[i, port, frame.hex()] for i in range(count)]})
    if driver == "native":
        harness = native_harness(vfile, width, BUILD_ROOT, _tool_env(), optimize=True)
        raw = run_steps_native(harness, steps, idle=0.0, backpressure=0.0)
    else:
        raw = run_steps(simulator(vfile), steps, idle=0.0, backpressure=0.0)
    model = ReferenceExecutor(program)
    model.run_script(setup)
    rows = []
    lanes = width // 8
    for size, result in zip(sizes, raw[1:], strict=True):
        s = result["stats"]
        frame = bytes.fromhex(steps[len(rows) + 1]["packets"][0][2])
        out = model.send(port, frame)
        out_len = len(out[0].data) if out else 0
        ideal_out = -(-out_len // lanes) * count
        rows.append({
            "size": size,
            "in_rate": s["in_beats"] / (s["last_in"] - s["first_in"] + 1),
            "out_rate": s["out_beats"] / (s["last_out"] - s["first_out"] + 1)
            if s["out_beats"] else 0.0,
            # at line rate in, the output can need fewer beats than came in (decap)
            "out_ideal": min(1.0, ideal_out / max(1, s["in_beats"])),
            "latency": s.get("first_out", 0) - s["first_in"],
            "forwarded": s["out_beats"] == ideal_out,
        })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", nargs="*",
                        default=["vxlan_decap", "acl", "l4lb", "gateway"])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--count", type=int, default=200, help="frames per size")
    parser.add_argument("--driver", choices=["native", "cocotb"], default="native",
                        help="the Verilator bench (both count the same clocks)")
    args = parser.parse_args(argv)
    console = Console()
    for name in args.examples:
        rows = measure(name, args.width, args.count, args.driver)
        table = Table(title=f"{name} at W={args.width}: {args.count} back-to-back frames per size")
        for col in ("frame bytes", "in beats/clk", "out beats/clk", "ideal out beats/clk",
                    "latency (clk)", "all out"):
            table.add_column(col, justify="right")
        for r in rows:
            table.add_row(str(r["size"]), f"{r['in_rate']:.3f}", f"{r['out_rate']:.3f}",
                          f"{r['out_ideal']:.3f}", str(r["latency"]),
                          "yes" if r["forwarded"] else "NO")
        console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
