"""Diagnostics: what the front end tells a user about their program, and how it is printed.

A diagnostic has a stable code from ``compiler.messages``, a place (``ir.Span``), a message and
optional notes pointing at related places. Rendering follows the compilers people know::

    acl.wire:12:11: error[E0103]: unknown header `ethernt`
       12 |   extract ethernt;
          |           ^~~~~~~
    acl.wire:3:3: note: headers declared here
        3 | headers {
          | ^

User errors are collected (``Reporter``) and raised together as one ``CompileError``; a bug
in the compiler itself is any other exception, and the CLI prints it as an internal error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from wirespeed.compiler.ir import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Note:
    message: str
    span: Span | None = None
    #: the text of ``span.file`` (so a note can show its own source line)
    source: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    span: Span
    notes: tuple[Note, ...] = ()
    source: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.col, self.code)


class CompileError(Exception):
    """The program has errors. ``diagnostics`` holds all of them (and any warnings)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        first = next((d for d in self.diagnostics if d.is_error), None)
        summary = f"{first.span}: {first.message}" if first else "compile error"
        super().__init__(summary)

    def __str__(self) -> str:
        return render_all(self.diagnostics)


def source_excerpt(span: Span, source: str | None) -> list[str]:
    """The source line and the caret line under ``span``, gutter included."""
    if source is None or span.line < 1:
        return []
    lines = source.splitlines()
    if span.line > len(lines):
        # the end of the file: point just after the last character
        text = lines[-1] if lines else ""
        line_no, col, end_col = len(lines) or 1, len(text) + 1, len(text) + 2
    else:
        text = lines[span.line - 1]
        line_no, col = span.line, max(span.col, 1)
        if span.end_line == span.line and span.end_col > span.col:
            end_col = span.end_col
        elif span.end_line > span.line:
            end_col = max(len(text) + 1, col + 1)
        else:
            end_col = col + 1
    text = text.replace("\t", " ")
    width = max(end_col - col, 1)
    gutter = f"{line_no:>5}"
    caret = " " * (col - 1) + "^" + "~" * (width - 1)
    return [f"{gutter} | {text}".rstrip(), f"{' ' * len(gutter)} | {caret}"]


def render(diagnostic: Diagnostic) -> str:
    """The full text of one diagnostic: header line, source line, caret line, notes."""
    d = diagnostic
    where = str(d.span) if d.span.line > 0 else d.span.file
    out = [f"{where}: {d.severity.value}[{d.code}]: {d.message}"]
    out += source_excerpt(d.span, d.source)
    for note in d.notes:
        if note.span is None:
            out.append(f"note: {note.message}")
        else:
            out.append(f"{note.span}: note: {note.message}")
            out += source_excerpt(note.span, note.source)
    return "\n".join(out)


def render_all(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(render(d) for d in sorted(diagnostics, key=Diagnostic.sort_key))


def summary_line(diagnostics: list[Diagnostic]) -> str:
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) + " generated." if parts else ""


class Reporter:
    """Collects the diagnostics of one compilation; knows every file's text."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}
        self.diagnostics: list[Diagnostic] = []

    def add_source(self, path: str, text: str) -> None:
        self.sources[path] = text

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def make(self, severity: Severity, code: str, message: str, span: Span,
             notes: tuple[tuple[str, Span | None], ...] = ()) -> Diagnostic:
        return Diagnostic(
            severity, code, message, span,
            tuple(Note(text, s, self.sources.get(s.file) if s else None) for text, s in notes),
            self.sources.get(span.file),
        )

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise CompileError(self.diagnostics)
