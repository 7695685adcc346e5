"""The targets ``wirespeed compile --target`` knows, each imported only when asked for.

A backend registers ``"name": "module:function"`` here when it really works; the function is
``compile_program(program: ir.Program, outdir: pathlib.Path, entries: list | None) -> list[Path]``
and returns the files it wrote (``entries``: resolved STF table entries, or None).
"""

from __future__ import annotations

BACKENDS: dict[str, str] = {}
