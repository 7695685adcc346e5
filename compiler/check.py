"""The checker: names, widths and types, the parser graph, tables, actions, the control.

It reads the AST (``compiler.ast``) and reports every user error it finds through a
``Reporter``; it never stops at the first. What it learns about the program is returned as a
``Checked`` (the symbol tables, the type and constant value of every expression, what every
name refers to) so that ``compiler.lower`` can build the IR without deciding anything again.

Typing in short (the full rules are in docs/language.md):

* Every value is ``bit<N>``; conditions are ``bool``. Literals and untyped constants are
  *untyped integers*: exact, computed at compile time, and given the width their context
  asks for (the other operand, the assignment target, the key, the parameter); they must fit.
* Both operands of ``+ - & | ^`` and of comparisons have the same width; shifts take their
  width from the left operand; ``a ++ b`` is as wide as both; ``x[hi:lo]`` is hi-lo+1 wide.
* Assignments, action arguments, ``forward`` and register writes widen a narrower value
  (zero-extension); narrowing needs an explicit cast.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wirespeed.compiler import ast, ir
from wirespeed.compiler import messages as msg
from wirespeed.compiler.diagnostics import Reporter
from wirespeed.compiler.ir import Span

MAX_WIDTH = 128
#: tables, registers and meters hold at most this many entries or cells (16 Mi)
MAX_SIZE = 1 << 24
#: a varbytes field is at most this long (IPv4 options: 40)
MAX_VARBYTES = 255
BUILTIN_ACTIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "nop": (),
    "drop": (),
    "send_to_host": (),
    "forward": (("port", ir.PORT_WIDTH),),
}
HASHES = {"crc16": ir.HashAlgo.CRC16, "crc32": ir.HashAlgo.CRC32}
STD_WIDTHS = {f.name: f.width for f in ir.STD_FIELDS}
READ_ONLY_STD = frozenset({"ingress_port", "packet_length"})
MATCH_KINDS = {k.value: k for k in ir.MatchKind}
STATE_KEYWORDS = (ir.ACCEPT, ir.REJECT)
TMP_PREFIX = "wire_"
STD_PATH = Path(__file__).with_name("std.wire")
STD_FILE = "std.wire"


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FieldR:
    header: str
    field: str
    width: int


@dataclass(frozen=True)
class MetaR:
    scope: str
    name: str
    width: int


@dataclass(frozen=True)
class ParamR:
    name: str
    width: int


@dataclass(frozen=True)
class ValidR:
    header: str


Ref = FieldR | MetaR | ParamR | ValidR


@dataclass
class TableInfo:
    decl: ast.TableDecl
    keys: list[tuple[ast.TableKeyDecl, FieldR | MetaR, ir.MatchKind]] = field(default_factory=list)
    actions: list[ast.Ident] = field(default_factory=list)
    default: ast.ActionRef | None = None
    size: int = 1024
    counters: bool = False
    entries: list[ast.EntryDecl] = field(default_factory=list)
    #: normalised match (and priority) of each checked entry, for duplicates
    entry_keys: dict[tuple, Span] = field(default_factory=dict)

    @property
    def needs_priority(self) -> bool:
        return any(k in (ir.MatchKind.TERNARY, ir.MatchKind.RANGE) for _, _, k in self.keys)

    def action_names(self) -> list[str]:
        names = [a.name for a in self.actions]
        if self.default is not None and self.default.name.name not in names:
            names.append(self.default.name.name)
        if self.default is None and "nop" not in names:
            names.append("nop")
        return names


@dataclass
class ConstInfo:
    decl: ast.ConstDecl
    width: int | None
    value: int | None  # None while being computed or after an error


@dataclass
class Checked:
    """What the checker learned; read by ``compiler.lower``."""

    name: str
    source: str
    header_types: dict[str, ir.HeaderType] = field(default_factory=dict)
    header_decls: dict[str, ast.HeaderDecl] = field(default_factory=dict)
    instances: dict[str, ast.InstanceDecl] = field(default_factory=dict)
    instance_types: dict[str, ir.HeaderType] = field(default_factory=dict)
    metadata: dict[str, ast.MetaFieldDecl] = field(default_factory=dict)
    consts: dict[str, ConstInfo] = field(default_factory=dict)
    registers: dict[str, ast.RegisterDecl] = field(default_factory=dict)
    meters: dict[str, ast.MeterDecl] = field(default_factory=dict)
    actions: dict[str, ast.ActionDecl] = field(default_factory=dict)
    tables: dict[str, TableInfo] = field(default_factory=dict)
    states: dict[str, ast.StateDecl] = field(default_factory=dict)
    control: ast.ControlDecl | None = None
    #: per expression node (by id): its final type, its value when constant, its referent
    types: dict[int, ir.Type] = field(default_factory=dict)
    values: dict[int, int] = field(default_factory=dict)
    refs: dict[int, Ref] = field(default_factory=dict)
    #: keeps every typed node alive so the ids above stay unique
    nodes: list[object] = field(default_factory=list)

    def type_of(self, e: ast.Expr) -> ir.Type:
        return self.types[id(e)]


# -------------------------------------------------------------------------- value model


@dataclass(frozen=True)
class V:
    """The checker's view of an expression: its type (None: an untyped integer, whose
    ``const`` is then set) and its value when known at compile time."""

    ty: ir.Type | None
    const: int | None = None
    ok: bool = True

    @property
    def untyped(self) -> bool:
        return self.ok and self.ty is None

    @property
    def width(self) -> int | None:
        return self.ty.width if isinstance(self.ty, ir.Bits) else None


ERR = V(None, None, ok=False)


def _mask(width: int) -> int:
    return (1 << width) - 1


def _fold(op: str, a: int, b: int, width: int | None) -> int | bool:
    """Compile-time arithmetic; ``width`` None means exact (untyped) integers."""
    m = _mask(width) if width is not None else None
    match op:
        case "+":
            r = a + b
        case "-":
            r = a - b
        case "&":
            r = a & b
        case "|":
            r = a | b
        case "^":
            r = a ^ b
        case "<<":
            r = a << b if width is None or b < width else 0
        case ">>":
            r = a >> b
        case "==":
            return a == b
        case "!=":
            return a != b
        case "<":
            return a < b
        case "<=":
            return a <= b
        case ">":
            return a > b
        case ">=":
            return a >= b
        case _:
            raise AssertionError(op)
    return r & m if m is not None else r


def _describe(v: V) -> str:
    if v.ty is None:
        return "an untyped integer"
    return str(v.ty)


@functools.cache
def std_source() -> str:
    return STD_PATH.read_text()


# ------------------------------------------------------------------------------ checker


class Checker:
    def __init__(self, files: list[ast.SourceFile], main: ast.SourceFile,
                 reporter: Reporter) -> None:
        self.files = files
        self.main = main
        self.r = reporter
        self.c = Checked(Path(main.path).stem, main.text)
        #: the place each name of a namespace was first defined (for duplicate notes)
        self.values_ns: dict[str, tuple[str, Span]] = {}
        self.params: dict[str, ast.ParamDecl] | None = None
        self.in_action: str | None = None
        self.applied: dict[str, Span] = {}
        self.used_actions: set[str] = set()
        self.consts_busy: set[str] = set()
        self.made_valid: set[str] = set()
        self.consts_reported: set[str] = set()
        self.action_calls: dict[str, list[tuple[str, Span]]] = {}
        self.std_imported = any(
            isinstance(d, ast.ImportDecl) and d.module.name == "std" for d in main.decls
        )

    # ---- helpers
    def note_at(self, text: str, span: Span) -> tuple[tuple[str, Span | None], ...]:
        return ((text, span),)

    def record(self, e: object, ty: ir.Type, const: int | None = None) -> None:
        self.c.nodes.append(e)
        self.c.types[id(e)] = ty
        if const is not None:
            self.c.values[id(e)] = const

    def declare_value(self, what: str, ident: ast.Ident) -> bool:
        """Names of headers, constants, registers, meters, actions and tables share one
        namespace. Returns False (after reporting) on a clash."""
        name = ident.name
        if name in ("meta", "std") or name in BUILTIN_ACTIONS or name in HASHES:
            msg.RESERVED.emit(self.r, ident.span, name=name, why="a built-in name")
            return False
        if name.startswith(TMP_PREFIX):
            msg.RESERVED.emit(self.r, ident.span, name=name,
                              why=f"names starting with `{TMP_PREFIX}` are the compiler's")
            return False
        if name in self.values_ns:
            prev_what, prev = self.values_ns[name]
            msg.DUPLICATE.emit(self.r, ident.span, what=what, name=name,
                               notes=self.note_at(f"{prev_what} `{name}` first defined here",
                                                  prev))
            return False
        self.values_ns[name] = (what, ident.span)
        return True

    def suggest(self, name: str, candidates: Iterable[str]
                ) -> tuple[tuple[str, Span | None], ...]:
        """A "did you mean" note when a declared name is close to the unknown one."""
        close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.7)
        return ((f"did you mean `{close[0]}`?", None),) if close else ()

    def suggest_action(self, name: str) -> tuple[tuple[str, Span | None], ...]:
        return self.suggest(name, [*self.c.actions, *BUILTIN_ACTIONS])

    def check_width(self, width: int, span: Span) -> bool:
        if not 1 <= width <= MAX_WIDTH:
            msg.BAD_WIDTH.emit(self.r, span, width=width, max=MAX_WIDTH)
            return False
        return True

    # ---- entry
    def run(self) -> Checked:
        decls = [d for f in self.files for d in f.decls]
        for d in decls:
            if isinstance(d, ast.ImportDecl) and d.module.name != "std":
                msg.UNKNOWN_MODULE.emit(self.r, d.module.span, name=d.module.name)
        for d in decls:
            if isinstance(d, ast.HeaderDecl):
                self.header_type(d)
        parsers: list[ast.ParserDecl] = []
        controls: list[ast.ControlDecl] = []
        for d in decls:
            match d:
                case ast.HeadersDecl():
                    for inst in d.instances:
                        self.instance(inst)
                case ast.MetadataDecl():
                    for mf in d.fields:
                        self.meta_field(mf)
                case ast.ConstDecl():
                    if self.declare_value("constant", d.name):
                        self.c.consts[d.name.name] = ConstInfo(d, d.width, None)
                case ast.RegisterDecl():
                    self.check_width(d.width, d.width_span)
                    if not 1 <= d.size <= MAX_SIZE:
                        msg.BAD_SIZE.emit(self.r, d.size_span, what="a register's size",
                                          max=MAX_SIZE)
                    if self.declare_value("register", d.name):
                        self.c.registers[d.name.name] = d
                case ast.MeterDecl():
                    if d.unit.name not in ("packets", "bytes"):
                        msg.BAD_METER_UNIT.emit(self.r, d.unit.span, name=d.unit.name)
                    if not 1 <= d.size <= MAX_SIZE:
                        msg.BAD_SIZE.emit(self.r, d.size_span, what="a meter's size",
                                          max=MAX_SIZE)
                    if self.declare_value("meter", d.name):
                        self.c.meters[d.name.name] = d
                case ast.ActionDecl():
                    if self.declare_value("action", d.name):
                        self.c.actions[d.name.name] = d
                case ast.TableDecl():
                    if self.declare_value("table", d.name):
                        self.c.tables[d.name.name] = TableInfo(d)
                case ast.ParserDecl():
                    parsers.append(d)
                case ast.ControlDecl():
                    controls.append(d)
                case ast.ImportDecl() | ast.HeaderDecl():
                    pass
        for name in list(self.c.consts):
            self.const_value(name)
        for p in parsers[1:]:
            msg.PARSER_TWICE.emit(self.r, p.span,
                                  notes=self.note_at("the first parser", parsers[0].span))
        self.parser(parsers[0] if parsers else None)
        for action in self.c.actions.values():
            self.action(action)
        self.action_recursion()
        for table in self.c.tables.values():
            self.table(table)
        if not controls:
            msg.NO_CONTROL.emit(self.r, Span(self.main.path, 1, 1, 1, 1))
        for ctl in controls:
            if ctl.name.name != "ingress":
                msg.CONTROL_NAME.emit(self.r, ctl.name.span, name=ctl.name.name)
        if controls:
            first = controls[0]
            for other in controls[1:]:
                if other.name.name == "ingress" and first.name.name == "ingress":
                    msg.DUPLICATE.emit(self.r, other.name.span, what="control", name="ingress",
                                       notes=self.note_at("first defined here", first.name.span))
            self.c.control = first
            self.block(first.body)
        self.unused()
        return self.c

    # ---- declarations
    def header_type(self, d: ast.HeaderDecl) -> None:
        name = d.name.name
        if name in self.c.header_decls:
            prev = self.c.header_decls[name]
            where = "the standard library defines it here" if prev.name.span.file == STD_FILE \
                else "first defined here"
            msg.DUPLICATE.emit(self.r, d.name.span, what="header type", name=name,
                               notes=self.note_at(where, prev.name.span))
            return
        self.c.header_decls[name] = d
        fields: list[ir.Field] = []
        seen: dict[str, Span] = {}
        varlen: ir.VarLen | None = None
        ok = True
        for i, f in enumerate(d.fields):
            fname = f.name.name
            if fname in seen:
                msg.DUPLICATE.emit(self.r, f.name.span, what="field", name=fname,
                                   notes=self.note_at("first defined here", seen[fname]))
                ok = False
                continue
            seen[fname] = f.name.span
            match f:
                case ast.FixedField():
                    if fname == "valid":
                        msg.RESERVED.emit(self.r, f.name.span, name="valid",
                                          why="`h.valid` tells whether a header is valid")
                        ok = False
                    if self.check_width(f.width, f.width_span):
                        fields.append(ir.Field(fname, f.width, f.span))
                    else:
                        ok = False
                case ast.VarField():
                    if i != len(d.fields) - 1:
                        msg.BAD_VARBYTES.emit(self.r, f.span,
                                              why="a varbytes field must be the header's last")
                        ok = False
                        continue
                    varlen = self.varlen(f, {x.name: x for x in fields})
                    ok = ok and varlen is not None
        bits = sum(f.width for f in fields)
        if ok and bits % 8:
            msg.HEADER_NOT_BYTES.emit(self.r, d.name.span, name=name, bits=bits)
        if ok:
            self.c.header_types[name] = ir.HeaderType(name, tuple(fields), varlen, d.span)

    def varlen(self, f: ast.VarField, fields: dict[str, ir.Field]) -> ir.VarLen | None:
        """``field``, ``field * k``, ``field * k + c`` or ``field * k - c`` (or ``+ c`` alone)."""
        if not 1 <= f.max_bytes <= MAX_VARBYTES:
            msg.BAD_SIZE.emit(self.r, f.span, what="a varbytes maximum", max=MAX_VARBYTES)
            return None
        bad = "the length of a varbytes field is `FIELD * SCALE + OFFSET` with an earlier " \
              "field of the header and number literals"

        def lit(e: ast.Expr) -> int | None:
            return e.value if isinstance(e, ast.IntLit) and e.value >= 0 else None

        e = f.length
        offset = 0
        if isinstance(e, ast.Binary) and e.op in ("+", "-") and lit(e.right) is not None:
            offset = lit(e.right) if e.op == "+" else -lit(e.right)  # type: ignore[operator]
            e = e.left
        scale = 1
        if isinstance(e, ast.Binary) and e.op == "*" and lit(e.right) is not None:
            scale = lit(e.right)  # type: ignore[assignment]
            e = e.left
        if not isinstance(e, ast.NameRef):
            msg.BAD_VARBYTES.emit(self.r, f.length.span, why=bad)
            return None
        if e.name not in fields:
            msg.BAD_VARBYTES.emit(self.r, e.span,
                                  why=f"`{e.name}` is not an earlier field of this header")
            return None
        return ir.VarLen(f.name.name, e.name, scale, offset, f.max_bytes)

    def instance(self, inst: ast.InstanceDecl) -> None:
        tname = inst.type_name.name
        htype = self.c.header_types.get(tname)
        if htype is None:
            if tname not in self.c.header_decls:
                notes: tuple[tuple[str, Span | None], ...] = ()
                if not self.std_imported and tname in std_header_names():
                    notes = ((f"`{tname}` is in the standard library: add `import std;`",
                              None),)
                msg.UNKNOWN_HEADER_TYPE.emit(self.r, inst.type_name.span, name=tname,
                                             notes=notes or self.suggest(tname,
                                                                         self.c.header_decls))
            # a header type with its own errors is not reported again here
        if not self.declare_value("header", inst.name):
            return
        self.c.instances[inst.name.name] = inst
        if htype is not None:
            self.c.instance_types[inst.name.name] = htype

    def meta_field(self, mf: ast.MetaFieldDecl) -> None:
        name = mf.name.name
        if name in self.c.metadata:
            msg.DUPLICATE.emit(self.r, mf.name.span, what="metadata field", name=name,
                               notes=self.note_at("first defined here",
                                                  self.c.metadata[name].name.span))
            return
        if name.startswith(TMP_PREFIX):
            msg.RESERVED.emit(self.r, mf.name.span, name=name,
                              why=f"names starting with `{TMP_PREFIX}` are the compiler's")
            return
        if self.check_width(mf.width, mf.width_span):
            self.c.metadata[name] = mf

    def const_value(self, name: str) -> ConstInfo:
        info = self.c.consts[name]
        if info.value is not None or id(info.decl) in self.c.types:
            return info
        d = info.decl
        if name in self.consts_busy:
            if name not in self.consts_reported:
                self.consts_reported.add(name)
                msg.CONST_CYCLE.emit(self.r, d.name.span, name=name)
            return info
        self.consts_busy.add(name)
        try:
            return self._const_value(info)
        finally:
            self.consts_busy.discard(name)
            self.record(info.decl, ir.Bits(info.width or 1))  # marks it done

    def _const_value(self, info: ConstInfo) -> ConstInfo:
        d = info.decl
        if d.width is not None and not self.check_width(d.width, d.width_span):
            return info
        v = self.infer(d.value, d.width)
        if v.ok and v.const is None:
            msg.NOT_CONSTANT.emit(self.r, d.value.span, what="the value of a constant")
        elif v.ok and isinstance(v.ty, ir.BoolType):
            msg.EXPECTED_BITS.emit(self.r, d.value.span, found="bool")
        elif v.ok and v.const is not None:
            if d.width is not None:
                if v.untyped:
                    v = self.settle(d.value, v, d.width)
                elif v.width != d.width:
                    msg.WIDTH_MISMATCH.emit(self.r, d.value.span, op="=", left=d.width,
                                            right=v.width)
                    v = ERR
            elif v.const is not None and v.const < 0:
                msg.NEGATIVE.emit(self.r, d.value.span, value=v.const)
                v = ERR
            if v.ok:
                info.value = v.const
                info.width = d.width if d.width is not None else v.width
        return info

    # ---- expressions
    def settle(self, e: ast.Expr, v: V, width: int | None) -> V:
        """Give an untyped integer its width (checking that it fits) and record the final
        type of ``e``. ``width`` None keeps a typed value as it is."""
        if not v.ok:
            return v
        if v.ty is None:
            assert v.const is not None
            if width is None:
                msg.UNKNOWN_WIDTH.emit(self.r, e.span, text=_text(e))
                return ERR
            if v.const < 0:
                msg.NEGATIVE.emit(self.r, e.span, value=v.const)
                return ERR
            if v.const > _mask(width):
                msg.DOES_NOT_FIT.emit(self.r, e.span, value=_show(v.const), width=width)
                return ERR
            v = V(ir.Bits(width), v.const)
        self.record(e, v.ty, v.const)  # type: ignore[arg-type]
        return v

    def value(self, e: ast.Expr, width: int | None) -> V:
        """A bit<N> value; untyped integers take ``width``."""
        v = self.infer(e, width)
        if v.ok and isinstance(v.ty, ir.BoolType):
            msg.EXPECTED_BITS.emit(self.r, e.span, found="a condition (bool)")
            return ERR
        return self.settle(e, v, width)

    def cond(self, e: ast.Expr) -> V:
        v = self.infer(e, None)
        if v.ok and not isinstance(v.ty, ir.BoolType):
            msg.EXPECTED_BOOL.emit(self.r, e.span, found=_describe(v))
            return ERR
        return self.settle(e, v, None)

    def assignable(self, target: ast.Expr, v: V, value: ast.Expr, width: int) -> V:
        """``value`` (already typed as ``v``) stored into ``width`` bits: widening is free,
        narrowing needs a cast."""
        if not v.ok:
            return v
        if v.untyped:
            return self.settle(value, v, width)
        if isinstance(v.ty, ir.BoolType):
            msg.EXPECTED_BITS.emit(self.r, value.span, found="a condition (bool)")
            return ERR
        if v.width is not None and v.width > width:
            msg.NARROWING.emit(self.r, value.span, value=v.width, target=width)
            return ERR
        return self.settle(value, v, None)

    def infer(self, e: ast.Expr, want: int | None) -> V:
        """The type and constant value of ``e``. Sub-expressions are settled (recorded);
        ``e`` itself is recorded by the caller through ``settle``. ``want`` is a hint for
        operators that need a width to compute an untyped result (``~``)."""
        match e:
            case ast.IntLit():
                if e.value < 0:
                    msg.BAD_LITERAL.emit(self.r, e.span, kind=_lit_kind(e.kind), text=e.text)
                    return ERR
                return V(None, e.value)
            case ast.NameRef():
                return self.name_value(e)
            case ast.Member():
                return self.member(e)
            case ast.Binary():
                return self.binary(e, want)
            case ast.Unary():
                if e.op == "!":
                    v = self.cond(e.operand)
                    if not v.ok:
                        return ERR
                    return V(ir.BOOL, None if v.const is None else int(not v.const))
                v = self.infer(e.operand, want)
                if not v.ok:
                    return ERR
                if isinstance(v.ty, ir.BoolType):
                    msg.EXPECTED_BITS.emit(self.r, e.operand.span, found="a condition (bool)")
                    return ERR
                width = v.width if v.width is not None else want
                if width is None:
                    msg.UNKNOWN_WIDTH.emit(self.r, e.span, text=_text(e))
                    return ERR
                v = self.settle(e.operand, v, width)
                if not v.ok:
                    return ERR
                return V(ir.Bits(width), None if v.const is None else ~v.const & _mask(width))
            case ast.CastExpr():
                if not self.check_width(e.width, e.width_span):
                    return ERR
                v = self.infer(e.value, e.width)
                if not v.ok:
                    return ERR
                if v.untyped:
                    assert v.const is not None
                    if v.const < 0:
                        msg.NEGATIVE.emit(self.r, e.value.span, value=v.const)
                        return ERR
                    # a cast keeps the low bits, so the literal is typed at its own width
                    v = self.settle(e.value, v, max(v.const.bit_length(), 1))
                elif isinstance(v.ty, ir.BoolType):
                    if e.width != 1:
                        msg.BAD_CAST.emit(self.r, e.span, found="bool", width=e.width)
                        return ERR
                    v = self.settle(e.value, v, None)
                else:
                    v = self.settle(e.value, v, None)
                if not v.ok:
                    return ERR
                const = None if v.const is None else v.const & _mask(e.width)
                return V(ir.Bits(e.width), const)
            case ast.SliceExpr():
                return self.slice(e)
            case ast.Call():
                return self.call_value(e)
            case ast.Index():
                if isinstance(e.base, ast.NameRef) and e.base.name in self.c.registers:
                    msg.NOT_HERE.emit(self.r, e.span, what="a register read",
                                      example=f"{e.base.name}[...]")
                    return ERR
                msg.NOT_HERE.emit(self.r, e.span, what="`x[...]` (a register read)",
                                  example="register[index]")
                return ERR
        raise AssertionError(f"unknown expression {e!r}")

    def name_value(self, e: ast.NameRef) -> V:
        name = e.name
        if self.params is not None and name in self.params:
            p = self.params[name]
            if not 1 <= p.width <= MAX_WIDTH:
                return ERR  # its width was reported where the parameter is declared
            self.c.refs[id(e)] = ParamR(name, p.width)
            return V(ir.Bits(p.width))
        if name in self.c.consts:
            info = self.const_value(name)
            if info.value is None:
                return ERR
            return V(None if info.width is None else ir.Bits(info.width), info.value)
        what = self.kind_of(name)
        if what is not None:
            hint = "; use `.valid` or one of its fields" if what == "header" else ""
            msg.NOT_A_VALUE.emit(self.r, e.span, what=what, name=name, hint=hint)
            return ERR
        msg.UNKNOWN_NAME.emit(self.r, e.span, name=name,
                              notes=self.suggest(name, [*self.c.consts, *(self.params or ())]))
        return ERR

    def kind_of(self, name: str) -> str | None:
        for what, table in (("header", self.c.instances), ("register", self.c.registers),
                            ("meter", self.c.meters), ("action", self.c.actions),
                            ("table", self.c.tables)):
            if name in table:
                return what
        if name in BUILTIN_ACTIONS:
            return "built-in action"
        if name in HASHES:
            return "hash function"
        if name in ("meta", "std"):
            return "metadata scope"
        if name in self.values_ns:
            return self.values_ns[name][0]
        return None

    def member(self, e: ast.Member) -> V:
        base, name = e.base, e.name.name
        if isinstance(base, ast.Call) and _is_apply(base) and name in ("hit", "miss"):
            msg.HIT_OUTSIDE_IF.emit(self.r, e.name.span, name=name)
            return ERR
        if not isinstance(base, ast.NameRef):
            msg.UNKNOWN_METHOD.emit(self.r, e.name.span, what="this value", name=name)
            return ERR
        bname = base.name
        if bname in ("meta", "std") and not (self.params and bname in self.params):
            return self.meta_member(e, bname, name)
        if bname in self.c.instances:
            htype = self.c.instance_types.get(bname)
            if name == "valid":
                self.c.refs[id(e)] = ValidR(bname)
                return V(ir.BOOL)
            if htype is None:
                return ERR
            try:
                f = htype.field(name)
            except KeyError:
                if htype.varlen is not None and htype.varlen.name == name:
                    msg.UNKNOWN_FIELD.emit(self.r, e.name.span, header=bname, type=htype.name,
                                           name=name, notes=((
                                               f"`{name}` is a varbytes field: its bytes are "
                                               "carried through but cannot be read or written",
                                               None),))
                else:
                    msg.UNKNOWN_FIELD.emit(self.r, e.name.span, header=bname, type=htype.name,
                                           name=name, notes=self.suggest(
                                               name, [f.name for f in htype.fields]))
                return ERR
            self.c.refs[id(e)] = FieldR(bname, name, f.width)
            return V(ir.Bits(f.width))
        what = self.kind_of(bname)
        if what is None and not (self.params and bname in self.params):
            msg.UNKNOWN_HEADER.emit(self.r, base.span, name=bname,
                                    notes=self.suggest(bname, [*self.c.instances, "meta", "std"]))
            return ERR
        msg.UNKNOWN_METHOD.emit(self.r, e.name.span, what=f"{what or 'parameter'} `{bname}`",
                                name=name)
        return ERR

    def meta_member(self, e: ast.Member, scope: str, name: str) -> V:
        if scope == "std":
            if name not in STD_WIDTHS:
                msg.UNKNOWN_META.emit(self.r, e.name.span, scope=scope, name=name,
                                      notes=self.suggest(name, STD_WIDTHS))
                return ERR
            width = STD_WIDTHS[name]
        else:
            mf = self.c.metadata.get(name)
            if mf is None:
                msg.UNKNOWN_META.emit(self.r, e.name.span, scope=scope, name=name,
                                      notes=self.suggest(name, self.c.metadata))
                return ERR
            width = mf.width
        self.c.refs[id(e)] = MetaR(scope, name, width)
        return V(ir.Bits(width))

    def binary(self, e: ast.Binary, want: int | None) -> V:
        op = e.op
        if op == "*":
            msg.NO_MULTIPLY.emit(self.r, e.span)
            return ERR
        if op in ("&&", "||"):
            a, b = self.cond(e.left), self.cond(e.right)
            if not (a.ok and b.ok):
                return ERR
            if a.const is not None and b.const is not None:
                return V(ir.BOOL, int(bool(a.const) and bool(b.const)) if op == "&&"
                         else int(bool(a.const) or bool(b.const)))
            return V(ir.BOOL)
        if op == "++":
            a, b = self.value(e.left, None), self.value(e.right, None)
            if not (a.ok and b.ok):
                return ERR
            width = a.width + b.width  # type: ignore[operator]
            if width > MAX_WIDTH:
                msg.BAD_WIDTH.emit(self.r, e.span, width=width, max=MAX_WIDTH)
                return ERR
            const = None
            if a.const is not None and b.const is not None:
                const = (a.const << b.width) | b.const  # type: ignore[operator]
            return V(ir.Bits(width), const)
        if op in ("<<", ">>"):
            a = self.infer(e.left, want)
            b = self.infer(e.right, None)
            if not (a.ok and b.ok):
                return ERR
            for side, v in ((e.left, a), (e.right, b)):
                if isinstance(v.ty, ir.BoolType):
                    msg.EXPECTED_BITS.emit(self.r, side.span, found="a condition (bool)")
                    return ERR
            if a.untyped and b.untyped:
                assert a.const is not None and b.const is not None
                if b.const > 4096:
                    msg.DOES_NOT_FIT.emit(self.r, e.right.span, value=b.const, width=12)
                    return ERR
                return V(None, _fold(op, a.const, b.const, None))
            width = a.width if a.width is not None else want
            if width is None:
                msg.UNKNOWN_WIDTH.emit(self.r, e.left.span, text=_text(e.left))
                return ERR
            a = self.settle(e.left, a, width)
            if b.untyped:
                assert b.const is not None
                b = self.settle(e.right, b, max(b.const.bit_length(), 1) if b.const >= 0 else 1)
            else:
                b = self.settle(e.right, b, None)
            if not (a.ok and b.ok):
                return ERR
            const = None
            if a.const is not None and b.const is not None:
                const = int(_fold(op, a.const, b.const, width))
            return V(ir.Bits(width), const)
        # + - & | ^ and comparisons: the same width on both sides
        is_cmp = op in ("==", "!=", "<", "<=", ">", ">=")
        a = self.infer(e.left, None if is_cmp else want)
        b = self.infer(e.right, None if is_cmp else want)
        if not (a.ok and b.ok):
            return ERR
        for side, v in ((e.left, a), (e.right, b)):
            if isinstance(v.ty, ir.BoolType):
                msg.EXPECTED_BITS.emit(self.r, side.span, found="a condition (bool)")
                return ERR
        if a.untyped and b.untyped:
            assert a.const is not None and b.const is not None
            r = _fold(op, a.const, b.const, None)
            return V(ir.BOOL, int(r)) if is_cmp else V(None, int(r))
        if a.untyped:
            width = b.width
        elif b.untyped:
            width = a.width
        else:
            if a.width != b.width:
                msg.WIDTH_MISMATCH.emit(self.r, e.span, op=op, left=a.width, right=b.width)
                return ERR
            width = a.width
        a, b = self.settle(e.left, a, width), self.settle(e.right, b, width)
        if not (a.ok and b.ok):
            return ERR
        const = None
        if a.const is not None and b.const is not None:
            const = int(_fold(op, a.const, b.const, width))
        return V(ir.BOOL, const) if is_cmp else V(ir.Bits(width), const)  # type: ignore[arg-type]

    def slice(self, e: ast.SliceExpr) -> V:
        v = self.value(e.base, None)
        hi, lo = self.constant_int(e.hi, "a slice bound"), self.constant_int(e.lo, "a slice bound")
        if not v.ok or hi is None or lo is None:
            return ERR
        assert v.width is not None
        if not 0 <= lo <= hi < v.width:
            msg.BAD_SLICE.emit(self.r, e.span, hi=hi, lo=lo, width=v.width)
            return ERR
        width = hi - lo + 1
        const = None if v.const is None else (v.const >> lo) & _mask(width)
        return V(ir.Bits(width), const)

    def constant_int(self, e: ast.Expr, what: str) -> int | None:
        """A compile-time number (a literal or constant), not typed by context."""
        v = self.infer(e, None)
        if not v.ok:
            return None
        if v.const is None or isinstance(v.ty, ir.BoolType):
            msg.NOT_CONSTANT.emit(self.r, e.span, what=what)
            return None
        if v.const < 0:
            msg.NEGATIVE.emit(self.r, e.span, value=v.const)
            return None
        self.record(e, v.ty or ir.Bits(max(v.const.bit_length(), 1)), v.const)
        return v.const

    def call_value(self, e: ast.Call) -> V:
        callee = e.callee
        if isinstance(callee, ast.NameRef) and callee.name in HASHES:
            msg.NOT_HERE.emit(self.r, e.span, what=f"`{callee.name}(...)`",
                              example=f"{callee.name}(...)")
            return ERR
        if isinstance(callee, ast.Member) and isinstance(callee.base, ast.NameRef):
            bname = callee.base.name
            if callee.name.name == "execute" and bname in self.c.meters:
                msg.NOT_HERE.emit(self.r, e.span, what="a meter", example=f"{bname}.execute(i)")
                return ERR
            if callee.name.name == "apply" and bname in self.c.tables:
                msg.APPLY_NOT_HERE.emit(self.r, e.span, name=bname)
                return ERR
        if isinstance(callee, ast.NameRef):
            what = self.kind_of(callee.name)
            if what is None:
                msg.UNKNOWN_NAME.emit(self.r, callee.span, name=callee.name)
            else:
                msg.NOT_A_VALUE.emit(self.r, e.span, what=f"a call of {what}", name=callee.name,
                                     hint="")
            return ERR
        msg.NOT_A_VALUE.emit(self.r, e.span, what="a call", name=_text(callee), hint="")
        return ERR

    # ---- the parser graph
    def parser(self, p: ast.ParserDecl | None) -> None:
        if p is None or not p.states:
            msg.NO_PARSER.emit(self.r, p.span if p else Span(self.main.path, 1, 1, 1, 1))
            return
        for st in p.states:
            name = st.name.name
            if name in STATE_KEYWORDS:
                msg.RESERVED.emit(self.r, st.name.span, name=name,
                                  why="the parser's final states are built in")
                continue
            if name in self.c.states:
                msg.DUPLICATE.emit(self.r, st.name.span, what="parser state", name=name,
                                   notes=self.note_at("first defined here",
                                                      self.c.states[name].name.span))
                continue
            self.c.states[name] = st
        for st in p.states:
            if self.c.states.get(st.name.name) is not st:
                continue
            for h in st.extracts:
                if h.name not in self.c.instances:
                    msg.UNKNOWN_HEADER.emit(self.r, h.span, name=h.name,
                                            notes=self.suggest(h.name, self.c.instances))
            for target in _targets(st):
                if target.name not in self.c.states and target.name not in STATE_KEYWORDS:
                    msg.UNKNOWN_STATE.emit(self.r, target.span, name=target.name,
                                           notes=self.suggest(target.name, [
                                               *self.c.states, *STATE_KEYWORDS]))
            if isinstance(st.transition, ast.SelectTransition):
                self.select(st.transition)
        known_extracts = all(h.name in self.c.instances for st in p.states for h in st.extracts)
        known_targets = all(t.name in self.c.states or t.name in STATE_KEYWORDS
                            for st in p.states for t in _targets(st))
        self.parser_graph(p.states[0], known_extracts, known_targets)

    def select(self, t: ast.SelectTransition) -> None:
        widths: list[int | None] = []
        for k in t.keys:
            v = self.value(k, None)
            widths.append(v.width if v.ok else None)
        caught: Span | None = None
        for arm in t.arms:
            if caught is not None:
                msg.DEAD_ARM.emit(self.r, arm.span)
            pats = arm.patterns
            if all(isinstance(p, ast.WildcardPat) for p in pats):
                caught = caught or arm.span
                continue
            if len(pats) != len(widths):
                _count_error(self.r, arm.span, len(pats), len(widths))
                continue
            for pat, width in zip(pats, widths, strict=True):
                if width is not None:
                    self.pattern(pat, width, None, "select")

    def pattern(self, pat: ast.Pattern, width: int, kind: ir.MatchKind | None,
                key: str) -> bool:
        """Check one pattern against a key of ``width`` bits (``kind`` None: a select key).
        True when every value in it is known and fits (errors reported otherwise, or earlier:
        a constant with an error of its own)."""
        ok = True

        def val(e: ast.Expr) -> int | None:
            nonlocal ok
            v = self.infer(e, width)
            if not v.ok:
                ok = False
                return None
            if v.const is None or isinstance(v.ty, ir.BoolType):
                msg.NOT_CONSTANT.emit(self.r, e.span, what="a pattern")
                ok = False
                return None
            if not v.untyped and v.width != width:
                msg.WIDTH_MISMATCH.emit(self.r, e.span, op="match", left=width, right=v.width)
                ok = False
                return None
            settled = self.settle(e, V(None, v.const), width)
            ok = ok and settled.ok
            return settled.const

        def wrong(what: str) -> None:
            nonlocal ok
            assert kind is not None
            msg.PATTERN_KIND.emit(self.r, pat.span, pattern=what, kind=kind.value, key=key)
            ok = False

        match pat:
            case ast.WildcardPat():
                if kind is ir.MatchKind.EXACT:
                    wrong("`_`")
            case ast.ValuePat():
                val(pat.value)
            case ast.MaskPat():
                if kind in (ir.MatchKind.EXACT, ir.MatchKind.LPM, ir.MatchKind.RANGE):
                    wrong("`value &&& mask`")
                val(pat.value)
                val(pat.mask)
            case ast.RangePat():
                if kind in (ir.MatchKind.EXACT, ir.MatchKind.LPM, ir.MatchKind.TERNARY):
                    wrong("`lo..hi`")
                lo, hi = val(pat.lo), val(pat.hi)
                if lo is not None and hi is not None and lo > hi:
                    msg.EMPTY_RANGE.emit(self.r, pat.span, lo=lo, hi=hi)
                    ok = False
            case ast.PrefixPat():
                if kind in (ir.MatchKind.EXACT, ir.MatchKind.RANGE):
                    wrong("`value/prefix`")
                val(pat.value)
                length = self.constant_int(pat.prefix_len, "a prefix length")
                if length is None:
                    ok = False
                elif length > width:
                    msg.BAD_PREFIX.emit(self.r, pat.prefix_len.span, length=length, width=width)
                    ok = False
        return ok

    def parser_graph(self, start: ast.StateDecl, known_extracts: bool = True,
                     known_targets: bool = True) -> None:
        """Loops, unreachable states, and which headers are surely extracted where. After an
        unknown header or state name, the follow-on errors are left out: they are noise."""
        states = self.c.states
        order: list[str] = []  # reachable states in reverse post-order
        colour: dict[str, int] = {}  # 1 on the stack, 2 done
        looped = False

        def visit(name: str, via: Span | None) -> None:
            nonlocal looped
            colour[name] = 1
            for t in _targets(states[name]):
                if t.name not in states:
                    continue
                c = colour.get(t.name)
                if c == 1 and not looped:
                    looped = True
                    msg.PARSER_LOOP.emit(self.r, t.span, name=t.name,
                                         notes=self.note_at(f"state `{t.name}` starts here",
                                                            states[t.name].name.span))
                elif c is None:
                    visit(t.name, t.span)
            colour[name] = 2
            order.append(name)

        if start.name.name not in states:
            return
        visit(start.name.name, None)
        for name, st in states.items():
            if name not in colour:
                if known_targets:  # else the unknown target was probably meant to be it
                    msg.UNREACHABLE_STATE.emit(self.r, st.name.span, name=name)
        if looped:
            return
        order.reverse()
        must: dict[str, set[str]] = {}
        may: dict[str, set[str]] = {}
        must[order[0]], may[order[0]] = set(), set()
        for name in order:
            st = states[name]
            before_must, before_may = must.get(name, set()), may.get(name, set())
            after_must, after_may = set(before_must), set(before_may)
            for h in st.extracts:
                if h.name in after_may:
                    msg.EXTRACTED_TWICE.emit(self.r, h.span, header=h.name)
                after_must.add(h.name)
                after_may.add(h.name)
            if isinstance(st.transition, ast.SelectTransition):
                for k in st.transition.keys:
                    for ref_node, ref in self._refs_in(k):
                        hdr = ref.header if isinstance(ref, (FieldR, ValidR)) else None
                        if hdr is not None and hdr not in after_must and known_extracts \
                                and isinstance(ref, FieldR):
                            msg.NOT_EXTRACTED.emit(self.r, ref_node.span, header=hdr,
                                                   state=name)
            for t in _targets(st):
                if t.name in states:
                    must[t.name] = (must[t.name] & after_must) if t.name in must \
                        else set(after_must)
                    may[t.name] = may.get(t.name, set()) | after_may

    def _refs_in(self, e: ast.Expr) -> Iterator[tuple[ast.Expr, Ref]]:
        ref = self.c.refs.get(id(e))
        if ref is not None:
            yield e, ref
        for child in _children(e):
            yield from self._refs_in(child)

    # ---- actions
    def action(self, a: ast.ActionDecl) -> None:
        params: dict[str, ast.ParamDecl] = {}
        for p in a.params:
            self.check_width(p.width, p.width_span)
            if p.name.name in params:
                msg.DUPLICATE.emit(self.r, p.name.span, what="parameter", name=p.name.name,
                                   notes=self.note_at("first defined here",
                                                      params[p.name.name].name.span))
                continue
            if p.name.name in ("meta", "std") or p.name.name in self.c.instances:
                why = "a header of the program" if p.name.name in self.c.instances \
                    else "a metadata scope"
                msg.RESERVED.emit(self.r, p.name.span, name=p.name.name, why=why)
                continue
            params[p.name.name] = p
        self.params, self.in_action = params, a.name.name
        self.action_calls[a.name.name] = []
        try:
            self.block(a.body)
        finally:
            self.params, self.in_action = None, None

    def action_recursion(self) -> None:
        """One error per cycle of action calls, at the first call of the cycle's first action
        (in declaration order)."""
        in_cycle: set[str] = set()

        def path_back(start: str, name: str, seen: set[str]) -> list[str] | None:
            for callee, _ in self.action_calls.get(name, []):
                if callee == start:
                    return [name]
                if callee not in seen:
                    seen.add(callee)
                    rest = path_back(start, callee, seen)
                    if rest is not None:
                        return [name, *rest]
            return None

        for name, calls in self.action_calls.items():
            if name in in_cycle:
                continue
            for callee, span in calls:
                cycle = [name] if callee == name else path_back(name, callee, set())
                if cycle is None:
                    continue
                in_cycle.update(cycle)
                others = [c for c in cycle if c != name]
                via = " (through " + ", ".join(f"`{c}`" for c in others) + ")" if others else ""
                msg.RECURSION.emit(self.r, span, name=name, via=via)
                break

    # ---- tables
    def table(self, t: TableInfo) -> None:
        seen: dict[str, Span] = {}
        tname = t.decl.name.name
        for prop in t.decl.props:
            key = type(prop).__name__
            label = {"KeysProp": "key", "ActionsProp": "actions", "DefaultProp": "default",
                     "SizeProp": "size", "CountersProp": "counters",
                     "EntriesProp": "entries"}[key]
            if key in seen:
                msg.PROPERTY_TWICE.emit(self.r, prop.span, table=tname, prop=label,
                                        notes=self.note_at("first given here", seen[key]))
                continue
            seen[key] = prop.span
            match prop:
                case ast.KeysProp():
                    self.table_keys(t, prop)
                case ast.ActionsProp():
                    names: set[str] = set()
                    for a in prop.actions:
                        if a.name in names:
                            msg.DUPLICATE.emit(self.r, a.span, what="action in the list",
                                               name=a.name)
                            continue
                        names.add(a.name)
                        if a.name not in self.c.actions and a.name not in BUILTIN_ACTIONS:
                            msg.UNKNOWN_ACTION.emit(self.r, a.span, name=a.name,
                                                    notes=self.suggest_action(a.name))
                            continue
                        self.used_actions.add(a.name)
                        t.actions.append(a)
                case ast.DefaultProp():
                    t.default = prop.action
                case ast.SizeProp():
                    if not 1 <= prop.size <= MAX_SIZE:
                        msg.BAD_SIZE.emit(self.r, prop.span, what="a table's size",
                                          max=MAX_SIZE)
                    t.size = prop.size
                case ast.CountersProp():
                    t.counters = True
                case ast.EntriesProp():
                    t.entries = list(prop.entries)
        if "ActionsProp" not in seen:
            msg.NO_ACTIONS.emit(self.r, t.decl.name.span, name=tname)
        if t.default is not None:
            self.action_ref(t, t.default, "default")
        for entry in t.entries:
            self.entry(t, entry)
        if len(t.entries) > t.size >= 1 and t.size <= MAX_SIZE:
            msg.TOO_MANY_ENTRIES.emit(self.r, t.decl.name.span, table=tname,
                                      count=len(t.entries), size=t.size)

    def table_keys(self, t: TableInfo, prop: ast.KeysProp) -> None:
        lpm: Span | None = None
        for k in prop.keys:
            kind = MATCH_KINDS.get(k.kind.name)
            if kind is None:
                msg.BAD_MATCH_KIND.emit(self.r, k.kind.span, name=k.kind.name)
            elif kind is ir.MatchKind.LPM:
                if lpm is not None:
                    msg.TWO_LPM.emit(self.r, k.kind.span,
                                     notes=self.note_at("the first lpm key", lpm))
                    kind = None
                lpm = lpm or k.kind.span
            if not isinstance(k.expr, ast.Member):
                msg.BAD_KEY.emit(self.r, k.expr.span)
                continue
            v = self.value(k.expr, None)
            if not v.ok:
                continue
            ref = self.c.refs.get(id(k.expr))
            if not isinstance(ref, (FieldR, MetaR)):
                msg.BAD_KEY.emit(self.r, k.expr.span)
                continue
            if kind is not None:
                t.keys.append((k, ref, kind))

    def action_ref(self, t: TableInfo, ref: ast.ActionRef, where: str) -> None:
        name = ref.name.name
        tname = t.decl.name.name
        listed = [a.name for a in t.actions]
        if name in self.c.actions:
            params = [(p.name.name, p.width) for p in self.c.actions[name].params]
        elif name in BUILTIN_ACTIONS:
            params = list(BUILTIN_ACTIONS[name])
        else:
            msg.UNKNOWN_ACTION.emit(self.r, ref.name.span, name=name,
                                    notes=self.suggest_action(name))
            return
        if name not in listed and (where != "default" or name not in BUILTIN_ACTIONS):
            msg.DEFAULT_NOT_LISTED.emit(self.r, ref.name.span, name=name, table=tname) \
                if where == "default" else \
                msg.ACTION_NOT_LISTED.emit(self.r, ref.name.span, name=name, table=tname)
            return
        self.used_actions.add(name)
        if len(ref.args) != len(params):
            n = len(params)
            msg.ARITY.emit(self.r, ref.span, name=name, expected=n, s="" if n == 1 else "s",
                           found=len(ref.args))
            return
        for arg, (_, width) in zip(ref.args, params, strict=True):
            if not 1 <= width <= MAX_WIDTH:
                continue  # reported where the parameter is declared
            v = self.infer(arg, width)
            if not v.ok:
                continue
            if v.const is None or isinstance(v.ty, ir.BoolType):
                msg.NOT_CONSTANT.emit(self.r, arg.span, what=f"an argument of `{where}`"
                                      if where == "default" else "an entry's argument")
                continue
            if not v.untyped and v.width is not None and v.width > width:
                msg.NARROWING.emit(self.r, arg.span, value=v.width, target=width)
                continue
            self.settle(arg, V(None, v.const), width)

    def entry(self, t: TableInfo, e: ast.EntryDecl) -> None:
        tname = t.decl.name.name
        if len(e.patterns) != len(t.keys):
            _count_error(self.r, e.span, len(e.patterns), len(t.keys))
        else:
            checked = [self.pattern(pat, ref.width, kind, _text(kdecl.expr))
                       for pat, (kdecl, ref, kind) in zip(e.patterns, t.keys, strict=True)]
            if all(checked):
                # the control plane refuses a second entry with the same match (and priority)
                key = (tuple(entry_match(p, kind, ref.width, lambda x: self.c.values[id(x)])
                             for p, (_, ref, kind) in zip(e.patterns, t.keys, strict=True)),
                       e.priority if t.needs_priority else None)
                if key in t.entry_keys:
                    msg.DUPLICATE_ENTRY.emit(self.r, e.span, table=tname,
                                             notes=self.note_at("the first entry",
                                                                t.entry_keys[key]))
                else:
                    t.entry_keys[key] = e.span
        if t.needs_priority and e.priority is None:
            msg.NEEDS_PRIORITY.emit(self.r, e.span, table=tname)
        elif not t.needs_priority and e.priority is not None:
            msg.NO_PRIORITY.emit(self.r, e.priority_span, table=tname)
        self.action_ref(t, e.action, "entry")

    # ---- statements
    def block(self, stmts: tuple[ast.Stmt, ...]) -> None:
        returned = False
        for s in stmts:
            if returned:
                msg.DEAD_CODE.emit(self.r, s.span)
                returned = False  # one warning per block
            self.stmt(s)
            if isinstance(s, ast.ReturnStmt):
                returned = True

    def not_in_action(self, what: str, span: Span) -> bool:
        if self.in_action is not None:
            msg.NOT_IN_ACTION.emit(self.r, span, what=what)
            return True
        return False

    def stmt(self, s: ast.Stmt) -> None:
        match s:
            case ast.AssignStmt():
                self.assign(s)
            case ast.ExprStmt():
                self.expr_stmt(s)
            case ast.IfStmt():
                if self.not_in_action("`if`", s.span):
                    return
                table = _apply_condition(s.cond)
                if table is not None:
                    self.apply(table[0], table[1])
                else:
                    self.cond(s.cond)
                self.block(s.then)
                self.block(s.otherwise)
            case ast.SwitchStmt():
                if self.not_in_action("`switch`", s.span):
                    return
                self.switch(s)
            case ast.ReturnStmt():
                self.not_in_action("`return`", s.span)

    def apply(self, call: ast.Call, name_ref: ast.NameRef) -> TableInfo | None:
        name = name_ref.name
        if self.not_in_action("`apply`", call.span):
            return None
        if name not in self.c.tables:
            if self.kind_of(name) is None:
                msg.UNKNOWN_TABLE.emit(self.r, name_ref.span, name=name,
                                       notes=self.suggest(name, self.c.tables))
            else:
                msg.UNKNOWN_METHOD.emit(self.r, call.span, what=f"{self.kind_of(name)} `{name}`",
                                        name="apply")
            return None
        if call.args:
            msg.ARITY.emit(self.r, call.span, name=f"{name}.apply", expected=0, s="s",
                           found=len(call.args))
        if name in self.applied:
            msg.APPLIED_TWICE.emit(self.r, call.span, name=name,
                                   notes=self.note_at("first applied here", self.applied[name]))
        else:
            self.applied[name] = call.span
        return self.c.tables[name]

    def switch(self, s: ast.SwitchStmt) -> None:
        subject = s.subject
        table: TableInfo | None = None
        if isinstance(subject, ast.Call) and _is_apply(subject):
            assert isinstance(subject.callee, ast.Member)
            assert isinstance(subject.callee.base, ast.NameRef)
            table = self.apply(subject, subject.callee.base)
        else:
            msg.SWITCH_NOT_APPLY.emit(self.r, subject.span)
        labels: dict[str, Span] = {}
        for case in s.cases:
            names = [(lab.name, lab.span) for lab in case.labels] or [("default", case.span)]
            for name, span in names:
                if name in labels:
                    msg.DUPLICATE_CASE.emit(self.r, span, name=name,
                                            notes=self.note_at("first case here", labels[name]))
                    continue
                labels[name] = span
                if table is not None and name != "default" \
                        and name not in table.action_names():
                    msg.ACTION_NOT_LISTED.emit(self.r, span, name=name,
                                               table=table.decl.name.name)
            self.block(case.body)

    def expr_stmt(self, s: ast.ExprStmt) -> None:
        e = s.expr
        if not isinstance(e, ast.Call):
            msg.NOT_A_STATEMENT.emit(self.r, e.span)
            self.infer(e, None)
            return
        callee = e.callee
        if isinstance(callee, ast.NameRef):
            name = callee.name
            if name in BUILTIN_ACTIONS or name in self.c.actions:
                self.action_call(e, name)
                return
            if name in HASHES:
                msg.NOT_HERE.emit(self.r, e.span, what=f"`{name}(...)`", example=f"{name}(...)")
                return
            msg.UNKNOWN_ACTION.emit(self.r, callee.span, name=name,
                                    notes=self.suggest_action(name))
            return
        if isinstance(callee, ast.Member) and isinstance(callee.base, ast.NameRef):
            bname, method = callee.base.name, callee.name.name
            if method in ("setValid", "setInvalid"):
                if bname not in self.c.instances:
                    msg.UNKNOWN_HEADER.emit(self.r, callee.base.span, name=bname,
                                            notes=self.suggest(bname, self.c.instances))
                elif e.args:
                    msg.ARITY.emit(self.r, e.span, name=method, expected=0, s="s",
                                   found=len(e.args))
                elif method == "setValid":
                    self.made_valid.add(bname)
                return
            if method == "apply":
                self.apply(e, callee.base)
                return
            if method == "execute" and bname in self.c.meters:
                msg.NOT_HERE.emit(self.r, e.span, what="a meter", example=f"{bname}.execute(i)")
                return
            what = self.kind_of(bname)
            if what is None:
                msg.UNKNOWN_NAME.emit(self.r, callee.base.span, name=bname)
            else:
                msg.UNKNOWN_METHOD.emit(self.r, callee.name.span, what=f"{what} `{bname}`",
                                        name=method)
            return
        msg.NOT_A_STATEMENT.emit(self.r, e.span)

    def action_call(self, e: ast.Call, name: str) -> None:
        if name in BUILTIN_ACTIONS:
            params = list(BUILTIN_ACTIONS[name])
        else:
            params = [(p.name.name, p.width) for p in self.c.actions[name].params]
            self.used_actions.add(name)
            if self.in_action is not None:
                self.action_calls[self.in_action].append((name, e.span))
        if len(e.args) != len(params):
            n = len(params)
            msg.ARITY.emit(self.r, e.span, name=name, expected=n, s="" if n == 1 else "s",
                           found=len(e.args))
            for arg in e.args:
                self.infer(arg, None)
            return
        for arg, (_, width) in zip(e.args, params, strict=True):
            if not 1 <= width <= MAX_WIDTH:
                self.infer(arg, None)  # the width was reported at the parameter
                continue
            self.assignable(arg, self.infer(arg, width), arg, width)

    def lvalue(self, target: ast.Expr) -> int | None:
        """The width of an assignable place, or None after reporting why it is not one."""
        if not isinstance(target, ast.Member) or not isinstance(target.base, ast.NameRef):
            if isinstance(target, ast.NameRef) and self.params and target.name in self.params:
                msg.NOT_ASSIGNABLE.emit(self.r, target.span)
                return None
            self.infer(target, None) if isinstance(target, ast.NameRef) else None
            msg.NOT_ASSIGNABLE.emit(self.r, target.span)
            return None
        v = self.member(target)
        if not v.ok:
            return None
        ref = self.c.refs.get(id(target))
        if isinstance(ref, MetaR) and ref.scope == "std" and ref.name in READ_ONLY_STD:
            msg.READ_ONLY.emit(self.r, target.span, name=ref.name)
            return None
        if not isinstance(ref, (FieldR, MetaR)):
            msg.NOT_ASSIGNABLE.emit(self.r, target.span)
            return None
        self.record(target, v.ty)  # type: ignore[arg-type]
        return v.width

    def assign(self, s: ast.AssignStmt) -> None:
        target, value = s.target, s.value
        if isinstance(target, ast.Index):
            self.register_write(s, target)
            return
        width = self.lvalue(target)
        # a few right-hand sides are statements of their own
        if isinstance(value, ast.Call) and isinstance(value.callee, ast.NameRef) \
                and value.callee.name in HASHES:
            if s.op is not None:
                msg.NOT_HERE.emit(self.r, value.span, what=f"`{value.callee.name}(...)`",
                                  example=f"{value.callee.name}(...)")
                return
            self.hash(value, value.callee.name)
            return
        if isinstance(value, ast.Index) and isinstance(value.base, ast.NameRef) \
                and value.base.name in self.c.registers and s.op is None:
            reg = self.c.registers[value.base.name]
            self.register_index(value.index, "register", reg.name.name, reg.size)
            if width is not None and width != reg.width:
                msg.REGISTER_WIDTH.emit(self.r, s.span, name=reg.name.name, width=reg.width,
                                        found=width)
            return
        if isinstance(value, ast.Call) and isinstance(value.callee, ast.Member) \
                and isinstance(value.callee.base, ast.NameRef) \
                and value.callee.name.name == "execute" \
                and value.callee.base.name in self.c.meters and s.op is None:
            if len(value.args) != 1:
                msg.ARITY.emit(self.r, value.span, name="execute", expected=1, s="",
                               found=len(value.args))
            else:
                meter = self.c.meters[value.callee.base.name]
                self.register_index(value.args[0], "meter", meter.name.name, meter.size)
            if width is not None and width < 2:
                msg.METER_TARGET.emit(self.r, target.span, width=width)
            return
        if s.op is not None:
            # x op= e is x = x op e: the same width on both sides
            v = self.infer(value, width)
            if width is None or not v.ok:
                return
            if isinstance(v.ty, ir.BoolType):
                msg.EXPECTED_BITS.emit(self.r, value.span, found="a condition (bool)")
            elif v.untyped:
                self.settle(value, v, width)
            elif v.width != width:
                msg.WIDTH_MISMATCH.emit(self.r, s.span, op=s.op, left=width, right=v.width)
            else:
                self.settle(value, v, None)
            return
        v = self.infer(value, width)
        if width is not None:  # else the target's error is reported, and that is enough
            self.assignable(target, v, value, width)

    def register_index(self, e: ast.Expr, what: str, name: str, size: int) -> None:
        v = self.infer(e, None)
        if v.ok and v.const is not None and v.const >= size >= 1:
            msg.INDEX_OUT_OF_RANGE.emit(self.r, e.span, index=v.const, what=what, name=name,
                                        size=size)
        if v.untyped:
            assert v.const is not None
            self.settle(e, v, max(v.const.bit_length(), 1) if v.const >= 0 else 1)
        elif v.ok and isinstance(v.ty, ir.BoolType):
            msg.EXPECTED_BITS.emit(self.r, e.span, found="a condition (bool)")
        elif v.ok:
            self.settle(e, v, None)

    def register_write(self, s: ast.AssignStmt, target: ast.Index) -> None:
        base = target.base
        if not isinstance(base, ast.NameRef) or base.name not in self.c.registers:
            if isinstance(base, ast.NameRef) and self.kind_of(base.name) is None:
                msg.UNKNOWN_NAME.emit(self.r, base.span, name=base.name)
            else:
                msg.NOT_ASSIGNABLE.emit(self.r, target.span)
            return
        reg = self.c.registers[base.name]
        self.register_index(target.index, "register", reg.name.name, reg.size)
        v = self.infer(s.value, reg.width)
        if not v.ok:
            return
        if isinstance(v.ty, ir.BoolType):
            msg.EXPECTED_BITS.emit(self.r, s.value.span, found="a condition (bool)")
        elif v.untyped:
            self.settle(s.value, v, reg.width)
        elif v.width is not None and (v.width > reg.width or (s.op and v.width != reg.width)):
            msg.REGISTER_WIDTH.emit(self.r, s.value.span, name=reg.name.name, width=reg.width,
                                    found=v.width)
        else:
            self.settle(s.value, v, None)

    def hash(self, call: ast.Call, algo: str) -> None:
        total = 0
        ok = True
        if not call.args:
            msg.ARITY.emit(self.r, call.span, name=algo, expected="at least 1", s="",
                           found=0)
            return
        for arg in call.args:
            v = self.value(arg, None)
            if not v.ok:
                ok = False
                continue
            total += v.width or 0
        if ok and total % 8:
            msg.HASH_WIDTH.emit(self.r, call.span, algo=algo, bits=total)

    # ---- warnings about the whole program
    def unused(self) -> None:
        if self.r.has_errors:
            return  # after an error, "never used" is more often noise than news
        for name, t in self.c.tables.items():
            if name not in self.applied and self.c.control is not None:
                msg.UNUSED_TABLE.emit(self.r, t.decl.name.span, name=name)
        for name, a in self.c.actions.items():
            if name not in self.used_actions:
                msg.UNUSED_ACTION.emit(self.r, a.name.span, name=name)
        extracted = {h.name for st in self.c.states.values() for h in st.extracts}
        for name, inst in self.c.instances.items():
            if name not in extracted and name not in self.made_valid:
                msg.NEVER_VALID.emit(self.r, inst.name.span, name=name)


# ------------------------------------------------------------------------------- helpers


def _prefix_mask(length: int, width: int) -> int:
    return _mask(width) ^ _mask(width - length)


def entry_match(p: ast.Pattern, kind: ir.MatchKind, width: int,
                val: Callable[[ast.Expr], int]) -> ir.Match:
    """A checked entry pattern as the one IR match its key kind uses (see compiler.lower)."""
    full = _mask(width)
    match kind, p:
        case ir.MatchKind.EXACT, ast.ValuePat():
            return ir.Exact(val(p.value))
        case ir.MatchKind.LPM, ast.WildcardPat():
            return ir.Lpm(0, 0)
        case ir.MatchKind.LPM, ast.ValuePat():
            return ir.Lpm(val(p.value), width)
        case ir.MatchKind.LPM, ast.PrefixPat():
            length = val(p.prefix_len)
            return ir.Lpm(val(p.value) & _prefix_mask(length, width), length)
        case ir.MatchKind.TERNARY, ast.WildcardPat():
            return ir.Ternary(0, 0)
        case ir.MatchKind.TERNARY, ast.ValuePat():
            return ir.Ternary(val(p.value), full)
        case ir.MatchKind.TERNARY, ast.MaskPat():
            m = val(p.mask)
            return ir.Ternary(val(p.value) & m, m)
        case ir.MatchKind.TERNARY, ast.PrefixPat():
            m = _prefix_mask(val(p.prefix_len), width)
            return ir.Ternary(val(p.value) & m, m)
        case ir.MatchKind.RANGE, ast.WildcardPat():
            return ir.Range(0, full)
        case ir.MatchKind.RANGE, ast.ValuePat():
            v = val(p.value)
            return ir.Range(v, v)
        case ir.MatchKind.RANGE, ast.RangePat():
            return ir.Range(val(p.lo), val(p.hi))
    raise AssertionError(f"unchecked pattern {p!r} for a {kind} key")


def _count_error(reporter: Reporter, span: Span, found: int, expected: int) -> None:
    msg.PATTERN_COUNT.emit(reporter, span, found=found, s="" if found == 1 else "s",
                           are="is" if expected == 1 else "are", expected=expected,
                           ks="" if expected == 1 else "s")


def _targets(st: ast.StateDecl) -> list[ast.Ident]:
    t = st.transition
    if isinstance(t, ast.NextTransition):
        return [t.target]
    return [arm.next_state for arm in t.arms]


def _is_apply(call: ast.Call) -> bool:
    return (isinstance(call.callee, ast.Member) and call.callee.name.name == "apply"
            and isinstance(call.callee.base, ast.NameRef))


def _apply_condition(cond: ast.Expr) -> tuple[ast.Call, ast.NameRef] | None:
    """``t.apply().hit`` / ``.miss`` as the whole condition of an ``if``."""
    if isinstance(cond, ast.Member) and cond.name.name in ("hit", "miss") \
            and isinstance(cond.base, ast.Call) and _is_apply(cond.base):
        callee = cond.base.callee
        assert isinstance(callee, ast.Member) and isinstance(callee.base, ast.NameRef)
        return cond.base, callee.base
    return None


def _children(e: ast.Expr) -> tuple[ast.Expr, ...]:
    match e:
        case ast.IntLit() | ast.NameRef():
            return ()
        case ast.Member():
            return (e.base,)
        case ast.Call():
            return (e.callee, *e.args)
        case ast.Index():
            return (e.base, e.index)
        case ast.SliceExpr():
            return (e.base, e.hi, e.lo)
        case ast.Binary():
            return (e.left, e.right)
        case ast.Unary():
            return (e.operand,)
        case ast.CastExpr():
            return (e.value,)
    raise AssertionError(e)


def _text(e: ast.Expr) -> str:
    """Source-like text of a small expression, for messages."""
    match e:
        case ast.IntLit():
            return e.text
        case ast.NameRef():
            return e.name
        case ast.Member():
            return f"{_text(e.base)}.{e.name.name}"
        case ast.Call():
            return f"{_text(e.callee)}({', '.join(_text(a) for a in e.args)})"
        case ast.Index():
            return f"{_text(e.base)}[{_text(e.index)}]"
        case ast.SliceExpr():
            return f"{_text(e.base)}[{_text(e.hi)}:{_text(e.lo)}]"
        case ast.Binary():
            return f"{_text(e.left)} {e.op} {_text(e.right)}"
        case ast.Unary():
            return f"{e.op}{_text(e.operand)}"
        case ast.CastExpr():
            return f"(bit<{e.width}>) {_text(e.value)}"
    return "?"


def _show(value: int) -> str:
    return str(value) if value < 1 << 16 else hex(value)


def _lit_kind(kind: str) -> str:
    return {"number": "number", "ipv4": "IPv4", "mac": "MAC", "ipv6": "IPv6"}[kind]


@functools.cache
def std_header_names() -> frozenset[str]:
    import re
    return frozenset(re.findall(r"^header\s+(\w+)", std_source(), re.M))
