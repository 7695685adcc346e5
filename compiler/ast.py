"""The syntax tree of a ``.wire`` file, as the parser saw it.

Built by ``compiler.parse`` (a lark Transformer that only constructs these nodes), read by
``compiler.check`` (names, widths, the parser graph) and ``compiler.lower`` (to ``ir``). Nodes
say nothing about meaning: ``ipv4.src`` is a ``Member`` of a ``NameRef`` whatever ``ipv4`` turns
out to be. Every node carries the ``ir.Span`` of its source text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from wirespeed.compiler.ir import NO_SPAN, Span


@dataclass(frozen=True)
class Ident:
    """A name as written, with its own place (for carets under just the name)."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)


# ---------------------------------------------------------------------------- expressions


class LitKind:
    NUMBER = "number"
    IPV4 = "ipv4"
    MAC = "mac"
    IPV6 = "ipv6"


@dataclass(frozen=True, eq=False)
class IntLit:
    value: int
    kind: str
    text: str
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class NameRef:
    name: str
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class Member:
    """``base.name``: a field, ``meta.x``, ``std.x``, ``h.valid``, ``t.apply().hit``..."""

    base: Expr
    name: Ident
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class Call:
    """``callee(args)``: an action, a built-in (``drop``, ``crc32``...) or a method."""

    callee: Expr
    args: tuple[Expr, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class Index:
    """``base[index]``: a register cell."""

    base: Expr
    index: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class SliceExpr:
    """``base[hi:lo]``, both bounds inclusive."""

    base: Expr
    hi: Expr
    lo: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class Binary:
    op: str
    left: Expr
    right: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class Unary:
    op: str
    operand: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class CastExpr:
    width: int
    value: Expr
    span: Span = NO_SPAN
    width_span: Span = NO_SPAN


Expr = Union[IntLit, NameRef, Member, Call, Index, SliceExpr, Binary, Unary, CastExpr]


# ------------------------------------------------------------------------------- patterns


@dataclass(frozen=True, eq=False)
class WildcardPat:
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ValuePat:
    value: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class MaskPat:
    value: Expr
    mask: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class RangePat:
    lo: Expr
    hi: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class PrefixPat:
    value: Expr
    prefix_len: Expr
    span: Span = NO_SPAN


Pattern = Union[WildcardPat, ValuePat, MaskPat, RangePat, PrefixPat]


# ----------------------------------------------------------------------------- statements


@dataclass(frozen=True, eq=False)
class AssignStmt:
    """``target = value;`` or, with ``op``, ``target op= value;``."""

    target: Expr
    value: Expr
    op: str | None = None
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ExprStmt:
    expr: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class IfStmt:
    cond: Expr
    then: tuple[Stmt, ...]
    otherwise: tuple[Stmt, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class SwitchCaseAst:
    """``a, b: { ... }``; ``labels`` is empty for ``default: { ... }``."""

    labels: tuple[Ident, ...]
    body: tuple[Stmt, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class SwitchStmt:
    subject: Expr
    cases: tuple[SwitchCaseAst, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ReturnStmt:
    span: Span = NO_SPAN


Stmt = Union[AssignStmt, ExprStmt, IfStmt, SwitchStmt, ReturnStmt]


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True, eq=False)
class ImportDecl:
    module: Ident
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class FixedField:
    name: Ident
    width: int
    span: Span = NO_SPAN
    width_span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class VarField:
    """``name: varbytes<max_bytes>(length_expr)``: trailing bytes whose length is
    ``field * scale + offset`` (IPv4 options: ``ihl * 4 - 20``)."""

    name: Ident
    max_bytes: int
    length: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class HeaderDecl:
    name: Ident
    fields: tuple[FixedField | VarField, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class InstanceDecl:
    name: Ident
    type_name: Ident
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class HeadersDecl:
    instances: tuple[InstanceDecl, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class MetaFieldDecl:
    name: Ident
    width: int
    span: Span = NO_SPAN
    width_span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class MetadataDecl:
    fields: tuple[MetaFieldDecl, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ConstDecl:
    name: Ident
    width: int | None
    value: Expr
    span: Span = NO_SPAN
    width_span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class RegisterDecl:
    name: Ident
    width: int
    size: int
    span: Span = NO_SPAN
    width_span: Span = NO_SPAN
    size_span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class MeterDecl:
    name: Ident
    unit: Ident
    size: int
    span: Span = NO_SPAN
    size_span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class SelectArm:
    patterns: tuple[Pattern, ...]
    next_state: Ident
    span: Span = NO_SPAN
    #: True when the arm's patterns were written in parentheses, ``(a, b): s``
    tuple_form: bool = False


@dataclass(frozen=True, eq=False)
class NextTransition:
    target: Ident
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class SelectTransition:
    keys: tuple[Expr, ...]
    arms: tuple[SelectArm, ...]
    span: Span = NO_SPAN


Transition = Union[NextTransition, SelectTransition]


@dataclass(frozen=True, eq=False)
class StateDecl:
    name: Ident
    extracts: tuple[Ident, ...]
    transition: Transition
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ParserDecl:
    states: tuple[StateDecl, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ParamDecl:
    name: Ident
    width: int
    span: Span = NO_SPAN
    width_span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ActionDecl:
    name: Ident
    params: tuple[ParamDecl, ...]
    body: tuple[Stmt, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ActionRef:
    """``name`` or ``name(args)`` in ``default`` and in entries."""

    name: Ident
    args: tuple[Expr, ...]
    span: Span = NO_SPAN
    #: True when written with parentheses (``default a();``)
    called: bool = False


@dataclass(frozen=True, eq=False)
class TableKeyDecl:
    expr: Expr
    kind: Ident
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class EntryDecl:
    patterns: tuple[Pattern, ...]
    action: ActionRef
    priority: int | None
    span: Span = NO_SPAN
    priority_span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class KeysProp:
    keys: tuple[TableKeyDecl, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ActionsProp:
    actions: tuple[Ident, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class DefaultProp:
    action: ActionRef
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class SizeProp:
    size: int
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class CountersProp:
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class EntriesProp:
    entries: tuple[EntryDecl, ...]
    span: Span = NO_SPAN


TableProp = Union[KeysProp, ActionsProp, DefaultProp, SizeProp, CountersProp, EntriesProp]


@dataclass(frozen=True, eq=False)
class TableDecl:
    name: Ident
    props: tuple[TableProp, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True, eq=False)
class ControlDecl:
    name: Ident
    body: tuple[Stmt, ...]
    span: Span = NO_SPAN


Decl = Union[
    ImportDecl, HeaderDecl, HeadersDecl, MetadataDecl, ConstDecl, RegisterDecl, MeterDecl,
    ParserDecl, ActionDecl, TableDecl, ControlDecl,
]


@dataclass(frozen=True, eq=False)
class SourceFile:
    """One parsed file: its declarations in source order and its text (for diagnostics)."""

    path: str
    text: str
    decls: tuple[Decl, ...]
