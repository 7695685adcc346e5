"""P4_16 text -> the executor's small AST.

``parse_p4(text, filename)`` reads the subset of P4_16 in ``p4_16.lark`` (what the wirespeed
backend emits) and returns a ``P4Program``. A construct outside that subset is a
``P4SyntaxError`` naming the place, never a guess. The transformer only builds nodes; meaning
(types, externs, v1model) is the interpreter's business (``machine.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Union

import lark


class P4SyntaxError(Exception):
    """The text is not in the P4 subset this executor knows."""


# ----------------------------------------------------------------------------- types


@dataclass(frozen=True)
class BitType:
    width: int


@dataclass(frozen=True)
class VarbitType:
    max_width: int


@dataclass(frozen=True)
class BoolType:
    pass


@dataclass(frozen=True)
class NamedType:
    name: str


P4Type = Union[BitType, VarbitType, BoolType, NamedType]


# ----------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Lit:
    value: int
    width: int | None  # None: an unsized integer
    line: int = 0


@dataclass(frozen=True)
class BoolLit:
    value: bool
    line: int = 0


@dataclass(frozen=True)
class Name:
    name: str
    line: int = 0


@dataclass(frozen=True)
class Member:
    base: Expr
    name: str
    line: int = 0


@dataclass(frozen=True)
class SliceE:
    base: Expr
    hi: int
    lo: int
    line: int = 0


@dataclass(frozen=True)
class ListE:
    items: tuple[Expr, ...]
    line: int = 0


@dataclass(frozen=True)
class Call:
    func: Expr
    args: tuple[Expr, ...]
    line: int = 0


@dataclass(frozen=True)
class Unary:
    op: str  # "!" | "~"
    operand: Expr
    line: int = 0


@dataclass(frozen=True)
class CastE:
    type: P4Type
    operand: Expr
    line: int = 0


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    line: int = 0


@dataclass(frozen=True)
class Cond:
    cond: Expr
    then: Expr
    otherwise: Expr
    line: int = 0


Expr = Union[Lit, BoolLit, Name, Member, SliceE, ListE, Call, Unary, CastE, Binary, Cond]


# ----------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Block:
    stmts: tuple[Stmt, ...]


@dataclass(frozen=True)
class Assign:
    target: Expr
    value: Expr
    line: int = 0


@dataclass(frozen=True)
class VarDecl:
    type: P4Type
    name: str
    init: Expr | None
    line: int = 0


@dataclass(frozen=True)
class CallStmt:
    call: Call
    line: int = 0


@dataclass(frozen=True)
class IfStmt:
    cond: Expr
    then: Block
    otherwise: Block | IfStmt | None
    line: int = 0


@dataclass(frozen=True)
class SwitchStmt:
    table: str
    cases: tuple[tuple[tuple[str, ...], Block], ...]
    default: Block | None
    line: int = 0


@dataclass(frozen=True)
class ReturnStmt:
    line: int = 0


Stmt = Union[Block, Assign, VarDecl, CallStmt, IfStmt, SwitchStmt, ReturnStmt]


# ----------------------------------------------------------------------------- parser


@dataclass(frozen=True)
class KsAny:
    pass


@dataclass(frozen=True)
class KsValue:
    value: Expr


@dataclass(frozen=True)
class KsMask:
    value: Expr
    mask: Expr


@dataclass(frozen=True)
class KsRange:
    lo: Expr
    hi: Expr


KeyElement = Union[KsAny, KsValue, KsMask, KsRange]
Keyset = Union[tuple[KeyElement, ...], None]  # None: `default`


@dataclass(frozen=True)
class Extract:
    target: Expr
    size: Expr | None
    line: int = 0


@dataclass(frozen=True)
class Verify:
    cond: Expr
    error: Expr
    line: int = 0


@dataclass(frozen=True)
class Select:
    keys: tuple[Expr, ...]
    cases: tuple[tuple[Keyset, str], ...]


@dataclass(frozen=True)
class State:
    name: str
    stmts: tuple[Extract | Verify, ...]
    transition: str | Select


@dataclass(frozen=True)
class Param:
    direction: str
    type: P4Type
    name: str


@dataclass(frozen=True)
class ParserDecl:
    name: str
    params: tuple[Param, ...]
    states: dict[str, State]


# ----------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class ExternInst:
    type_name: str
    type_args: tuple[P4Type, ...]
    args: tuple[Expr, ...]
    name: str
    line: int = 0


@dataclass(frozen=True)
class ActionDecl:
    name: str
    params: tuple[Param, ...]
    body: Block


@dataclass(frozen=True)
class TableKey:
    expr: Expr
    match_kind: str
    name: str  # the @name annotation: the control-plane name


@dataclass(frozen=True)
class TableDecl:
    name: str
    keys: tuple[TableKey, ...] = ()
    actions: tuple[tuple[str, bool], ...] = ()  # (action, default only)
    default_action: Call | None = None
    size: int | None = None
    counters: str | None = None
    const_entries: tuple[tuple[Keyset, Call], ...] | None = None
    line: int = 0


@dataclass(frozen=True)
class ControlDecl:
    name: str
    params: tuple[Param, ...]
    externs: dict[str, ExternInst]
    actions: dict[str, ActionDecl]
    tables: dict[str, TableDecl]
    apply: Block


@dataclass
class P4Program:
    filename: str
    includes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    consts: dict[str, tuple[P4Type, Expr]] = field(default_factory=dict)
    headers: dict[str, list[tuple[P4Type, str]]] = field(default_factory=dict)
    structs: dict[str, list[tuple[P4Type, str]]] = field(default_factory=dict)
    parsers: dict[str, ParserDecl] = field(default_factory=dict)
    controls: dict[str, ControlDecl] = field(default_factory=dict)
    package: tuple[str, tuple[str, ...], str] | None = None  # (type, blocks, name)


# ----------------------------------------------------------------------------- transformer


def _line(meta: object) -> int:
    return getattr(meta, "line", 0) or 0


def _int(text: str) -> int:
    return int(text, 0)


@lark.v_args(inline=True)
class _ToAst(lark.Transformer):
    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename

    # -- types
    def bit_type(self, width):
        return BitType(_int(width))

    def varbit_type(self, width):
        return VarbitType(_int(width))

    def bool_type(self):
        return BoolType()

    def named_type(self, name):
        return NamedType(str(name))

    def type_args(self, *types):
        return tuple(types)

    # -- expressions
    def sized_int(self, token):
        width, _, value = str(token).partition("w")
        return Lit(_int(value), int(width), token.line)

    def int_lit(self, token):
        return Lit(_int(str(token)), None, token.line)

    def true_lit(self):
        return BoolLit(True)

    def false_lit(self):
        return BoolLit(False)

    def name(self, token):
        return Name(str(token), token.line)

    def member(self, base, name):
        return Member(base, str(name), name.line)

    def slice(self, base, hi, lo):
        return SliceE(base, _int(hi), _int(lo), hi.line)

    def expr_list(self, *items):
        return tuple(items)

    def args(self, *items):
        return tuple(items)

    def list_expr(self, items=()):
        return ListE(tuple(items))

    def call_expr(self, func, args=()):
        return Call(func, tuple(args), getattr(func, "line", 0))

    def lnot(self, operand):
        return Unary("!", operand)

    def bnot(self, operand):
        return Unary("~", operand)

    def cast(self, type_, operand):
        return CastE(type_, operand)

    def ternary(self, cond, then, otherwise):
        return Cond(cond, then, otherwise)

    def _chain(self, items, fixed_op=None):
        result = items[0]
        rest = list(items[1:])
        while rest:
            if fixed_op is None:
                op, right = str(rest[0]), rest[1]
                rest = rest[2:]
            else:
                op, right = fixed_op, rest[0]
                rest = rest[1:]
            result = Binary(op, result, right, getattr(result, "line", 0))
        return result

    def lor(self, *items):
        return self._chain(items, "||")

    def land(self, *items):
        return self._chain(items, "&&")

    def bor(self, *items):
        return self._chain(items, "|")

    def bxor(self, *items):
        return self._chain(items, "^")

    def band(self, *items):
        return self._chain(items, "&")

    def equality(self, *items):
        return self._chain(items)

    def relational(self, *items):
        return self._chain(items)

    def shift(self, *items):
        return self._chain(items)

    def additive(self, *items):
        return self._chain(items)

    def multiplicative(self, *items):
        return self._chain(items)

    def lvalue(self, expr):
        return expr

    # -- statements
    def block(self, *stmts):
        return Block(tuple(stmts))

    def assignment(self, target, value):
        return Assign(target, value, getattr(target, "line", 0))

    def var_decl(self, type_, name, init=None):
        return VarDecl(type_, str(name), init, name.line)

    def call_statement(self, call):
        return CallStmt(call, call.line)

    def if_statement(self, cond, then, otherwise=None):
        return IfStmt(cond, then, otherwise, getattr(cond, "line", 0))

    def switch_case(self, *items):
        *labels, body = items
        return (tuple(str(label) for label in labels), body)

    def switch_default(self, body):
        return (None, body)

    def switch_statement(self, table, *cases):
        default = None
        normal = []
        for labels, body in cases:
            if labels is None:
                default = body
            else:
                normal.append((labels, body))
        return SwitchStmt(str(table), tuple(normal), default, table.line)

    def return_statement(self):
        return ReturnStmt()

    # -- parser
    def ks_any(self):
        return KsAny()

    def ks_value(self, value):
        return KsValue(value)

    def ks_mask(self, value, mask):
        return KsMask(value, mask)

    def ks_range(self, lo, hi):
        return KsRange(lo, hi)

    def keyset_default(self):
        return None

    def keyset_single(self, element):
        return (element,)

    def keyset_tuple(self, *elements):
        return tuple(elements)

    def select_case(self, keyset, next_state):
        return (keyset, str(next_state))

    def goto(self, next_state):
        return str(next_state)

    def select(self, keys, *cases):
        return Select(tuple(keys), tuple(cases))

    def extract(self, target, size=None):
        return Extract(target, size, getattr(target, "line", 0))

    def verify(self, cond, error):
        return Verify(cond, error, getattr(cond, "line", 0))

    def state(self, name, *rest):
        *stmts, transition = rest
        return State(str(name), tuple(stmts), transition)

    def param(self, *items):
        if len(items) == 3:
            return Param(str(items[0]), items[1], str(items[2]))
        return Param("", items[0], str(items[1]))

    def params(self, *items):
        return tuple(items)

    def parser_decl(self, name, params, *states):
        return ("parser", ParserDecl(str(name), params, {s.name: s for s in states}))

    # -- controls
    def extern_inst(self, type_name, *rest):
        rest_list = list(rest)
        type_args: tuple = ()
        if rest_list and isinstance(rest_list[0], tuple) and rest_list[0] and isinstance(
                rest_list[0][0], (BitType, VarbitType, BoolType, NamedType)):
            type_args = rest_list.pop(0)
        args: tuple = ()
        if len(rest_list) == 2:
            args = rest_list.pop(0)
        return ExternInst(str(type_name), type_args, tuple(args), str(rest_list[0]),
                          type_name.line)

    def action_decl(self, name, *rest):
        params = rest[0] if len(rest) == 2 else ()
        return ActionDecl(str(name), tuple(params), rest[-1])

    def annotation(self, text):
        return str(text)[1:-1]

    def key_element_decl(self, expr, kind, name):
        return TableKey(expr, str(kind), name)

    def table_key(self, *keys):
        return ("keys", tuple(keys))

    def action_ref(self, *items):
        return (str(items[-1]), len(items) == 2)

    def table_actions(self, *refs):
        return ("actions", tuple(refs))

    def table_default(self, call):
        return ("default_action", call)

    def table_size(self, size):
        return ("size", _int(size))

    def table_counters(self, name):
        return ("counters", str(name))

    def table_entry(self, keyset, call):
        return (keyset, call)

    def table_entries(self, *entries):
        return ("const_entries", tuple(entries))

    def table_decl(self, name, *props):
        seen: dict[str, object] = {}
        for key, value in props:
            if key in seen:
                raise P4SyntaxError(f"{self.filename}:{name.line}: table {name} sets "
                                    f"{key} twice")
            seen[key] = value
        return TableDecl(str(name), line=name.line, **seen)  # type: ignore[arg-type]

    def control_decl(self, name, params, *rest):
        *locals_, apply = rest
        externs = {x.name: x for x in locals_ if isinstance(x, ExternInst)}
        actions = {x.name: x for x in locals_ if isinstance(x, ActionDecl)}
        tables = {x.name: x for x in locals_ if isinstance(x, TableDecl)}
        return ("control", ControlDecl(str(name), params, externs, actions, tables, apply))

    # -- top level
    def include(self, name):
        return ("include", str(name))

    def error_decl(self, *names):
        return ("error", [str(n) for n in names])

    def const_decl(self, type_, name, value):
        return ("const", (str(name), type_, value))

    def field_decl(self, type_, name):
        return (type_, str(name))

    def header_decl(self, name, *fields):
        return ("header", (str(name), list(fields)))

    def struct_decl(self, name, *fields):
        return ("struct", (str(name), list(fields)))

    def package_inst(self, type_name, *rest):
        *blocks, name = rest
        return ("package", (str(type_name), tuple(str(b) for b in blocks), str(name)))

    def start(self, *items):
        program = P4Program(self.filename)
        for kind, value in items:
            match kind:
                case "include":
                    program.includes.append(value)
                case "error":
                    program.errors.extend(value)
                case "const":
                    program.consts[value[0]] = (value[1], value[2])
                case "header":
                    program.headers[value[0]] = value[1]
                case "struct":
                    program.structs[value[0]] = value[1]
                case "parser":
                    program.parsers[value.name] = value
                case "control":
                    program.controls[value.name] = value
                case "package":
                    program.package = value
        return program


@cache
def _parser() -> lark.Lark:
    grammar = (Path(__file__).parent / "p4_16.lark").read_text()
    return lark.Lark(grammar, parser="lalr", propagate_positions=True)


def parse_p4(text: str, filename: str = "<p4>") -> P4Program:
    try:
        tree = _parser().parse(text)
    except lark.UnexpectedInput as e:
        source_line = text.splitlines()[e.line - 1] if 0 < e.line <= len(text.splitlines()) else ""
        raise P4SyntaxError(
            f"{filename}:{e.line}:{e.column}: the P4 executor does not know this construct "
            f"(it reads only the P4_16 subset wirespeed emits)\n    {source_line.strip()}"
        ) from None
    try:
        return _ToAst(filename).transform(tree)
    except lark.exceptions.VisitError as e:
        if isinstance(e.orig_exc, P4SyntaxError):
            raise e.orig_exc from None
        raise
