"""The targets ``wirespeed compile --target`` knows, each imported only when asked for.

A backend registers ``"name": "module:function"`` here when it really works; the function is
``compile_program(program: ir.Program, outdir: pathlib.Path, entries: list | None) -> list[Path]``
and returns the files it wrote (``entries``: resolved STF table entries, or None).
``entries`` is the list of table ops (``sim.executor.AddEntry``/``SetDefault``) of the
``--entries`` STF file; a function with the attribute ``takes_stf_test = True`` gets the
whole ``sim.stf.StfTest`` instead (packets, expects, meters too), to rewrite the test.
"""

from __future__ import annotations

from pathlib import Path

BACKENDS: dict[str, str] = {
    "ir": "wirespeed.compiler.backends:compile_ir",
    "fpga": "wirespeed.hdl.compile:compile_program",
    "p4": "wirespeed.p4.compile:compile_program",
    "xdp": "wirespeed.xdp.compile:compile_program",
}


def compile_ir(program, outdir: Path, entries: list | None) -> list[Path]:
    """The IR after all passes as an s-expression (``PROGRAM.ir``), for reading and diffing."""
    from dataclasses import fields

    from wirespeed.compiler import ir

    # One top-level part per line, one declaration per line inside it, so the file diffs well.
    lines = [f"(Program :name {ir.sexpr(program.name)}"]
    for f in fields(program):
        value = getattr(program, f.name)
        if f.name in ("name", "source") or value == ():
            continue
        if isinstance(value, tuple):
            lines.append(f"  :{f.name} (")
            lines += [f"    {ir.sexpr(item)}" for item in value]
            lines[-1] += ")"
        else:
            lines.append(f"  :{f.name} {ir.sexpr(value)}")
    lines[-1] += ")"
    path = Path(outdir) / f"{program.name}.ir"
    path.write_text("\n".join(lines) + "\n")
    return [path]
