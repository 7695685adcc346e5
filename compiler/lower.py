"""Lowering: a checked AST to ``ir.Program``.

Everything here was already checked (``compiler.check``); this module decides nothing about
the user's program and reports nothing. A failed assumption is a compiler bug and raises.

What it does on the way:

* constants are folded (the checker computed every constant value) and literals typed;
* a narrower value stored into a wider place gets an explicit ``ir.Cast``;
* action calls in the control are inlined with their arguments (an argument that the action
  body could change before reading it is copied into a compiler temporary first);
* ``reg[i] op= v`` becomes ``RegisterRead`` into a temporary metadata field plus
  ``RegisterWrite``; temporaries are ``meta.wire_tmpN`` (valid C and P4 identifiers);
* built-in actions become real ``ir.Action``s when a table lists them or takes them as default;
* constant entries are normalised per key kind (exact: ``Exact``; lpm: ``Lpm``, ``_`` is /0;
  ternary: ``Ternary``, ``_`` is mask 0; range: ``Range``, ``_`` is the full range);
* a select's first catch-all arm becomes the state's default (``reject`` when there is none).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wirespeed.compiler import ast, ir
from wirespeed.compiler.check import (
    BUILTIN_ACTIONS,
    HASHES,
    Checked,
    FieldR,
    MetaR,
    ParamR,
    TableInfo,
    ValidR,
    _apply_condition,
    _prefix_mask,
    entry_match,
)

BUILTIN_ORDER = ("nop", "drop", "send_to_host", "forward")
_BINOPS = {k.value: k for k in ir.BinOpKind}

Subst = dict[str, ir.Expr]


def builtin_action(name: str) -> ir.Action:
    port = ir.ParamRef("port", ir.Bits(ir.PORT_WIDTH))
    match name:
        case "nop":
            return ir.Action("nop", (), ())
        case "drop":
            return ir.Action("drop", (), (ir.Drop(),))
        case "send_to_host":
            return ir.Action("send_to_host", (), (ir.SendToHost(),))
        case "forward":
            return ir.Action("forward", (ir.Param("port", ir.PORT_WIDTH),), (ir.Forward(port),))
    raise AssertionError(name)


def widen(value: ir.Expr, width: int) -> ir.Expr:
    """``value`` as ``width`` bits: a cast when it is narrower (the checker forbade wider)."""
    vtype = value.type
    if isinstance(vtype, ir.Bits) and vtype.width == width:
        return value
    if isinstance(value, ir.Const) and isinstance(vtype, ir.Bits):
        return ir.Const(value.value, ir.Bits(width))
    return ir.Cast(value, ir.Bits(width))


@dataclass
class _Temps:
    counter: int = 0
    fields: list[ir.MetaField] = field(default_factory=list)
    register_tmp: dict[int, ir.MetaRef] = field(default_factory=dict)

    def fresh(self, width: int) -> ir.MetaRef:
        name = f"wire_tmp{self.counter}"
        self.counter += 1
        self.fields.append(ir.MetaField("meta", name, width))
        return ir.MetaRef("meta", name, ir.Bits(width))

    def for_register(self, width: int) -> ir.MetaRef:
        if width not in self.register_tmp:
            self.register_tmp[width] = self.fresh(width)
        return self.register_tmp[width]


class Lowerer:
    def __init__(self, checked: Checked) -> None:
        self.c = checked
        self.temps = _Temps()

    # ---- expressions
    def expr(self, e: ast.Expr, subst: Subst) -> ir.Expr:
        key = id(e)
        if key in self.c.values:
            return ir.Const(self.c.values[key], self.c.types[key])
        ref = self.c.refs.get(key)
        if ref is not None:
            match ref:
                case FieldR(header, fname, width):
                    return ir.FieldRef(header, fname, ir.Bits(width))
                case MetaR(scope, name, width):
                    return ir.MetaRef(scope, name, ir.Bits(width))
                case ParamR(name, width):
                    return subst.get(name, ir.ParamRef(name, ir.Bits(width)))
                case ValidR(header):
                    return ir.IsValid(header)
        match e:
            case ast.Binary():
                left, right = self.expr(e.left, subst), self.expr(e.right, subst)
                ty = self.c.types[key]
                if e.op == "++":
                    assert isinstance(ty, ir.Bits)
                    return ir.Concat(left, right, ty)
                return ir.BinOp(_BINOPS[e.op], left, right, ty)
            case ast.Unary():
                kind = ir.UnOpKind.LNOT if e.op == "!" else ir.UnOpKind.NOT
                return ir.UnOp(kind, self.expr(e.operand, subst), self.c.types[key])
            case ast.CastExpr():
                value = self.expr(e.value, subst)
                if value.type == ir.Bits(e.width):
                    return value
                return ir.Cast(value, ir.Bits(e.width))
            case ast.SliceExpr():
                ty = self.c.types[key]
                assert isinstance(ty, ir.Bits)
                hi, lo = self.c.values[id(e.hi)], self.c.values[id(e.lo)]
                return ir.Slice(self.expr(e.base, subst), hi, lo, ty)
        raise AssertionError(f"cannot lower expression {e!r}")

    def lvalue(self, e: ast.Expr) -> ir.FieldRef | ir.MetaRef:
        ref = self.c.refs[id(e)]
        match ref:
            case FieldR(header, fname, width):
                return ir.FieldRef(header, fname, ir.Bits(width))
            case MetaR(scope, name, width):
                return ir.MetaRef(scope, name, ir.Bits(width))
        raise AssertionError(f"not an lvalue: {e!r}")

    # ---- statements
    def block(self, stmts: tuple[ast.Stmt, ...], subst: Subst) -> tuple[ir.Stmt, ...]:
        out: list[ir.Stmt] = []
        for s in stmts:
            out.extend(self.stmt(s, subst))
        return tuple(out)

    def stmt(self, s: ast.Stmt, subst: Subst) -> list[ir.Stmt]:
        match s:
            case ast.AssignStmt():
                return self.assign(s, subst)
            case ast.ExprStmt():
                return self.call_stmt(s, subst)
            case ast.IfStmt():
                apply = _apply_condition(s.cond)
                then, otherwise = self.block(s.then, subst), self.block(s.otherwise, subst)
                if apply is not None:
                    member = s.cond
                    assert isinstance(member, ast.Member)
                    if member.name.name == "miss":
                        then, otherwise = otherwise, then
                    return [ir.ApplyHit(apply[1].name, then, otherwise, s.span)]
                return [ir.If(self.expr(s.cond, subst), then, otherwise, s.span)]
            case ast.SwitchStmt():
                subject = s.subject
                assert isinstance(subject, ast.Call) and isinstance(subject.callee, ast.Member)
                assert isinstance(subject.callee.base, ast.NameRef)
                cases: list[ir.SwitchCase] = []
                default: tuple[ir.Stmt, ...] = ()
                for case in s.cases:
                    body = self.block(case.body, subst)
                    if case.labels:
                        cases.append(ir.SwitchCase(tuple(lab.name for lab in case.labels), body))
                    else:
                        default = body
                return [ir.ApplySwitch(subject.callee.base.name, tuple(cases), default, s.span)]
            case ast.ReturnStmt():
                return [ir.Return(s.span)]
        raise AssertionError(f"cannot lower statement {s!r}")

    def assign(self, s: ast.AssignStmt, subst: Subst) -> list[ir.Stmt]:
        target, value = s.target, s.value
        if isinstance(target, ast.Index):
            assert isinstance(target.base, ast.NameRef)
            reg = self.c.registers[target.base.name]
            index = self.expr(target.index, subst)
            new = widen(self.expr(value, subst), reg.width)
            if s.op is None:
                return [ir.RegisterWrite(reg.name.name, index, new, s.span)]
            tmp = self.temps.for_register(reg.width)
            combined = ir.BinOp(_BINOPS[s.op], tmp, new, ir.Bits(reg.width))
            return [ir.RegisterRead(tmp, reg.name.name, index, s.span),
                    ir.RegisterWrite(reg.name.name, index, combined, s.span)]
        lv = self.lvalue(target)
        width = lv.type.width
        if isinstance(value, ast.Call) and isinstance(value.callee, ast.NameRef) \
                and value.callee.name in HASHES:
            fields = tuple(self.expr(a, subst) for a in value.args)
            return [ir.Hash(lv, HASHES[value.callee.name], fields, s.span)]
        if isinstance(value, ast.Index):
            assert isinstance(value.base, ast.NameRef)
            return [ir.RegisterRead(lv, value.base.name, self.expr(value.index, subst), s.span)]
        if isinstance(value, ast.Call):
            assert isinstance(value.callee, ast.Member)
            assert isinstance(value.callee.base, ast.NameRef)
            return [ir.MeterExecute(lv, value.callee.base.name,
                                    self.expr(value.args[0], subst), s.span)]
        new = self.expr(value, subst)
        if s.op is not None:
            new = ir.BinOp(_BINOPS[s.op], lv, new, ir.Bits(width))
        return [ir.Assign(lv, widen(new, width), s.span)]

    def call_stmt(self, s: ast.ExprStmt, subst: Subst) -> list[ir.Stmt]:
        call = s.expr
        assert isinstance(call, ast.Call)
        callee = call.callee
        if isinstance(callee, ast.NameRef):
            name = callee.name
            match name:
                case "nop":
                    return []
                case "drop":
                    return [ir.Drop(s.span)]
                case "send_to_host":
                    return [ir.SendToHost(s.span)]
                case "forward":
                    return [ir.Forward(widen(self.expr(call.args[0], subst), ir.PORT_WIDTH),
                                       s.span)]
            return self.inline(name, call, subst)
        assert isinstance(callee, ast.Member) and isinstance(callee.base, ast.NameRef)
        base, method = callee.base.name, callee.name.name
        match method:
            case "setValid":
                return [ir.SetValid(base, s.span)]
            case "setInvalid":
                return [ir.SetInvalid(base, s.span)]
            case "apply":
                return [ir.Apply(base, s.span)]
        raise AssertionError(f"cannot lower call {call!r}")

    def inline(self, name: str, call: ast.Call, subst: Subst) -> list[ir.Stmt]:
        """The body of action ``name`` with its parameters replaced by the arguments."""
        action = self.c.actions[name]
        args = [widen(self.expr(a, subst), p.width) for a, p in zip(call.args, action.params,
                                                                     strict=True)]
        written = self.writes(action)
        prologue: list[ir.Stmt] = []
        inner: Subst = {}
        for p, arg in zip(action.params, args, strict=True):
            if not isinstance(arg, ir.Const) and _reads(arg) & written:
                # the body changes what the argument reads: copy it in first, like a call would
                tmp = self.temps.fresh(p.width)
                prologue.append(ir.Assign(tmp, arg, call.span))
                arg = tmp
            inner[p.name.name] = arg
        return prologue + list(self.block(action.body, inner))

    def writes(self, action: ast.ActionDecl) -> set[Loc]:
        """What running ``action`` may change (validity counts as a change of every field)."""
        out: set[Loc] = set()
        for s in action.body:
            match s:
                case ast.AssignStmt(target=ast.Member() as target):
                    ref = self.c.refs[id(target)]
                    assert isinstance(ref, (FieldR, MetaR))
                    out.add(("f", ref.header, ref.field) if isinstance(ref, FieldR)
                            else ("m", ref.scope, ref.name))
                case ast.ExprStmt(expr=ast.Call(callee=ast.NameRef(name=name))):
                    if name in self.c.actions:
                        out |= self.writes(self.c.actions[name])
                    elif name != "nop":
                        out.add(("m", "std", "egress_port"))
                case ast.ExprStmt(expr=ast.Call(callee=ast.Member(base=ast.NameRef(name=h)))):
                    out.add(("v", h))
        return out

    # ---- declarations
    def parser_state(self, st: ast.StateDecl) -> ir.ParserState:
        extracts = tuple(h.name for h in st.extracts)
        t = st.transition
        if isinstance(t, ast.NextTransition):
            return ir.ParserState(st.name.name, extracts, (), (), t.target.name, st.span)
        keys = tuple(self.expr(k, {}) for k in t.keys)
        widths = [k.type.width for k in keys]  # type: ignore[union-attr]
        cases: list[ir.SelectCase] = []
        default = ir.REJECT
        for arm in t.arms:
            if all(isinstance(p, ast.WildcardPat) for p in arm.patterns):
                default = arm.next_state.name
                break
            matches = tuple(self.select_match(p, w) for p, w in zip(arm.patterns, widths,
                                                                    strict=True))
            cases.append(ir.SelectCase(matches, arm.next_state.name, arm.span))
        return ir.ParserState(st.name.name, extracts, keys, tuple(cases), default, st.span)

    def val(self, e: ast.Expr) -> int:
        return self.c.values[id(e)]

    def select_match(self, p: ast.Pattern, width: int) -> ir.Match:
        match p:
            case ast.WildcardPat():
                return ir.Wildcard()
            case ast.ValuePat():
                return ir.Exact(self.val(p.value))
            case ast.MaskPat():
                m = self.val(p.mask)
                return ir.Ternary(self.val(p.value) & m, m)
            case ast.RangePat():
                return ir.Range(self.val(p.lo), self.val(p.hi))
            case ast.PrefixPat():
                m = _prefix_mask(self.val(p.prefix_len), width)
                return ir.Ternary(self.val(p.value) & m, m)
        raise AssertionError(p)

    def call_of(self, ref: ast.ActionRef | None) -> ir.ActionCall:
        if ref is None:
            return ir.ActionCall("nop")
        return ir.ActionCall(ref.name.name, tuple(self.val(a) for a in ref.args))

    def table(self, t: TableInfo) -> ir.Table:
        keys = tuple(ir.TableKey(self.lvalue(k.expr), kind, k.span) for k, _, kind in t.keys)
        entries = tuple(
            ir.Entry(
                tuple(entry_match(p, kind, ref.width, self.val)
                      for p, (_, ref, kind) in zip(e.patterns, t.keys, strict=True)),
                self.call_of(e.action),
                e.priority if t.needs_priority else None,
                e.span,
            )
            for e in t.entries
        )
        return ir.Table(t.decl.name.name, keys, tuple(t.action_names()), self.call_of(t.default),
                        t.size, t.counters, entries, t.decl.span)

    def action(self, a: ast.ActionDecl) -> ir.Action:
        params = tuple(ir.Param(p.name.name, p.width, p.span) for p in a.params)
        return ir.Action(a.name.name, params, self.block(a.body, {}), a.span)

    def program(self) -> ir.Program:
        c = self.c
        headers = tuple(ir.HeaderInstance(name, c.instance_types[name], inst.span)
                        for name, inst in c.instances.items())
        header_types: list[ir.HeaderType] = []
        for h in headers:
            if h.type not in header_types:
                header_types.append(h.type)
        tables = tuple(self.table(t) for t in c.tables.values())
        used = {name for t in tables for name in t.actions} | {
            t.default_action.action for t in tables}
        actions = [self.action(a) for name, a in c.actions.items() if name in used]
        actions += [builtin_action(n) for n in BUILTIN_ORDER if n in used and
                    n not in c.actions and n in BUILTIN_ACTIONS]
        parser = tuple(self.parser_state(st) for st in c.states.values())
        assert c.control is not None
        ingress = self.block(c.control.body, {})
        metadata = tuple(ir.MetaField("meta", name, mf.width, mf.span)
                         for name, mf in c.metadata.items())
        return ir.Program(
            name=c.name,
            header_types=tuple(header_types),
            headers=headers,
            metadata=metadata + tuple(self.temps.fields),
            parser=parser,
            actions=tuple(actions),
            tables=tables,
            registers=tuple(ir.Register(r.name.name, r.width, r.size, r.span)
                            for r in c.registers.values()),
            meters=tuple(ir.Meter(m.name.name, ir.MeterUnit(m.unit.name), m.size, m.span)
                         for m in c.meters.values()),
            ingress=ingress,
            source=c.source,
        )


def lower(checked: Checked) -> ir.Program:
    return Lowerer(checked).program()


# --------------------------------------------------------------- reads and writes (for inlining)

Loc = tuple[str, ...]


def _reads(e: ir.Expr) -> set[Loc]:
    match e:
        case ir.Const() | ir.ParamRef():
            return set()
        case ir.FieldRef(header, fname, _):
            return {("f", header, fname), ("v", header)}
        case ir.MetaRef(scope, name, _):
            return {("m", scope, name)}
        case ir.IsValid(header):
            return {("v", header)}
        case ir.BinOp(_, left, right, _) | ir.Concat(left, right, _):
            return _reads(left) | _reads(right)
        case ir.UnOp(_, operand, _):
            return _reads(operand)
        case ir.Slice(value, _, _, _) | ir.Cast(value, _):
            return _reads(value)
    raise AssertionError(e)
