"""The lexer and parser on their own: literals, tricky token boundaries, spans."""

from __future__ import annotations

import pytest
from wirespeed.compiler import ast
from wirespeed.compiler.diagnostics import Reporter
from wirespeed.compiler.parse import parse_source


def parse(text: str) -> ast.SourceFile:
    reporter = Reporter()
    parsed = parse_source(text, "p.wire", reporter)
    assert parsed is not None, [d.message for d in reporter.diagnostics]
    return parsed


def const_value(text: str) -> ast.Expr:
    decl = parse(f"const C = {text};").decls[0]
    assert isinstance(decl, ast.ConstDecl)
    return decl.value


@pytest.mark.parametrize("text, value, kind", [
    ("42", 42, "number"), ("0x2A", 42, "number"), ("0b101010", 42, "number"),
    ("1_000", 1000, "number"), ("10.0.0.1", 0x0A000001, "ipv4"),
    ("02:00:00:00:00:01", 0x020000000001, "mac"), ("aa:BB:cc:dd:ee:ff", 0xAABBCCDDEEFF, "mac"),
    ("2001:db8::1", 0x20010DB8000000000000000000000001, "ipv6"), ("::", 0, "ipv6"),
    ("fe80::", 0xFE80 << 112, "ipv6"), ("1:2:3:4:5:6:7:8", 0x00010002000300040005000600070008,
                                        "ipv6"),
])
def test_literals(text: str, value: int, kind: str) -> None:
    lit = const_value(text)
    assert isinstance(lit, ast.IntLit) and (lit.value, lit.kind) == (value, kind)


def test_malformed_literals_parse_but_carry_no_value() -> None:
    for text in ("300.1.1.1", "1::2:3:4:5:6:7:8", "0x_"):
        lit = const_value(text)
        assert isinstance(lit, ast.IntLit) and lit.value == -1


def test_nested_angle_brackets_and_shifts() -> None:
    src = "register<bit<32>>[8] r;\nconst C = 1 >> 2 << 3;\n"
    reg, const = parse(src).decls
    assert isinstance(reg, ast.RegisterDecl) and (reg.width, reg.size) == (32, 8)
    assert isinstance(const, ast.ConstDecl) and isinstance(const.value, ast.Binary)
    assert const.value.op == "<<"


def test_slices_are_not_addresses() -> None:
    value = const_value("x[15:8]")
    assert isinstance(value, ast.SliceExpr)
    assert isinstance(value.hi, ast.IntLit) and value.hi.value == 15


def test_compound_assignment_and_comparison_tokens() -> None:
    decl = parse("control ingress { a.b += 1; a.b = a.b == 1; a.c = !a.d != 2; }").decls[0]
    assert isinstance(decl, ast.ControlDecl)
    first, second, third = decl.body
    assert isinstance(first, ast.AssignStmt) and first.op == "+"
    assert isinstance(second, ast.AssignStmt) and second.op is None
    assert isinstance(second.value, ast.Binary) and second.value.op == "=="
    assert isinstance(third, ast.AssignStmt) and isinstance(third.value, ast.Binary)
    assert isinstance(third.value.left, ast.Unary)


def test_spans_are_one_based_and_cover_the_text() -> None:
    value = const_value("ipv4.ttl + 1")
    assert isinstance(value, ast.Binary)
    assert (value.span.line, value.span.col, value.span.end_col) == (1, 11, 23)


def test_comments_of_every_kind() -> None:
    decls = parse("# a\n// b\n/* c\n d */ const C = /* inline */ 1; // end\n").decls
    assert len(decls) == 1
