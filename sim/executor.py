"""One executor interface over every target.

The STF runner (``sim.stf``), ``wirespeed test``, ``wirespeed run`` and the conformance campaign
drive a program only through this interface, so a packet test means the same thing on the
reference model, in the kernel (XDP), on the P4 executor, in RTL simulation and on bmv2.

The STF runner calls ``set_meter`` for the file's ``meter`` lines first, then ``run_script``
once with every op, then ``read_register`` for its ``check_register`` lines; the reference
executor (``sim.reference``) defines the expected results.

Table entries arrive already resolved against the IR (``ir.Entry``: one match per key in key
order, action arguments as integers); an executor writes them the way its target's control
plane would (BPF map updates, control-port writes, ``simple_switch_CLI`` commands).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union, assert_never

from wirespeed.compiler import ir


@dataclass(frozen=True)
class Output:
    """A packet that left the pipeline: the egress port and its bytes (no FCS)."""

    port: int
    data: bytes


@dataclass(frozen=True)
class CounterValue:
    packets: int
    bytes: int


# One step of a packet test. ``Executor.run_script`` runs a list of them in order; targets whose
# simulator lives in another process (RTL under cocotb) run the whole list in one go.


@dataclass(frozen=True)
class AddEntry:
    table: str
    entry: ir.Entry


@dataclass(frozen=True)
class SetDefault:
    table: str
    call: ir.ActionCall


@dataclass(frozen=True)
class SendPacket:
    port: int
    data: bytes


@dataclass(frozen=True)
class ReadCounter:
    table: str
    handle: int | None


Op = Union[AddEntry, SetDefault, SendPacket, ReadCounter]
# What each op gives back: AddEntry -> int (handle), SetDefault -> None,
# SendPacket -> list[Output], ReadCounter -> CounterValue.
OpResult = Union[int, None, list[Output], CounterValue]


class ExecutorError(Exception):
    """The target refused something (an entry it cannot hold, a tool that failed); the message
    is for the user."""


class TargetLimit(ExecutorError):
    """The target cannot build this program at all, by a limit its documentation states (an
    FPGA pipeline reads each register once, say). Not a wrong answer: conformance campaigns
    count these apart from differences."""


class Executor(ABC):
    """A program loaded on one target. Use as a context manager so targets can clean up."""

    #: the name used by ``--target``
    target: str = ""

    def __init__(self, program: ir.Program) -> None:
        self.program = program

    @abstractmethod
    def add_entry(self, table: str, entry: ir.Entry) -> int:
        """Insert a run-time entry; returns a handle for ``read_counter``. Entries are numbered
        from 0 in the order they are added, per table."""

    @abstractmethod
    def set_default(self, table: str, call: ir.ActionCall) -> None:
        """Change the action a table runs on a miss."""

    @abstractmethod
    def send(self, port: int, data: bytes) -> list[Output]:
        """Process one packet arriving on ``port``; return what leaves (empty when dropped)."""

    @abstractmethod
    def read_counter(self, table: str, handle: int | None) -> CounterValue:
        """The direct counter of an entry (``None``: the table's misses)."""

    def read_register(self, register: str, index: int) -> int:
        raise ExecutorError(f"target {self.target!r} cannot read registers")

    def set_meter(self, meter: str, index: int, cir: int, cburst: int, pir: int,
                  pburst: int) -> None:
        """Configure a meter cell (rates per second, bursts in the meter's unit)."""
        raise ExecutorError(f"target {self.target!r} has no meters")

    def run_script(self, ops: Sequence[Op]) -> list[OpResult]:
        """Run ops in order and return one result per op. Override to batch."""
        results: list[OpResult] = []
        for op in ops:
            match op:
                case AddEntry(table, entry):
                    results.append(self.add_entry(table, entry))
                case SetDefault(table, call):
                    results.append(self.set_default(table, call))
                case SendPacket(port, data):
                    results.append(self.send(port, data))
                case ReadCounter(table, handle):
                    results.append(self.read_counter(table, handle))
                case _:
                    assert_never(op)
        return results

    def close(self) -> None:
        """Release what the target holds (kernel objects, simulator processes)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
