"""The targets ``wirespeed compile --target`` knows, each imported only when asked for.

A backend registers ``"name": "module:function"`` here when it really works; the function is
``compile_program(program: ir.Program, outdir: pathlib.Path, entries: list | None) -> list[Path]``
and returns the files it wrote (``entries``: resolved STF table entries, or None).
"""

from __future__ import annotations

from pathlib import Path

BACKENDS: dict[str, str] = {
    "ir": "wirespeed.compiler.backends:compile_ir",
    "p4": "wirespeed.p4.compile:compile_program",
    "xdp": "wirespeed.xdp.compile:compile_program",
}


def compile_ir(program, outdir: Path, entries: list | None) -> list[Path]:
    """The IR after all passes as an s-expression (``PROGRAM.ir``), for reading and diffing."""
    from wirespeed.compiler import ir

    path = Path(outdir) / f"{program.name}.ir"
    path.write_text(ir.sexpr(program) + "\n")
    return [path]
