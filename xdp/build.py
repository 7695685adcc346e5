"""Rendering the C file and building it with clang (``-O2 -target bpf``).

Tools are found on PATH, or through ``CLANG`` and ``BPFTOOL`` environment variables.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import jinja2
from wirespeed.compiler import ir
from wirespeed.compiler.crc import _CRC16_TABLE
from wirespeed.xdp.codegen import Generated, generate
from wirespeed.xdp.layout import ctype
from wirespeed.xdp.tables import c_ident

TEMPLATES = Path(__file__).with_name("templates")
# clang finds <asm/types.h> only with the multiarch include path on Debian.
CFLAGS = ["-O2", "-g", "-target", "bpf", "-Wall", "-Wno-unused-label",
          "-Wno-unused-function", "-Wno-unused-variable", "-I/usr/include/x86_64-linux-gnu"]
MIN_CLANG = 11


class BuildError(Exception):
    """clang is missing or refused the generated C; the message is for the user."""


def clang_path() -> str | None:
    return os.environ.get("CLANG") or shutil.which("clang")


@functools.cache
def clang_version() -> int | None:
    path = clang_path()
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             check=False).stdout
    except OSError:
        return None
    found = re.search(r"clang version (\d+)", out)
    return int(found.group(1)) if found else None


def clang_problem() -> str | None:
    version = clang_version()
    if version is None:
        return "clang not found (install clang, or set CLANG)"
    if version < MIN_CLANG:
        return f"clang {version} is too old (need {MIN_CLANG} or newer)"
    if not Path("/usr/include/bpf/bpf_helpers.h").exists():
        return "libbpf headers not found (install libbpf-dev)"
    return None


def _crc32_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
        table.append(crc)
    return table


def _c_table(values: list[int] | tuple[int, ...], digits: int) -> str:
    rows = []
    for i in range(0, len(values), 8):
        rows.append("\t" + ", ".join(f"0x{v:0{digits}x}" for v in values[i:i + 8]) + ",")
    return "\n".join(rows)


def function_name(program: ir.Program) -> str:
    return f"xdp_{c_ident(program.name)}"[:60]


def render(program: ir.Program, generated: Generated | None = None) -> str:
    g = generated or generate(program)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["cident"] = c_ident
    template = env.get_template("program.c.j2")
    start = program.start.name
    return template.render(
        g=g, program=program, source=program.start.span.file if program.start.span.line
        else program.name, function=function_name(program),
        start_label=f"state_{c_ident(start)}",
        register_types={r.name: ctype(r.width) for r in program.registers},
        crc16_table=_c_table(_CRC16_TABLE, 4), crc32_table=_c_table(_crc32_table(), 8))


def build_object(c_file: Path, o_file: Path) -> None:
    problem = clang_problem()
    if problem:
        raise BuildError(problem)
    path = clang_path()
    assert path
    result = subprocess.run([path, *CFLAGS, "-c", str(c_file), "-o", str(o_file)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"clang failed on {c_file}:\n{result.stderr.strip()}")
