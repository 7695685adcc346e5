"""Shared helpers for the front-end tests: small programs around one prelude."""

from __future__ import annotations

from wirespeed.compiler import ir
from wirespeed.compiler.frontend import compile_source

PRELUDE = """import std;
headers { ethernet: ethernet; ipv4: ipv4; udp: udp; }
metadata { a: bit<8>; b: bit<16>; c: bit<32>; port: bit<9>; colour: bit<2>; }
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select ipv4.protocol { 17: l4; _: accept; } }
  l4 { extract udp; next accept; }
}
"""


def compile_program(body: str, *, passes: bool = False) -> ir.Program:
    """The prelude plus ``body`` (declarations and a control), lowered."""
    return compile_source(PRELUDE + body, "unit.wire", passes=passes)


def ingress(control_body: str, decls: str = "", *, passes: bool = False) -> list[str]:
    """The lowered ingress statements of ``control ingress { control_body }``, as s-expressions."""
    program = compile_program(f"{decls}\ncontrol ingress {{\n{control_body}\n}}\n", passes=passes)
    return [ir.sexpr(s) for s in program.ingress]
