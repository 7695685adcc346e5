"""The front end's public face: ``.wire`` text in, ``ir.Program`` (or diagnostics) out.

    from wirespeed.compiler.frontend import load_program
    program = load_program("examples/acl.wire")      # raises CompileError on user errors

The stages: ``parse`` (lark, LALR) → ``check`` (names, types, parser graph, tables) →
``lower`` (to the IR) → ``passes.run_passes``. User errors are collected and raised together as
``CompileError(diagnostics)``; anything else that escapes is a compiler bug.
"""

from __future__ import annotations

import functools
from pathlib import Path

from wirespeed.compiler import ast, ir
from wirespeed.compiler.check import STD_FILE, Checker, std_source
from wirespeed.compiler.diagnostics import (
    CompileError,
    Diagnostic,
    Reporter,
    Severity,
    render,
    render_all,
)
from wirespeed.compiler.lower import lower
from wirespeed.compiler.messages import CANNOT_READ, TOO_DEEP
from wirespeed.compiler.parse import parse_source
from wirespeed.compiler.passes import run_passes

__all__ = [
    "CompileError", "Diagnostic", "Severity", "check_files", "check_source", "compile_source",
    "load_program", "render", "render_all", "std_header_types",
]


@functools.cache
def _std_ast() -> ast.SourceFile:
    reporter = Reporter()
    parsed = parse_source(std_source(), STD_FILE, reporter)
    if parsed is None or reporter.has_errors:
        raise RuntimeError(f"the standard library does not parse:\n{render_all(reporter.diagnostics)}")
    return parsed


@functools.cache
def std_header_types() -> dict[str, ir.HeaderType]:
    """The header types of ``std.wire`` by name."""
    main = ast.SourceFile("<std-only>", "", (ast.ImportDecl(ast.Ident("std")),))
    reporter = Reporter()
    reporter.add_source(STD_FILE, std_source())
    checked = Checker([_std_ast()], main, reporter)
    for d in _std_ast().decls:
        if isinstance(d, ast.HeaderDecl):
            checked.header_type(d)
    return dict(checked.c.header_types)


def _analyse(text: str, filename: str) -> tuple[ir.Program | None, list[Diagnostic]]:
    """Parse, check and lower; the program is None when there are errors."""
    reporter = Reporter()
    try:
        return _analyse_into(text, filename, reporter)
    except RecursionError:
        # the checker and lowering recurse over the tree; thousands of nested levels are a
        # program no one means to write, and deserve an error rather than a crash
        reporter.add_source(filename, text)
        TOO_DEEP.emit(reporter, ir.Span(filename, 1, 1, 1, 2))
        return None, reporter.diagnostics


def _analyse_into(text: str, filename: str,
                  reporter: Reporter) -> tuple[ir.Program | None, list[Diagnostic]]:
    parsed = parse_source(text, filename, reporter)
    if parsed is None:
        return None, reporter.diagnostics
    files = [parsed]
    if any(isinstance(d, ast.ImportDecl) and d.module.name == "std" for d in parsed.decls):
        reporter.add_source(STD_FILE, std_source())
        files.insert(0, _std_ast())
    checked = Checker(files, parsed, reporter).run()
    if reporter.has_errors:
        return None, reporter.diagnostics
    return lower(checked), reporter.diagnostics


def compile_source(text: str, filename: str, *, passes: bool = True) -> ir.Program:
    """Compile ``.wire`` text; ``filename`` is used in diagnostics and names the program
    (its stem). With ``passes`` (the default) the program has been through every pass
    (``Program.checksums`` is filled in); without, it is the IR as lowering made it."""
    program, diagnostics = _analyse(text, filename)
    if program is None:
        raise CompileError(diagnostics)
    return run_passes(program) if passes else program


def compile_with_warnings(text: str, filename: str) -> tuple[ir.Program, list[Diagnostic]]:
    """Like ``compile_source`` but also returns the warnings."""
    program, diagnostics = _analyse(text, filename)
    if program is None:
        raise CompileError(diagnostics)
    return run_passes(program), diagnostics


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reporter = Reporter()
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        CANNOT_READ.emit(reporter, ir.Span(str(path), 0, 0), path=str(path), reason=reason)
        raise CompileError(reporter.diagnostics) from None


def load_program(path: str | Path, *, passes: bool = True) -> ir.Program:
    """Read and compile a ``.wire`` file (see ``compile_source``)."""
    return compile_source(_read(path), str(path), passes=passes)


def check_source(text: str, filename: str) -> list[Diagnostic]:
    """Every diagnostic (errors and warnings) for one file, sorted by place."""
    _, diagnostics = _analyse(text, filename)
    return sorted(diagnostics, key=Diagnostic.sort_key)


def check_files(paths: list[str] | list[Path]) -> list[Diagnostic]:
    """Every diagnostic for each file, file by file; a file that cannot be read gives E0009."""
    out: list[Diagnostic] = []
    for path in paths:
        try:
            text = _read(path)
        except CompileError as err:
            out.extend(err.diagnostics)
            continue
        out.extend(check_source(text, str(path)))
    return out
