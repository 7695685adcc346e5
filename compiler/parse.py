"""Text to AST: the lark grammar (``grammar.lark``, LALR) and a Transformer that only builds
``compiler.ast`` nodes. Syntax errors become our own diagnostics (``E00xx``)."""

from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.tree import Meta
from wirespeed.compiler import ast
from wirespeed.compiler import messages as msg
from wirespeed.compiler.diagnostics import Reporter
from wirespeed.compiler.ir import Span

GRAMMAR = Path(__file__).with_name("grammar.lark")


@functools.cache
def _parser() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", lexer="contextual",
                propagate_positions=True, maybe_placeholders=True, cache=True)


# ------------------------------------------------------------------------------- literals


def parse_number(text: str) -> int | None:
    digits = text.replace("_", "")
    try:
        if digits[:2] in ("0x", "0X"):
            return int(digits[2:], 16)
        if digits[:2] in ("0b", "0B"):
            return int(digits[2:], 2)
        return int(digits, 10)
    except ValueError:
        return None


def parse_literal(token: Token) -> tuple[int | None, str]:
    """The value of a literal token (None when malformed, e.g. ``300.1.1.1``) and its kind."""
    text = str(token)
    match token.type:
        case "NUMBER":
            return parse_number(text), ast.LitKind.NUMBER
        case "IPV4":
            octets = [int(o) for o in text.split(".")]
            if any(o > 255 for o in octets):
                return None, ast.LitKind.IPV4
            return int.from_bytes(bytes(octets), "big"), ast.LitKind.IPV4
        case "MAC":
            return int(text.replace(":", ""), 16), ast.LitKind.MAC
        case "IPV6":
            try:
                return int(ipaddress.IPv6Address(text)), ast.LitKind.IPV6
            except ValueError:
                return None, ast.LitKind.IPV6
    raise AssertionError(f"not a literal token: {token.type}")


# ---------------------------------------------------------------------------- transformer

#: binding strength of the binary operators (higher binds tighter), as in C and P4 except that
#: comparisons bind looser than the bitwise operators (`a & m == v` means `(a & m) == v`)
PRECEDENCE = {
    "||": 1, "&&": 2,
    "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
    "|": 4, "^": 5, "&": 6, "<<": 7, ">>": 7, "++": 8, "+": 9, "-": 9, "*": 10,
}


def _join(first: Span, last: Span) -> Span:
    return Span(first.file, first.line, first.col, last.end_line, last.end_col)



class _Builder(Transformer_NonRecursive):
    """Builds AST nodes; knows nothing about what names mean. (Iterative, so a deeply nested
    expression cannot exhaust Python's stack here.)"""

    def __init__(self, path: str) -> None:
        super().__init__(visit_tokens=False)
        self.path = path

    def span(self, meta: Meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.path, 0, 0)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def tspan(self, token: Token) -> Span:
        return Span(self.path, token.line or 0, token.column or 0, token.end_line or 0,
                    token.end_column or 0)

    def ident(self, token: Token) -> ast.Ident:
        return ast.Ident(str(token), self.tspan(token))

    def number(self, token: Token) -> int:
        value = parse_number(str(token))
        return -1 if value is None else value

    # ---- top level
    @v_args(meta=True)
    def start(self, meta: Meta, items: list) -> tuple:
        return tuple(items)

    @v_args(meta=True, inline=True)
    def import_decl(self, meta: Meta, name: Token) -> ast.ImportDecl:
        return ast.ImportDecl(self.ident(name), self.span(meta))

    @v_args(meta=True, inline=True)
    def bit_type(self, meta: Meta, width: Token) -> tuple[int, Span]:
        return self.number(width), self.span(meta)

    @v_args(meta=True, inline=True)
    def header_decl(self, meta: Meta, name: Token, *fields) -> ast.HeaderDecl:
        return ast.HeaderDecl(self.ident(name), tuple(fields), self.span(meta))

    @v_args(meta=True, inline=True)
    def fixed_field(self, meta: Meta, name: Token, bits: tuple[int, Span]) -> ast.FixedField:
        return ast.FixedField(self.ident(name), bits[0], self.span(meta), bits[1])

    @v_args(meta=True, inline=True)
    def var_field(self, meta: Meta, name: Token, max_bytes: Token, length) -> ast.VarField:
        return ast.VarField(self.ident(name), self.number(max_bytes), length, self.span(meta))

    @v_args(meta=True, inline=True)
    def headers_decl(self, meta: Meta, *instances) -> ast.HeadersDecl:
        return ast.HeadersDecl(tuple(instances), self.span(meta))

    @v_args(meta=True, inline=True)
    def instance(self, meta: Meta, name: Token, type_name: Token) -> ast.InstanceDecl:
        return ast.InstanceDecl(self.ident(name), self.ident(type_name), self.span(meta))

    @v_args(meta=True, inline=True)
    def metadata_decl(self, meta: Meta, *fields) -> ast.MetadataDecl:
        return ast.MetadataDecl(tuple(fields), self.span(meta))

    @v_args(meta=True, inline=True)
    def meta_field(self, meta: Meta, name: Token, bits: tuple[int, Span]) -> ast.MetaFieldDecl:
        return ast.MetaFieldDecl(self.ident(name), bits[0], self.span(meta), bits[1])

    @v_args(meta=True, inline=True)
    def const_decl(self, meta: Meta, name: Token, bits, value) -> ast.ConstDecl:
        width, wspan = bits if bits is not None else (None, Span(self.path, 0, 0))
        return ast.ConstDecl(self.ident(name), width, value, self.span(meta), wspan)

    @v_args(meta=True, inline=True)
    def register_decl(self, meta: Meta, bits, size: Token, name: Token) -> ast.RegisterDecl:
        return ast.RegisterDecl(self.ident(name), bits[0], self.number(size), self.span(meta),
                                bits[1], self.tspan(size))

    @v_args(meta=True, inline=True)
    def meter_decl(self, meta: Meta, unit: Token, size: Token, name: Token) -> ast.MeterDecl:
        return ast.MeterDecl(self.ident(name), self.ident(unit), self.number(size),
                             self.span(meta), self.tspan(size))

    # ---- parser
    @v_args(meta=True, inline=True)
    def parser_decl(self, meta: Meta, *states) -> ast.ParserDecl:
        return ast.ParserDecl(tuple(states), self.span(meta))

    @v_args(meta=True, inline=True)
    def state(self, meta: Meta, name: Token, *rest) -> ast.StateDecl:
        return ast.StateDecl(self.ident(name), tuple(rest[:-1]), rest[-1], self.span(meta))

    @v_args(inline=True)
    def extract(self, name: Token) -> ast.Ident:
        return self.ident(name)

    @v_args(meta=True, inline=True)
    def next_transition(self, meta: Meta, name: Token) -> ast.NextTransition:
        return ast.NextTransition(self.ident(name), self.span(meta))

    @v_args(meta=True, inline=True)
    def select_transition(self, meta: Meta, keys, *arms) -> ast.SelectTransition:
        return ast.SelectTransition(keys, tuple(arms), self.span(meta))

    def select_keys(self, children: list) -> tuple:
        return tuple(children)

    @v_args(meta=True, inline=True)
    def select_arm(self, meta: Meta, patterns, name: Token) -> ast.SelectArm:
        pats, tuple_form = patterns
        return ast.SelectArm(pats, self.ident(name), self.span(meta), tuple_form)

    def single_pattern(self, children: list) -> tuple[tuple, bool]:
        return tuple(children), False

    def pattern_tuple(self, children: list) -> tuple[tuple, bool]:
        return tuple(children), True

    @v_args(meta=True, inline=True)
    def wildcard_pat(self, meta: Meta) -> ast.WildcardPat:
        return ast.WildcardPat(self.span(meta))

    @v_args(meta=True, inline=True)
    def exact_pat(self, meta: Meta, value) -> ast.ValuePat:
        return ast.ValuePat(value, self.span(meta))

    @v_args(meta=True, inline=True)
    def mask_pat(self, meta: Meta, value, mask) -> ast.MaskPat:
        return ast.MaskPat(value, mask, self.span(meta))

    @v_args(meta=True, inline=True)
    def range_pat(self, meta: Meta, lo, hi) -> ast.RangePat:
        return ast.RangePat(lo, hi, self.span(meta))

    @v_args(meta=True, inline=True)
    def prefix_pat(self, meta: Meta, value, length) -> ast.PrefixPat:
        return ast.PrefixPat(value, length, self.span(meta))

    # ---- actions and tables
    @v_args(meta=True, inline=True)
    def action_decl(self, meta: Meta, name: Token, *rest) -> ast.ActionDecl:
        params = tuple(p for p in rest[:-1] if p is not None)
        return ast.ActionDecl(self.ident(name), params, rest[-1], self.span(meta))

    @v_args(meta=True, inline=True)
    def param(self, meta: Meta, name: Token, bits) -> ast.ParamDecl:
        return ast.ParamDecl(self.ident(name), bits[0], self.span(meta), bits[1])

    @v_args(meta=True, inline=True)
    def table_decl(self, meta: Meta, name: Token, *props) -> ast.TableDecl:
        return ast.TableDecl(self.ident(name), tuple(props), self.span(meta))

    @v_args(meta=True, inline=True)
    def keys_prop(self, meta: Meta, *keys) -> ast.KeysProp:
        return ast.KeysProp(tuple(keys), self.span(meta))

    @v_args(meta=True, inline=True)
    def actions_prop(self, meta: Meta, *names) -> ast.ActionsProp:
        return ast.ActionsProp(tuple(names), self.span(meta))

    @v_args(inline=True)
    def action_name(self, name: Token) -> ast.Ident:
        return self.ident(name)

    @v_args(meta=True, inline=True)
    def default_prop(self, meta: Meta, ref: ast.ActionRef) -> ast.DefaultProp:
        return ast.DefaultProp(ref, self.span(meta))

    @v_args(meta=True, inline=True)
    def size_prop(self, meta: Meta, size: Token) -> ast.SizeProp:
        return ast.SizeProp(self.number(size), self.span(meta))

    @v_args(meta=True, inline=True)
    def counters_prop(self, meta: Meta) -> ast.CountersProp:
        return ast.CountersProp(self.span(meta))

    @v_args(meta=True, inline=True)
    def entries_prop(self, meta: Meta, *entries) -> ast.EntriesProp:
        return ast.EntriesProp(tuple(entries), self.span(meta))

    @v_args(meta=True, inline=True)
    def table_key(self, meta: Meta, expr, kind: Token) -> ast.TableKeyDecl:
        return ast.TableKeyDecl(expr, self.ident(kind), self.span(meta))

    @v_args(meta=True, inline=True)
    def action_ref_bare(self, meta: Meta, name: Token) -> ast.ActionRef:
        return ast.ActionRef(self.ident(name), (), self.span(meta), called=False)

    @v_args(meta=True, inline=True)
    def action_ref_call(self, meta: Meta, name: Token, *args) -> ast.ActionRef:
        return ast.ActionRef(self.ident(name), tuple(a for a in args if a is not None),
                             self.span(meta), called=True)

    @v_args(meta=True, inline=True)
    def entry(self, meta: Meta, patterns, ref, prio_kw, prio) -> ast.EntryDecl:
        pats, _ = patterns
        priority = None if prio is None else self.number(prio)
        pspan = self.tspan(prio) if prio is not None else Span(self.path, 0, 0)
        return ast.EntryDecl(pats, ref, priority, self.span(meta), pspan)

    # ---- control and statements
    @v_args(meta=True, inline=True)
    def control_decl(self, meta: Meta, name: Token, body: tuple) -> ast.ControlDecl:
        return ast.ControlDecl(self.ident(name), body, self.span(meta))

    def block(self, children: list) -> tuple:
        return tuple(children)

    @v_args(meta=True, inline=True)
    def assign_stmt(self, meta: Meta, target, value) -> ast.AssignStmt:
        return ast.AssignStmt(target, value, None, self.span(meta))

    @v_args(meta=True, inline=True)
    def compound_stmt(self, meta: Meta, target, op: Token, value) -> ast.AssignStmt:
        return ast.AssignStmt(target, value, str(op)[:-1], self.span(meta))

    @v_args(meta=True, inline=True)
    def expr_stmt(self, meta: Meta, expr) -> ast.ExprStmt:
        return ast.ExprStmt(expr, self.span(meta))

    @v_args(meta=True, inline=True)
    def if_stmt(self, meta: Meta, cond, then: tuple, otherwise) -> ast.IfStmt:
        if otherwise is None:
            rest: tuple = ()
        elif isinstance(otherwise, ast.IfStmt):
            rest = (otherwise,)
        else:
            rest = otherwise
        return ast.IfStmt(cond, then, rest, self.span(meta))

    @v_args(meta=True, inline=True)
    def switch_stmt(self, meta: Meta, subject, *cases) -> ast.SwitchStmt:
        return ast.SwitchStmt(subject, tuple(cases), self.span(meta))

    @v_args(meta=True, inline=True)
    def action_case(self, meta: Meta, *rest) -> ast.SwitchCaseAst:
        return ast.SwitchCaseAst(tuple(self.ident(t) for t in rest[:-1]), rest[-1],
                                 self.span(meta))

    @v_args(meta=True, inline=True)
    def default_case(self, meta: Meta, body: tuple) -> ast.SwitchCaseAst:
        return ast.SwitchCaseAst((), body, self.span(meta))

    @v_args(meta=True, inline=True)
    def return_stmt(self, meta: Meta) -> ast.ReturnStmt:
        return ast.ReturnStmt(self.span(meta))

    # ---- expressions
    def binary_chain(self, children: list) -> ast.Expr:
        """Group ``a op b op c ...`` by precedence (all left-associative)."""
        operands: list[ast.Expr] = children[0::2]
        ops: list[Token] = children[1::2]
        pos = 0

        def climb(lhs: ast.Expr, min_prec: int) -> ast.Expr:
            nonlocal pos
            while pos < len(ops) and PRECEDENCE[str(ops[pos])] >= min_prec:
                op = ops[pos]
                prec = PRECEDENCE[str(op)]
                pos += 1
                rhs = operands[pos]
                while pos < len(ops) and PRECEDENCE[str(ops[pos])] > prec:
                    rhs = climb(rhs, prec + 1)
                lhs = ast.Binary(str(op), lhs, rhs, _join(lhs.span, rhs.span))
            return lhs

        return climb(operands[0], 0)

    @v_args(meta=True, inline=True)
    def unop(self, meta: Meta, op: Token, operand) -> ast.Unary:
        return ast.Unary(str(op), operand, self.span(meta))

    @v_args(meta=True, inline=True)
    def cast(self, meta: Meta, bits, value) -> ast.CastExpr:
        return ast.CastExpr(bits[0], value, self.span(meta), bits[1])

    @v_args(meta=True, inline=True)
    def member(self, meta: Meta, base, name: Token) -> ast.Member:
        return ast.Member(base, self.ident(name), self.span(meta))

    @v_args(meta=True, inline=True)
    def call(self, meta: Meta, callee, *args) -> ast.Call:
        return ast.Call(callee, tuple(a for a in args if a is not None), self.span(meta))

    @v_args(meta=True, inline=True)
    def index(self, meta: Meta, base, idx) -> ast.Index:
        return ast.Index(base, idx, self.span(meta))

    @v_args(meta=True, inline=True)
    def slice(self, meta: Meta, base, hi, lo) -> ast.SliceExpr:
        return ast.SliceExpr(base, hi, lo, self.span(meta))

    @v_args(inline=True)
    def name_ref(self, token: Token) -> ast.NameRef:
        return ast.NameRef(str(token), self.tspan(token))

    @v_args(inline=True)
    def literal(self, token: Token) -> ast.IntLit:
        value, kind = parse_literal(token)
        return ast.IntLit(-1 if value is None else value, kind, str(token), self.tspan(token))


# ------------------------------------------------------------------------------ errors

# Small wrong programs for lark's match_examples: a syntax error that lands in the same parser
# state on the same token gets the friendlier message. LALR states also depend on how deep the
# stack is, so each example is tried in the places it commonly occurs (first declaration or
# not; first statement of a block or not; nested in an `if` or not).
_EXAMPLE_SEEDS: dict[msg.Message, list[str]] = {
    msg.ASSIGN_IN_CONDITION: ["if a = 1 { }", "if a.b = 1 { }", "if a && b.c = 1 { }",
                              "if a.b == 1 && c.d = 1 { }"],
    msg.MISSING_TRANSITION: ["parser { s { extract a; } }", "parser { s { } }",
                             "parser { s { next accept; } t { extract a; } }",
                             "parser { s { next accept; } t { } }"],
    msg.STATEMENT_AT_TOP_LEVEL: ["a.b = 1;", "a = 1;", "drop();", "if a { }", "a.b();"],
}


def _statement_variants(stmt: str) -> list[str]:
    bodies = [stmt, f"drop(); {stmt}", f"if x {{ {stmt} }}", f"drop(); if x {{ drop(); {stmt} }}",
              f"if x {{ drop(); {stmt} }}"]
    return [f"{prefix}control c {{ {body} }}" for prefix in ("", "import std; ")
            for body in bodies]


@functools.cache
def _examples() -> dict[msg.Message, list[str]]:
    out: dict[msg.Message, list[str]] = {}
    for message, seeds in _EXAMPLE_SEEDS.items():
        texts: list[str] = []
        for seed in seeds:
            if message is msg.ASSIGN_IN_CONDITION:
                texts += _statement_variants(seed)
            else:
                texts += [seed, f"import std; {seed}"]
        out[message] = texts
    return out


@functools.cache
def _example_error(text: str) -> UnexpectedInput | None:
    try:
        _parser().parse(text)
    except UnexpectedInput as err:
        return err
    return None


def _parse_example(text: str) -> None:
    """``match_examples``'s parse function: each example is parsed once per process and its
    error replayed afterwards (a syntax error would otherwise parse ~60 examples again)."""
    err = _example_error(text)
    if err is not None:
        # a fresh traceback each time: re-raising would chain every earlier one (and keep
        # their frames alive)
        raise err.with_traceback(None)


_PUNCTUATION = {
    "SEMICOLON": "`;`", "LBRACE": "`{`", "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`",
    "LSQB": "`[`", "RSQB": "`]`", "COLON": "`:`", "COMMA": "`,`", "EQUAL": "`=`",
    "LESSTHAN": "`<`", "MORETHAN": "`>`", "SLASH": "`/`", "__ANON_0": "`&&&`", "__ANON_1": "`..`",
    "UNDERSCORE": "`_`",
}
_VALUES = {"NAME": "a name", "NUMBER": "a number", "IPV4": "an address", "MAC": "an address",
           "IPV6": "an address", "$END": "the end of the file"}
#: terminals that continue an expression; listed together as "an operator"
_OPERATORS = {"BINARY_OP", "UNARY_OP", "COMPOUND_ASSIGN", "DOT", "LSQB", "LPAR"}
_BINARY = {"BINARY_OP"}
_DECLARATIONS = {"IMPORT", "HEADER", "HEADERS", "METADATA", "CONST", "REGISTER", "METER",
                 "PARSER", "ACTION", "TABLE", "CONTROL"}


def _describe_expected(expected: set[str] | frozenset[str]) -> str:
    """A short, ordered description of what the parser would have accepted."""
    expected = set(expected)
    if _DECLARATIONS <= expected:
        expected -= _DECLARATIONS
        expected.add("a declaration")
    if expected & _BINARY:
        expected -= _OPERATORS
        expected.add("an operator")
    if {"NAME", "NUMBER", "LPAR"} <= expected:
        expected -= {"NAME", "NUMBER", "LPAR", "IPV4", "MAC", "IPV6", "UNARY_OP"}
        expected.add("an expression")
    punct = sorted(_PUNCTUATION[e] for e in expected if e in _PUNCTUATION)
    values = sorted({_VALUES[e] for e in expected if e in _VALUES})
    words = sorted(f"`{e.lower()}`" for e in expected
                   if e not in _PUNCTUATION and e not in _VALUES
                   and e not in ("an operator", "a declaration", "an expression") and e.isupper()
                   and e not in _OPERATORS)
    others = [e for e in ("a declaration", "an expression", "an operator") if e in expected]
    names = punct + words + values + others
    if len(names) > 6:
        names = names[:5] + ["..."]
    if not names:
        return "something else"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    return f"`{token}`"


def _strip_comment(line: str) -> str:
    return re.sub(r"(#|//).*$", "", line)


def _previous_token_end(text: str, line: int, col: int) -> tuple[int, int] | None:
    """1-based (line, column just after) of the last non-blank, non-comment character before
    (line, col)."""
    lines = text.splitlines()
    line_text = lines[line - 1][: col - 1] if 0 < line <= len(lines) else ""
    ln = line
    while True:
        stripped = _strip_comment(line_text).rstrip()
        if stripped:
            return ln, len(stripped) + 1
        ln -= 1
        if ln < 1:
            return None
        line_text = lines[ln - 1]


def _unclosed_brace(text: str, path: str, upto_line: int | None = None) -> Span | None:
    """The innermost `{` still open at the end of the text (or before line ``upto_line``)."""
    stack: list[tuple[int, int]] = []
    lines = text.splitlines()
    if upto_line is not None:
        lines = lines[: upto_line - 1]
    for ln, line in enumerate(lines, start=1):
        for col, ch in enumerate(_strip_comment(line), start=1):
            if ch == "{":
                stack.append((ln, col))
            elif ch == "}" and stack:
                stack.pop()
    if not stack:
        return None
    ln, col = stack[-1]
    return Span(path, ln, col, ln, col + 1)


def syntax_diagnostic(err: UnexpectedInput, text: str, path: str, reporter: Reporter) -> None:
    """Turn lark's exception into one of our diagnostics."""
    line = getattr(err, "line", 0) or 0
    col = getattr(err, "column", 0) or 0
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        msg.BAD_CHARACTER.emit(reporter, Span(path, line, col, line, col + 1), char=char)
        return
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        expected = getattr(err, "accepts", None) or getattr(err, "expected", set())
        end = _previous_token_end(text, len(text.splitlines()) + 1, 1) or (1, 1)
        where = Span(path, end[0], end[1], end[0], end[1] + 1)
        brace = _unclosed_brace(text, path)
        if "RBRACE" in expected and brace is not None:
            msg.UNEXPECTED_EOF.emit(reporter, where, expected="`}`",
                                    notes=(("this `{` is not closed", brace),))
        else:
            msg.UNEXPECTED_EOF.emit(reporter, where, expected=_describe_expected(expected))
        return
    assert isinstance(err, UnexpectedToken)
    token = err.token
    tspan = Span(path, token.line or line, token.column or col, token.end_line or line,
                 token.end_column or col + 1)
    expected = set(err.accepts or err.expected)
    if token.type == "SLASH" and text[token.end_pos:token.end_pos + 1] == "*":
        msg.UNCLOSED_COMMENT.emit(reporter, Span(path, tspan.line, tspan.col, tspan.line,
                                                 tspan.col + 2))
        return
    friendly = err.match_examples(_parse_example, _examples(), use_accepts=True)
    if friendly is not None and not any(
            (ex := _example_error(text_)) is not None and getattr(ex, "token", None) is not None
            and ex.token.type == token.type for text_ in _examples()[friendly]):
        friendly = None  # the same parser state, but a different mistake
    if friendly is None:
        friendly = _guess(token, expected, text)
    if friendly is not None:
        friendly.emit(reporter, tspan)
        return
    if _missing_brace(text, path, tspan, reporter):
        return
    if "SEMICOLON" in expected:
        prev = _previous_token_end(text, tspan.line, tspan.col)
        if prev is not None:
            msg.MISSING_SEMICOLON.emit(reporter, Span(path, prev[0], prev[1], prev[0],
                                                      prev[1] + 1))
            return
    msg.SYNTAX.emit(reporter, tspan, found=_describe_token(token),
                    expected=_describe_expected(expected))


def _missing_brace(text: str, path: str, where: Span, reporter: Reporter) -> bool:
    """A top-level keyword at the start of the error's line (or the line before) while a `{`
    is still open: the block above lacks its `}`. (Inside a block the keyword lexes as a name,
    so the error itself lands a token or two later.)"""
    lines = text.splitlines()
    for ln in (where.line, where.line - 1):
        if not 1 <= ln <= len(lines):
            continue
        m = _TOP_LEVEL.match(lines[ln - 1])
        if m is None:
            continue
        brace = _unclosed_brace(text, path, ln)
        if brace is None:
            return False
        msg.MISSING_BRACE.emit(reporter, Span(path, ln, 1, ln, m.end() + 1),
                               notes=(("this `{` is not closed", brace),))
        return True
    return False


def _guess(token: Token, expected: set[str], text: str) -> msg.Message | None:
    """The same friendly messages for shapes the examples do not cover."""
    if token.type == "EQUAL" and "LBRACE" in expected:
        return msg.ASSIGN_IN_CONDITION
    if token.type == "RBRACE" and {"NEXT", "SELECT"} <= expected:
        return msg.MISSING_TRANSITION
    if _DECLARATIONS <= expected:
        after = text[token.end_pos:] if token.end_pos is not None else ""
        if token.type in ("IF", "SWITCH", "RETURN") or (
                token.type == "NAME" and re.match(r"\s*[.=(\[]", after)):
            return msg.STATEMENT_AT_TOP_LEVEL
    return None


# ------------------------------------------------------------------------------- entry


_TOP_LEVEL = re.compile(
    r"^(import|header|headers|metadata|const|register|meter|parser|action|table|control)\b",
    re.M,
)


def parse_source(text: str, path: str, reporter: Reporter) -> ast.SourceFile | None:
    """Parse a whole file. On a syntax error, report it and keep looking for more errors from
    the next top-level declaration on; the AST is None if there was any syntax error."""
    reporter.add_source(path, text)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        syntax_diagnostic(err, text, path, reporter)
        _recover(text, path, reporter, err)
        return None
    decls = _Builder(path).transform(tree)
    return ast.SourceFile(path, text, decls)


def _recover(text: str, path: str, reporter: Reporter, err: UnexpectedInput) -> None:
    """Report the syntax errors of the declarations after the first bad one.

    Each later declaration that starts at the beginning of a line is parsed on its own (with
    the text before it blanked out so positions stay right); this finds one error per broken
    declaration without guessing at repairs inside one."""
    pos = getattr(err, "pos_in_stream", None)
    if pos is None:
        token = getattr(err, "token", None)
        pos = getattr(token, "start_pos", None)
    if pos is None:
        return
    for _ in range(50):  # a bound: never more than 50 syntax errors from one file
        m = _TOP_LEVEL.search(text, pos + 1)
        if m is None:
            return
        start = m.start()
        blanked = re.sub(r"[^\n]", " ", text[:start]) + text[start:]
        try:
            _parser().parse(blanked)
            return
        except UnexpectedInput as again:
            syntax_diagnostic(again, blanked, path, reporter)
            again_pos = getattr(again, "pos_in_stream", None)
            if again_pos is None:
                token = getattr(again, "token", None)
                again_pos = getattr(token, "start_pos", None)
            if again_pos is None or again_pos <= start:
                return
            pos = again_pos
