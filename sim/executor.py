"""One executor interface over every target.

The STF runner (``sim.stf``), ``wirespeed test``, ``wirespeed run`` and the conformance campaign
drive a program only through this interface, so a packet test means the same thing on the
reference model, in the kernel (XDP), on the P4 executor, in RTL simulation and on bmv2.

Table entries arrive already resolved against the IR (``ir.Entry``: one match per key in key
order, action arguments as integers); an executor writes them the way its target's control
plane would (BPF map updates, control-port writes, ``simple_switch_CLI`` commands).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

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


class ExecutorError(Exception):
    """The target refused something (an entry it cannot hold, a tool that failed); the message
    is for the user."""


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

    def close(self) -> None:
        """Release what the target holds (kernel objects, simulator processes)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
