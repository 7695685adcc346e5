"""The NIC in RTL simulation as an STF executor: table entries travel as in-band control
frames (EtherType 0x88B5) and packets as Ethernet frames at the RGMII pins, under cocotb and
Verilator, exactly as a host would drive a board.

The whole script runs in one simulation from reset (``run_script``). A simulation cannot be
paused between calls, so every call replays the ops of the calls before it first: the
single-op methods are correct but slow; ``sim.stf.run_stf`` uses one ``run_script``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import assert_never

from amaranth.lib import wiring
from wirespeed.boards import protocol, simulate
from wirespeed.boards.nic import Nic, NicConfig
from wirespeed.boards.pipeline import ProgramPipeline, control_plane
from wirespeed.compiler import ir
from wirespeed.hdl.tables import DEFAULT_LIMITS, TableLimits
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

TB_DIR = Path(__file__).resolve().parent.parent / "tests" / "boards"
HOST_MAC = 0x02_00_00_00_00_FE
SYNC_PERIOD_PS = 16000  # 62.5 MHz pipeline clock: 4 Gb/s at 64 bits, two ports need 2


@dataclass(frozen=True)
class Step:
    port: int       # index of the Ethernet port (not the pipeline's port number)
    frame: bytes    # without FCS; padded to 60 bytes by the sender unless exact_lengths
    kind: str       # "packet" | "control" (in-band) | "uart" (bytes for the control UART)


@dataclass(frozen=True)
class Received:
    port: int       # index of the Ethernet port (-1: the answer on the control UART)
    data: bytes


def work_dir() -> Path:
    path = Path(os.environ.get("WIRESPEED_SIM_DIR", Path(tempfile.gettempdir())
                               / "wirespeed-boards-sim"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_nic(config: NicConfig, pipeline: Callable[[], wiring.Component],
            steps: Sequence[Step], settle_ns: int = 1500) -> list[list[Received]]:
    """Runs ``steps`` on the NIC at its pins; returns what came out during each step."""
    directory = work_dir()
    fd, result_name = tempfile.mkstemp(suffix=".json", dir=directory)
    os.close(fd)
    result = Path(result_name)
    script = directory / f"{result.stem}-script.json"
    script.write_text(json.dumps({
        "ports": len(config.ports), "sync_period_ps": SYNC_PERIOD_PS, "settle_ns": settle_ns,
        "pad_to": 0 if config.exact_lengths else 60, "uart_divisor": config.uart_divisor,
        "result": str(result),
        "steps": [{"port": s.port, "frame": s.frame.hex(), "kind": s.kind,
                   "answer_bytes": protocol.UART_RESPONSE_BYTES} for s in steps],
    }))
    try:
        tests, failures = simulate.run(Nic(config, pipeline()), "nic", "tb_nic", TB_DIR,
                                       directory, {"WIRESPEED_NIC_SCRIPT": str(script)})
        outputs = json.loads(result.read_text()) if result.stat().st_size else None
    finally:
        script.unlink(missing_ok=True)
        result.unlink(missing_ok=True)
    if failures or tests != 1 or outputs is None:
        raise ExecutorError("the NIC simulation failed (see the cocotb log above)")
    per_step: list[list[Received]] = [[] for _ in steps]
    for out in outputs:
        if out["step"] >= 0:
            per_step[out["step"]].append(Received(out["port"], bytes.fromhex(out["data"])))
    return per_step


class RgmiiExecutor(Executor):
    """Target ``rgmii``: the program's pipeline inside the NIC, driven at the RGMII pins."""

    target = "rgmii"

    def __init__(self, program: ir.Program, ports: Sequence[int] = (0, 1, 2, 3, ir.HOST_PORT),
                 width: int = 64, limits: TableLimits = DEFAULT_LIMITS) -> None:
        super().__init__(program)
        self.ports = tuple(ports)
        self.width = width
        self.limits = limits  # as a board builds it (``Board.limits``)
        # Packet tests carry runts and jumbo frames and check exact lengths.
        self.config = NicConfig(width=width, ports=self.ports, exact_lengths=True,
                                max_frame_bytes=16384)
        self._history: list[Op] = []
        self._registers: dict[tuple[str, int], int] | None = None

    @staticmethod
    def unavailable_reason() -> str | None:
        return None if simulate.verilator_path() else "verilator not found (run `make setup`)"

    def run_script(self, ops: Sequence[Op]) -> list[OpResult]:
        results = self._run([*self._history, *ops])
        self._history.extend(ops)
        return results[len(results) - len(ops):]

    def read_register(self, register: str, index: int) -> int:
        """From the read-back of every register cell at the end of the last run."""
        names = [r.name for r in self.program.registers]
        if register not in names:
            raise ExecutorError(f"no register {register!r}")
        reg = self.program.register(register)
        if not 0 <= index < reg.size:
            return 0
        if self._registers is None:
            self._run(list(self._history))
        assert self._registers is not None
        return self._registers[(register, index)]

    def _register_reads(self) -> list[tuple[str, int, list[int]]]:
        """Every register cell as (register, index, word addresses)."""
        from wirespeed.hdl.pipeline import REGION_REGISTER, REGISTER_UNIT, control_address

        cells = []
        for number, reg in enumerate(self.program.registers):
            words = -(-reg.width // 32)
            for index in range(reg.size):
                cells.append((reg.name, index, [
                    control_address(REGISTER_UNIT + number, REGION_REGISTER, index * 4 + w)
                    for w in range(words)]))
        return cells

    def _run(self, ops: Sequence[Op]) -> list[OpResult]:
        control = control_plane(self.program, self.width, self.limits)
        steps: list[Step] = []
        # What each op gives back, filled in once the simulation has run.
        plans: list[tuple[str, object]] = []
        pending: list[protocol.Record] = []

        def flush() -> None:
            for frame in protocol.control_frames(pending, self.config.board_mac, HOST_MAC):
                steps.append(Step(0, frame, "control"))
            pending.clear()

        for op in ops:
            match op:
                case AddEntry(table, entry):
                    handle, writes = control.add_entry(table, entry)
                    pending.extend(protocol.write(a, d) for a, d in writes)
                    plans.append(("value", handle))
                case SetDefault(table, call):
                    writes = control.set_default(table, call)
                    pending.extend(protocol.write(a, d) for a, d in writes)
                    plans.append(("value", None))
                case SendPacket(port, data):
                    flush()
                    if port not in self.ports:
                        raise ExecutorError(f"the simulated NIC has no port {port}")
                    steps.append(Step(self.ports.index(port), data, "packet"))
                    plans.append(("packet", len(steps) - 1))
                case ReadCounter(table, handle):
                    flush()
                    reads = [protocol.read(a)
                             for a in control.counter_addresses(table, handle)]
                    pending.extend(reads)
                    flush()
                    plans.append(("counter", len(steps) - 1))
                case _:
                    assert_never(op)
        flush()
        # Read back every register cell at the end, for ``read_register``.
        register_cells = self._register_reads()
        register_steps = len(steps)
        pending.extend(protocol.read(a) for _, _, addrs in register_cells for a in addrs)
        flush()
        per_step = run_nic(self.config, lambda: ProgramPipeline(self.program, self.width, self.limits),
                           steps)
        for step, received in zip(steps, per_step, strict=True):
            if step.kind == "control":
                self._check_reply(step, received)
        words = [r.data for step, received in zip(steps[register_steps:],
                                                  per_step[register_steps:], strict=True)
                 for r in self._check_reply(step, received)]
        self._registers = {}
        for name, index, addrs in register_cells:
            cell = words[:len(addrs)]
            del words[:len(addrs)]
            self._registers[(name, index)] = sum(v << (32 * w) for w, v in enumerate(cell))
        results: list[OpResult] = []
        for kind, value in plans:
            if kind == "value":
                results.append(value)  # type: ignore[arg-type]
            elif kind == "packet":
                assert isinstance(value, int)
                results.append([Output(self.ports[r.port], r.data) for r in per_step[value]
                                if not protocol.is_control_reply(r.data)])
            else:
                assert isinstance(value, int)
                responses = self._check_reply(steps[value], per_step[value])
                packets, nbytes = control.counter_value([r.data for r in responses])
                results.append(CounterValue(packets, nbytes))
        return results

    @staticmethod
    def _check_reply(step: Step, received: list[Received]) -> list[protocol.Response]:
        replies = [r for r in received if protocol.is_control_reply(r.data)]
        if len(replies) != 1:
            raise ExecutorError(f"expected one control reply, got {len(replies)}")
        records = protocol.parse_request(step.frame)
        responses = protocol.parse_reply(replies[0].data)
        protocol.check_responses(records, responses)
        return responses

    def add_entry(self, table: str, entry: ir.Entry) -> int:
        result = self.run_script([AddEntry(table, entry)])[0]
        assert isinstance(result, int)
        return result

    def set_default(self, table: str, call: ir.ActionCall) -> None:
        self.run_script([SetDefault(table, call)])

    def send(self, port: int, data: bytes) -> list[Output]:
        result = self.run_script([SendPacket(port, data)])[0]
        assert isinstance(result, list)
        return result

    def read_counter(self, table: str, handle: int | None) -> CounterValue:
        result = self.run_script([ReadCounter(table, handle)])[0]
        assert isinstance(result, CounterValue)
        return result
