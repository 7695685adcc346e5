"""The targets ``--target`` knows, each an ``Executor`` imported only when asked for."""

from __future__ import annotations

import importlib

from wirespeed.compiler import ir
from wirespeed.sim.executor import Executor, ExecutorError

# name -> "module:class". A backend adds its line here when its executor lands.
TARGETS: dict[str, str] = {
    "reference": "wirespeed.sim.reference:ReferenceExecutor",
    "p4": "wirespeed.sim.p4exec:P4Executor",
    "xdp": "wirespeed.sim.xdp:XdpExecutor",
    "fpga": "wirespeed.sim.fpga:FpgaExecutor",
}


def executor_class(target: str) -> type[Executor]:
    if target not in TARGETS:
        known = ", ".join(TARGETS)
        raise ExecutorError(f"unknown target {target!r} (known: {known})")
    module, cls = TARGETS[target].split(":")
    return getattr(importlib.import_module(module), cls)


def unavailable_reason(target: str) -> str | None:
    """Why a target cannot run on this machine (a missing tool, not root), or None."""
    cls = executor_class(target)
    check = getattr(cls, "unavailable_reason", None)
    return check() if check else None


def open_executor(target: str, program: ir.Program) -> Executor:
    reason = unavailable_reason(target)
    if reason:
        raise ExecutorError(f"target {target!r} is not available here: {reason}")
    return executor_class(target)(program)
