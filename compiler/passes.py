"""IR to IR passes, run in the order of ``PASSES`` by ``run_passes``.

Each pass is a pure function ``ir.Program -> ir.Program``; its docstring says what it expects
and what it guarantees. The list is the one place that decides the order, so
``wirespeed --list-passes`` and ``--dump-after PASS`` come from it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from wirespeed.compiler import ir
from wirespeed.compiler.model import binop_value

Pass = Callable[[ir.Program], ir.Program]


@dataclass(frozen=True)
class PassInfo:
    name: str
    run: Pass

    @property
    def summary(self) -> str:
        """The docstring's first sentence, on one line."""
        doc = " ".join((self.run.__doc__ or "").split())
        return doc.split(". ")[0].rstrip(".") + "." if doc else ""


# ------------------------------------------------------------------------- fold_constants


def _width(t: ir.Type) -> int:
    return t.width if isinstance(t, ir.Bits) else 1


def _mask(width: int) -> int:
    return (1 << width) - 1


def fold_expr(e: ir.Expr) -> ir.Expr:
    """Fold an expression whose operands are constants; leave the rest as it is."""
    match e:
        case ir.Const() | ir.FieldRef() | ir.MetaRef() | ir.ParamRef() | ir.IsValid():
            return e
        case ir.BinOp(op, left, right, ty):
            left, right = fold_expr(left), fold_expr(right)
            if isinstance(left, ir.Const) and isinstance(right, ir.Const):
                return ir.Const(binop_value(op, left.value, right.value, _width(left.type)), ty)
            # x && true, x || false and friends keep only what matters
            if op is ir.BinOpKind.LAND:
                for a, b in ((left, right), (right, left)):
                    if isinstance(a, ir.Const):
                        return b if a.value else ir.Const(0, ir.BOOL)
            if op is ir.BinOpKind.LOR:
                for a, b in ((left, right), (right, left)):
                    if isinstance(a, ir.Const):
                        return ir.Const(1, ir.BOOL) if a.value else b
            return ir.BinOp(op, left, right, ty)
        case ir.UnOp(op, operand, ty):
            operand = fold_expr(operand)
            if isinstance(operand, ir.Const):
                if op is ir.UnOpKind.LNOT:
                    return ir.Const(int(not operand.value), ir.BOOL)
                assert isinstance(ty, ir.Bits)
                return ir.Const(~operand.value & _mask(ty.width), ty)
            return ir.UnOp(op, operand, ty)
        case ir.Slice(value, hi, lo, ty):
            value = fold_expr(value)
            if isinstance(value, ir.Const):
                return ir.Const((value.value >> lo) & _mask(hi - lo + 1), ty)
            return ir.Slice(value, hi, lo, ty)
        case ir.Concat(left, right, ty):
            left, right = fold_expr(left), fold_expr(right)
            if isinstance(left, ir.Const) and isinstance(right, ir.Const):
                assert isinstance(right.type, ir.Bits)
                return ir.Const((left.value << right.type.width) | right.value, ty)
            return ir.Concat(left, right, ty)
        case ir.Cast(value, ty):
            value = fold_expr(value)
            if isinstance(value, ir.Const):
                return ir.Const(value.value & _mask(ty.width), ty)
            return ir.Cast(value, ty)
        case _:
            assert_never(e)




def _map_stmts(stmts: tuple[ir.Stmt, ...], f: Callable[[ir.Stmt], list[ir.Stmt]]
               ) -> tuple[ir.Stmt, ...]:
    """Apply ``f`` to every statement, innermost blocks first."""
    out: list[ir.Stmt] = []
    for s in stmts:
        match s:
            case ir.If():
                s = dataclasses.replace(s, then=_map_stmts(s.then, f),
                                        otherwise=_map_stmts(s.otherwise, f))
            case ir.ApplyHit():
                s = dataclasses.replace(s, hit=_map_stmts(s.hit, f),
                                        miss=_map_stmts(s.miss, f))
            case ir.ApplySwitch():
                s = dataclasses.replace(
                    s, cases=tuple(ir.SwitchCase(c.actions, _map_stmts(c.body, f))
                                   for c in s.cases),
                    default=_map_stmts(s.default, f))
        out.extend(f(s))
    return tuple(out)


def _fold_stmt(s: ir.Stmt) -> list[ir.Stmt]:
    match s:
        case ir.Assign():
            return [dataclasses.replace(s, value=fold_expr(s.value))]
        case ir.Forward():
            return [dataclasses.replace(s, port=fold_expr(s.port))]
        case ir.Hash():
            return [dataclasses.replace(s, fields=tuple(fold_expr(x) for x in s.fields))]
        case ir.RegisterRead() | ir.MeterExecute():
            return [dataclasses.replace(s, index=fold_expr(s.index))]
        case ir.RegisterWrite():
            return [dataclasses.replace(s, index=fold_expr(s.index), value=fold_expr(s.value))]
        case ir.If():
            cond = fold_expr(s.cond)
            if isinstance(cond, ir.Const):
                return list(s.then if cond.value else s.otherwise)
            return [dataclasses.replace(s, cond=cond)]
        case ir.SetValid() | ir.SetInvalid() | ir.Drop() | ir.SendToHost() | ir.Apply() \
                | ir.ApplyHit() | ir.ApplySwitch() | ir.Return():
            return [s]
        case _:
            assert_never(s)


def fold_constants(program: ir.Program) -> ir.Program:
    """Fold constant sub-expressions everywhere and replace `if` on a constant by the branch
    it takes. Expects: a typed program. Guarantees: no operator has only constant operands,
    no `If` has a constant condition; meaning unchanged."""
    return dataclasses.replace(
        program,
        ingress=_map_stmts(program.ingress, _fold_stmt),
        actions=tuple(dataclasses.replace(a, body=_map_stmts(a.body, _fold_stmt))
                      for a in program.actions),
        parser=tuple(dataclasses.replace(st, select_keys=tuple(fold_expr(k)
                                                               for k in st.select_keys))
                     for st in program.parser),
    )


# ----------------------------------------------------------------- dead_code_after_return


def _cut_after_return(stmts: tuple[ir.Stmt, ...]) -> tuple[ir.Stmt, ...]:
    out: list[ir.Stmt] = []
    for s in stmts:
        match s:
            case ir.If():
                s = dataclasses.replace(s, then=_cut_after_return(s.then),
                                        otherwise=_cut_after_return(s.otherwise))
            case ir.ApplyHit():
                s = dataclasses.replace(s, hit=_cut_after_return(s.hit),
                                        miss=_cut_after_return(s.miss))
            case ir.ApplySwitch():
                s = dataclasses.replace(
                    s, cases=tuple(ir.SwitchCase(c.actions, _cut_after_return(c.body))
                                   for c in s.cases),
                    default=_cut_after_return(s.default))
        out.append(s)
        if isinstance(s, ir.Return):
            break
    return tuple(out)


def dead_code_after_return(program: ir.Program) -> ir.Program:
    """Remove the statements that follow a `return` in the same block (the checker warned,
    W0501). Expects: any program. Guarantees: `Return` is the last statement of its block."""
    return dataclasses.replace(program, ingress=_cut_after_return(program.ingress))


# ---------------------------------------------------------------- drop_unreachable_states


def drop_unreachable_states(program: ir.Program) -> ir.Program:
    """Remove parser states no path from the start reaches (the checker warned, W0301).
    Expects: a parser whose first state is the start. Guarantees: every state is reachable
    from the start; the start stays first."""
    if not program.parser:
        return program
    by_name = {st.name: st for st in program.parser}
    reached = {program.parser[0].name}
    todo = [program.parser[0]]
    while todo:
        st = todo.pop()
        for nxt in (st.default, *(c.next_state for c in st.cases)):
            if nxt in by_name and nxt not in reached:
                reached.add(nxt)
                todo.append(by_name[nxt])
    return dataclasses.replace(
        program, parser=tuple(st for st in program.parser if st.name in reached))


# ------------------------------------------------------------------------- ipv4_checksums


@functools.cache
def std_ipv4() -> ir.HeaderType:
    from wirespeed.compiler.frontend import std_header_types

    return std_header_types()["ipv4"]


def ipv4_checksums(program: ir.Program) -> ir.Program:
    """List in `Program.checksums` every header instance whose type is the standard library's
    ipv4 (same fields, same options), in deparse order. Expects: any program. Guarantees:
    backends recompute exactly these checksums on every packet that leaves with the header
    valid."""
    ipv4 = std_ipv4()
    names = tuple(h.name for h in program.headers if h.type == ipv4)
    return dataclasses.replace(program, checksums=names)


# --------------------------------------------------------------------------------- driver

PASSES: tuple[PassInfo, ...] = (
    PassInfo("drop_unreachable_states", drop_unreachable_states),
    PassInfo("fold_constants", fold_constants),
    PassInfo("dead_code_after_return", dead_code_after_return),
    PassInfo("ipv4_checksums", ipv4_checksums),
)


def list_passes() -> list[tuple[str, str]]:
    """(name, one-line summary) of every pass, in the order they run."""
    return [(p.name, p.summary) for p in PASSES]


def run_passes(program: ir.Program, dump_after: str | None = None,
               dump: Callable[[str], object] = print) -> ir.Program:
    """Run every pass in order; after the pass named ``dump_after`` (or after lowering, for
    ``"lower"``), print the program as an s-expression through ``dump``."""
    names = {p.name for p in PASSES} | {"lower"}
    if dump_after is not None and dump_after not in names:
        raise ValueError(f"unknown pass {dump_after!r} (passes: {', '.join(sorted(names))})")
    if dump_after == "lower":
        dump(ir.sexpr(program))
    for p in PASSES:
        program = p.run(program)
        if p.name == dump_after:
            dump(ir.sexpr(program))
    return program
