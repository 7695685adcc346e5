"""The native Verilator harness (``sim/native/harness.cpp``): bulk FPGA runs without Python
in the clock loop.

It takes the same steps as the cocotb bench (``sim.fpga.run_steps``: control-port writes and
reads, bursts of packets with random idle cycles and backpressure) and gives the same results,
so ``FpgaExecutor`` can use either (``driver = "native"``). cocotb stays the bench of the
behavioural tests; the conformance campaigns use this one.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import tempfile
from pathlib import Path

from wirespeed.sim.executor import ExecutorError

HARNESS = Path(__file__).resolve().parent / "native" / "harness.cpp"


def native_harness(vfile: Path, width: int, build_root: Path, env: dict[str, str], *,
                   optimize: bool = False) -> Path:
    """The harness binary for this Verilog (built once, cached by Verilog and harness).

    Campaigns build a model per program and run it briefly: unoptimised C++ builds in about
    half the time (16 s against 29 s for the ACL pipeline) and runs at 55,000 clocks per
    second. ``optimize`` (Verilator -O3, C++ -O2) runs at 520,000, for long benches."""
    digest = hashlib.sha256(vfile.read_bytes() + HARNESS.read_bytes() +
                            Path(__file__).read_bytes() +
                            f"{width}/{optimize}".encode()).hexdigest()[:16]
    build_dir = build_root / "native" / digest
    binary = build_dir / "harness"
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(build_dir.parent / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return binary
        build_env = dict(env)
        # the wheel's verilated.mk leaves the precompiled-header flag empty (see sim/fpga.py)
        level = "OPT_FAST=-O2 OPT_SLOW=-O1" if optimize else "OPT_FAST=-O0 OPT_SLOW=-O0"
        build_env["MAKEFLAGS"] = f"CFG_CXXFLAGS_PCH_I=-include {level} OPT_GLOBAL=-O0"
        command = ["verilator", "--cc", "--exe", "--build", "-j", "2",
                   "--top-module", "wirespeed_top", "--prefix", "Vtop", "-O3",
                   "--x-assign", "fast", "--x-initial", "fast", "--noassert",
                   "-Wno-fatal", "-Wno-WIDTH", "-CFLAGS", f"-DWIDTH={width}",
                   "-Mdir", str(build_dir), "-o", "harness", str(HARNESS), str(vfile)]
        done = subprocess.run(command, env=build_env, capture_output=True, text=True)
        if done.returncode != 0 or not binary.is_file():
            raise ExecutorError("Verilator failed to build the native harness:\n" +
                                (done.stdout + done.stderr)[-2000:])
    return binary


def _script(steps: list[dict], seed: int, idle: float, backpressure: float) -> str:
    lines = [f"seed {seed} idle {idle} backpressure {backpressure}"]
    for step in steps:
        if "write" in step:
            lines += [f"W {a:x} {d:x}" for a, d in step["write"]]
            lines.append("E")
        elif "read" in step:
            lines += [f"R {a:x}" for a in step["read"]]
            lines.append("E")
        elif "packets" in step:
            lines.append(f"P {len(step['packets'])}")
            lines += [f"{tag} {port} {h or '-'}" for tag, port, h in step["packets"]]
    return "\n".join(lines) + "\n"


def run_steps_native(binary: Path, steps: list[dict], *, seed: int = 1, idle: float = 0.3,
                     backpressure: float = 0.3) -> list:
    """Run the steps; one result per step, shaped as ``sim.fpga.run_steps`` gives them."""
    with tempfile.TemporaryDirectory(prefix="wirespeed-native-") as tmp:
        script, results = Path(tmp) / "script.txt", Path(tmp) / "results.txt"
        script.write_text(_script(steps, seed, idle, backpressure))
        done = subprocess.run([str(binary), str(script), str(results)], capture_output=True,
                              text=True)
        if done.returncode != 0 or not results.is_file():
            raise ExecutorError(f"the native RTL simulation failed ({done.returncode}): "
                                f"{done.stderr[-1000:]}")
        lines = results.read_text().splitlines()
    out: list = []
    errors = [line[2:] for line in lines if line.startswith("! ")]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == "W":
            out.append(None)
        elif line.startswith("R"):
            out.append([int(v, 16) for v in line.split()[1:]])
        elif line.startswith("P "):
            _, cycles, in_beats, out_beats, *marks = line.split()
            stats = {"in_beats": int(in_beats), "out_beats": int(out_beats)}
            for key, mark in zip(("first_in", "last_in", "first_out", "last_out"), marks,
                                 strict=True):
                if int(mark) >= 0:
                    stats[key] = int(mark)
            outputs: dict[str, list] = {}
            i += 1
            while lines[i] != ".":
                _, tag, port, data = lines[i].split()
                outputs.setdefault(tag, []).append([int(port), "" if data == "-" else data])
                i += 1
            out.append({"cycles": int(cycles), "outputs": outputs, "stats": stats})
        i += 1
    if errors:
        raise ExecutorError("RTL simulation: " + "; ".join(errors[:5]))
    if len(out) != len(steps):
        raise ExecutorError(f"the native RTL simulation answered {len(out)} of {len(steps)} "
                            "steps")
    return out

