"""The reference target: the IR interpreter of ``compiler.model`` behind the executor
interface. Every other target is judged against what this one does."""

from __future__ import annotations

from wirespeed.compiler import ir
from wirespeed.compiler.model import ModelError, Pipeline
from wirespeed.sim.executor import CounterValue, Executor, ExecutorError, Output


class ReferenceExecutor(Executor):
    """Runs packets through ``compiler.model.Pipeline``.

    ``now`` (seconds) is the time the meters see; it stays where the caller puts it
    (``wirespeed run`` sets it from pcap timestamps, STF tests leave it at 0)."""

    target = "reference"

    def __init__(self, program: ir.Program) -> None:
        super().__init__(program)
        self.pipeline = Pipeline(program)
        self.now = 0.0

    @staticmethod
    def unavailable_reason() -> str | None:
        return None  # pure Python: always available

    def add_entry(self, table: str, entry: ir.Entry) -> int:
        try:
            return self.pipeline.add_entry(table, entry)
        except ModelError as e:
            raise ExecutorError(str(e)) from None

    def set_default(self, table: str, call: ir.ActionCall) -> None:
        try:
            self.pipeline.set_default(table, call)
        except ModelError as e:
            raise ExecutorError(str(e)) from None

    def send(self, port: int, data: bytes) -> list[Output]:
        return [Output(p, d) for p, d in self.pipeline.process(port, data, self.now)]

    def read_counter(self, table: str, handle: int | None) -> CounterValue:
        try:
            counter = self.pipeline.read_counter(table, handle)
        except ModelError as e:
            raise ExecutorError(str(e)) from None
        return CounterValue(counter.packets, counter.bytes)

    def read_register(self, register: str, index: int) -> int:
        try:
            return self.pipeline.read_register(register, index)
        except ModelError as e:
            raise ExecutorError(str(e)) from None

    def set_meter(self, meter: str, index: int, cir: int, cburst: int, pir: int,
                  pburst: int) -> None:
        try:
            self.pipeline.set_meter(meter, index, cir, cburst, pir, pburst)
        except ModelError as e:
            raise ExecutorError(str(e)) from None
