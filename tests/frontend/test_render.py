"""How a diagnostic looks: header line, source line, caret, notes; and CompileError's text."""

from __future__ import annotations

from wirespeed.compiler.diagnostics import (
    CompileError,
    Diagnostic,
    Note,
    Severity,
    render,
    summary_line,
)
from wirespeed.compiler.ir import Span

SOURCE = "header h {\n\ta: bit<8>;\n  b: bit<9>;\n}\n"


def diag(span: Span, notes: tuple[Note, ...] = (), severity: Severity = Severity.ERROR
         ) -> Diagnostic:
    return Diagnostic(severity, "E0001", "something", span, notes, SOURCE)


def test_caret_covers_the_span_and_tabs_become_spaces() -> None:
    assert render(diag(Span("f.wire", 2, 5, 2, 11))) == (
        "f.wire:2:5: error[E0001]: something\n"
        "    2 |  a: bit<8>;\n"
        "      |     ^~~~~~"
    )


def test_multi_line_span_underlines_to_the_end_of_its_first_line() -> None:
    out = render(diag(Span("f.wire", 1, 8, 4, 2)))
    assert out.splitlines()[2] == "      |        ^~~"


def test_notes_with_and_without_a_place() -> None:
    notes = (Note("first here", Span("f.wire", 3, 3, 3, 4), SOURCE), Note("try this"))
    assert render(diag(Span("f.wire", 1, 1, 1, 7), notes)).splitlines()[3:] == [
        "f.wire:3:3: note: first here",
        "    3 |   b: bit<9>;",
        "      |   ^",
        "note: try this",
    ]


def test_span_past_the_end_points_after_the_last_character() -> None:
    out = render(diag(Span("f.wire", 9, 1)))
    assert out.splitlines()[1:] == ["    4 | }", "      |  ^"]


def test_warning_and_summary() -> None:
    w = diag(Span("f.wire", 1, 1, 1, 2), severity=Severity.WARNING)
    e = diag(Span("f.wire", 1, 1, 1, 2))
    assert render(w).startswith("f.wire:1:1: warning[E0001]: something")
    assert summary_line([w, e, e]) == "2 errors, 1 warning generated."
    assert summary_line([]) == ""


def test_compile_error_sorts_and_renders_everything() -> None:
    late, early = diag(Span("f.wire", 3, 1, 3, 2)), diag(Span("f.wire", 1, 1, 1, 2))
    err = CompileError([late, early])
    assert err.diagnostics == [early, late]
    assert str(err).startswith("f.wire:1:1: error[E0001]")
    assert "f.wire:3:1" in str(err)
