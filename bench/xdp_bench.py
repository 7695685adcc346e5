"""XDP: nanoseconds per packet of each example, generated against hand-written.

``python -m bench.xdp_bench`` (root). For every example with a hand-written baseline in
``bench/baselines/NAME.c``: both programs are loaded into the kernel, their maps are filled
from the example's STF by the same control plane, and every packet of the STF (14 to 512
bytes) goes through ``BPF_PROG_TEST_RUN`` with a large repeat count, generated and
hand-written alternately, in one run; each figure is the best of a few rounds (the machine
is shared, and interference only ever adds time). Before timing, each packet goes once through both and
the outputs (verdict and bytes) are compared, so the baseline is known to do the same work.

A repeat count reruns the program on the buffer it just changed (a decapsulated packet would
be decapsulated again), so each repetition goes through ``baselines/harness.c``, which puts
the original packet back and tail-calls the program under test. The harness's own cost
(tail-calling an empty program) is printed too; "program ns" subtracts it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from wirespeed.compiler import ir
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.executor import AddEntry, SendPacket, SetDefault
from wirespeed.sim.stf import load_stf
from wirespeed.sim.xdp import LOOPBACK_IFINDEX, XdpExecutor, cache_dir
from wirespeed.xdp import libbpf
from wirespeed.xdp.build import CFLAGS, clang_path
from wirespeed.xdp.control import ControlPlane

ROOT = Path(__file__).resolve().parent.parent
BASELINES = Path(__file__).resolve().parent / "baselines"
EXAMPLES = ("vxlan_decap", "acl", "l4lb", "gateway")
MAX_BENCH_BYTES = 512  # the harness keeps the original packet in a 512-byte map value


@dataclass
class Result:
    name: str
    packets: int
    generated_ns: float
    baseline_ns: float
    harness_ns: float
    same_output: int
    generated_insns: int
    baseline_insns: int
    generated_xlated: int
    baseline_xlated: int

    @property
    def ratio(self) -> float:
        return self.generated_ns / self.baseline_ns

    @property
    def program_ratio(self) -> float:
        return (self.generated_ns - self.harness_ns) / (self.baseline_ns - self.harness_ns)


def build(source: Path, name: str) -> Path:
    out = cache_dir() / f"bench-{name}.o"


    result = subprocess.run([clang_path() or "clang", *CFLAGS, "-I", str(BASELINES), "-c",
                             str(source), "-o", str(out)], capture_output=True, text=True,
                            check=False)
    if result.returncode:
        raise SystemExit(f"error: clang failed on {source}:\n{result.stderr}")
    return out


class Harness:
    def __init__(self) -> None:
        self.obj = libbpf.BpfObject(build(BASELINES / "harness.c", "harness"), "harness")
        self.original = self.obj.map_fd("original")
        self.under_test = self.obj.map_fd("under_test")
        self.empty_fd = self.obj.program_fd("empty")

    def time(self, prog_fd: int, packet: bytes, repeat: int) -> int:
        libbpf.map_update(self.under_test, b"\0\0\0\0", prog_fd.to_bytes(4, "little"))
        value = len(packet).to_bytes(4, "little") + packet.ljust(MAX_BENCH_BYTES, b"\0")
        libbpf.map_update(self.original, b"\0\0\0\0", value)
        return libbpf.test_run(self.obj.prog_fd, packet, repeat=repeat,
                               ingress_ifindex=LOOPBACK_IFINDEX).duration_ns


def bench_example(name: str, harness: Harness, repeat: int, rounds: int) -> Result:
    program = load_program(ROOT / "examples" / f"{name}.wire")
    test = load_stf(program, ROOT / "examples" / f"{name}.stf")
    table_ops = [op for op in test.ops if isinstance(op, AddEntry | SetDefault)]
    sends = [op for op in test.ops if isinstance(op, SendPacket)
             and 14 <= len(op.data) <= MAX_BENCH_BYTES]
    generated = XdpExecutor(program)
    generated.run_script(table_ops)
    baseline = libbpf.BpfObject(build(BASELINES / f"{name}.c", name), name)
    control = ControlPlane(program, baseline.map_fd)
    control.install_program_state()
    for op in table_ops:
        match op:
            case AddEntry(table, entry):
                control.add_entry(table, entry)
            case SetDefault(table, call):
                control.set_default(table, call)
    for port in range(ir.HOST_PORT):
        control.set_egress_device(port, LOOPBACK_IFINDEX)
    controls = (generated.control, control)

    def set_port(port: int) -> None:
        for c in controls:
            c.set_ingress_port(LOOPBACK_IFINDEX, port)

    same = 0
    for op in sends:
        set_port(op.port)
        a = libbpf.test_run(generated.prog_fd, op.data, ingress_ifindex=LOOPBACK_IFINDEX)
        b = libbpf.test_run(baseline.prog_fd, op.data, ingress_ifindex=LOOPBACK_IFINDEX)
        if (a.verdict, a.data) == (b.verdict, b.data):
            same += 1
        elif os.environ.get("BENCH_VERBOSE"):
            print(f"{name}: differ on {op.data.hex()}\n  generated {a.verdict} "
                  f"{a.data.hex()}\n  baseline  {b.verdict} {b.data.hex()}", file=sys.stderr)
    gen_times, base_times, empty_times = [], [], []
    for op in sends:
        set_port(op.port)
        g, b, e = [], [], []
        for _ in range(rounds):
            g.append(harness.time(generated.prog_fd, op.data, repeat))
            b.append(harness.time(baseline.prog_fd, op.data, repeat))
            e.append(harness.time(harness.empty_fd, op.data, repeat))
        gen_times.append(min(g))
        base_times.append(min(b))
        empty_times.append(min(e))
    gi = libbpf.prog_info(generated.prog_fd)
    bi = libbpf.prog_info(baseline.prog_fd)
    generated.close()
    baseline.close()
    return Result(name, len(sends), statistics.mean(gen_times), statistics.mean(base_times),
                  statistics.mean(empty_times), same, gi.verified_insns, bi.verified_insns,
                  gi.xlated_insns, bi.xlated_insns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("examples", nargs="*", default=list(EXAMPLES))
    parser.add_argument("--repeat", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    reason = XdpExecutor.unavailable_reason()
    if reason:
        print(f"error: the XDP benchmark needs the kernel: {reason}", file=sys.stderr)
        return 1
    harness = Harness()
    console = Console(width=200)
    table = Table(title=f"XDP ns/packet through BPF_PROG_TEST_RUN (repeat {args.repeat}, "
                        f"best of {args.rounds}, mean over the STF's packets)")
    for column in ("example", "packets", "same output", "generated ns", "hand-written ns",
                   "ratio", "harness ns", "program ratio", "verified insns gen/hand",
                   "xlated insns gen/hand"):
        table.add_column(column, justify="right" if column != "example" else "left")
    for name in args.examples:
        r = bench_example(name, harness, args.repeat, args.rounds)
        table.add_row(r.name, str(r.packets), f"{r.same_output}/{r.packets}",
                      f"{r.generated_ns:.1f}", f"{r.baseline_ns:.1f}", f"{r.ratio:.3f}",
                      f"{r.harness_ns:.1f}", f"{r.program_ratio:.3f}",
                      f"{r.generated_insns}/{r.baseline_insns}",
                      f"{r.generated_xlated}/{r.baseline_xlated}")
    console.print(table)
    console.print("ratio = generated / hand-written, both through the harness; program ratio "
                  "subtracts the harness's own cost from both.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
