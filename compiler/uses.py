"""What a program uses, read off its IR: the questions several backends ask alike."""

from __future__ import annotations

from collections.abc import Iterator

from wirespeed.compiler import ir


def walk(stmts: tuple[ir.Stmt, ...]) -> Iterator[ir.Stmt]:
    """Every statement of ``stmts``, nested ones included, in program order."""
    for s in stmts:
        yield s
        match s:
            case ir.ApplyHit(_, hit, miss):
                yield from walk(hit)
                yield from walk(miss)
            case ir.ApplySwitch(_, cases, default):
                for c in cases:
                    yield from walk(c.body)
                yield from walk(default)
            case ir.If(_, then, otherwise):
                yield from walk(then)
                yield from walk(otherwise)
            case _:
                pass


def all_statements(program: ir.Program) -> Iterator[ir.Stmt]:
    """The statements of the control and of every action."""
    yield from walk(program.ingress)
    for action in program.actions:
        yield from walk(action.body)


def _mentions(e: ir.Expr, scope: str, name: str) -> bool:
    match e:
        case ir.MetaRef(s, n, _):
            return (s, n) == (scope, name)
        case ir.BinOp(_, a, b, _) | ir.Concat(a, b, _):
            return _mentions(a, scope, name) or _mentions(b, scope, name)
        case ir.UnOp(_, a, _) | ir.Slice(a, _, _, _) | ir.Cast(a, _):
            return _mentions(a, scope, name)
        case _:
            return False


def reads_meta(program: ir.Program, std_field: str) -> bool:
    """Whether any expression of the program (parser, control, actions, keys) reads
    ``std.<std_field>``."""
    exprs: list[ir.Expr] = []
    for s in all_statements(program):
        match s:
            case ir.Assign(_, v) | ir.Forward(v):
                exprs.append(v)
            case ir.Hash(_, _, fs):
                exprs += fs
            case ir.RegisterRead(_, _, i) | ir.MeterExecute(_, _, i):
                exprs.append(i)
            case ir.RegisterWrite(_, i, v):
                exprs += [i, v]
            case ir.If(c, _, _):
                exprs.append(c)
            case _:
                pass
    for st in program.parser:
        exprs += st.select_keys
    for t in program.tables:
        exprs += [k.expr for k in t.keys]
    return any(_mentions(e, "std", std_field) for e in exprs)


def needs_packet_length(program: ir.Program) -> bool:
    """Whether the control needs the length of the whole packet: it reads
    ``std.packet_length`` or executes a byte meter (direct counters count bytes on their own)."""
    byte_meters = {m.name for m in program.meters if m.unit is ir.MeterUnit.BYTES}
    return reads_meta(program, "packet_length") or any(
        isinstance(s, ir.MeterExecute) and s.meter in byte_meters
        for s in all_statements(program))
