"""The P4 executor: parses the P4_16 text the backend emits and runs it with v1model
semantics, so ``wirespeed test --target p4`` tests the P4 code itself."""

from wirespeed.sim.p4exec.executor import P4Executor
from wirespeed.sim.p4exec.machine import P4ExecError, V1Machine
from wirespeed.sim.p4exec.syntax import P4SyntaxError, parse_p4

__all__ = ["P4ExecError", "P4Executor", "P4SyntaxError", "V1Machine", "parse_p4"]
