"""The two FPGA simulation benches side by side (``python -m bench.fpga_drivers``): the same
script (an example's entries and N packets with idle and backpressure) through cocotb and
through the native Verilator harness, after both are built; clocks per second of each and
the ratio, measured in one run. Both must give the same outputs."""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def main(argv: list[str] | None = None) -> int:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from wirespeed.compiler.frontend import load_program
    from wirespeed.sim.executor import SendPacket
    from wirespeed.sim.fpga import FpgaExecutor
    from wirespeed.sim.stf import load_stf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="acl")
    parser.add_argument("--packets", type=int, default=2000)
    args = parser.parse_args(argv)
    program = load_program(EXAMPLES / f"{args.example}.wire")
    entries = load_stf(program, EXAMPLES / f"{args.example}.stf").table_ops
    rng = random.Random(1)
    sends = []
    for _ in range(args.packets):
        l4 = TCP(dport=rng.choice([22, 80, 443])) if rng.random() < 0.5 else UDP(dport=53)
        sends.append(SendPacket(rng.randrange(4), bytes(
            Ether() / IP(src="10.20.5.5", dst="192.168.10.10") / l4 /
            bytes(rng.choice([0, 40, 300, 1400])))))
    ops = [*entries, *sends]
    rows, outputs = [], {}
    for driver in ("native", "cocotb"):
        with FpgaExecutor(program, driver=driver) as fpga:
            fpga.optimize = True
            fpga.run_script(entries)  # builds the simulator: not timed
            fpga.history.clear()
            started = time.perf_counter()
            results = fpga.run_script(ops)
            seconds = time.perf_counter() - started
        outputs[driver] = results
        rows.append((driver, seconds))
    same = outputs["native"] == outputs["cocotb"]
    console = Console()
    table = Table(title=f"{args.example}: {len(ops)} ops ({args.packets} packets), W=64, "
                        "idle 0.3, backpressure 0.3")
    for col in ("bench", "seconds", "packets/s", "x faster than cocotb"):
        table.add_column(col, justify="right")
    cocotb_s = dict(rows)["cocotb"]
    for driver, seconds in rows:
        table.add_row(driver, f"{seconds:.2f}", f"{args.packets / seconds:,.0f}",
                      f"{cocotb_s / seconds:.0f}")
    console.print(table)
    console.print(f"same outputs from both benches: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
