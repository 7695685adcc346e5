"""The P4 backend: P4_16 for bmv2's v1model architecture, its simple_switch_CLI commands and
the STF rewritten for p4c's runner (docs/p4.md)."""

from wirespeed.p4.compile import compile_program, p4_text
from wirespeed.p4.emit import build_output

__all__ = ["build_output", "compile_program", "p4_text"]
