"""IR -> P4_16 for v1model: the output model the template prints.

``build_output(program)`` computes everything the P4 text needs (names, declarations, the
parser states, the code of actions and of the ingress control) into a ``P4Output``; the
template ``templates/program.p4.j2`` owns the layout. Statement code is built here as lines
with their indentation (``Code``), because nesting depth is data, not template shape.

Semantic choices (all of them in docs/p4.md):

* ``std.egress_port`` is ``standard_metadata.egress_spec``; ingress starts with
  ``mark_to_drop`` (egress_spec = 511, bmv2's drop port) so a packet is dropped unless
  forwarded, and drops a packet the parser rejected (v1model only records the error).
* P4 leaves fields of invalid headers unspecified (bmv2 even keeps stale values from earlier
  packets), while ``.wire`` reads them as 0: every read of a header field is guarded with
  ``isValid()`` unless the header is known valid at that point (extracted on every parser path
  to the state, tested valid by an enclosing ``if``, valid wherever the table whose key or
  action reads it is applied; docs/p4.md lists the rules). ``setValid`` zeroes the fields of a
  header that was invalid.
* Range keys become ternary keys; the control-plane layer expands ranges (``controlplane``).
* Register and meter arrays get one spare cell at index ``size``: an out-of-range index is
  redirected there, so writes land nowhere visible, reads are replaced by 0, and the spare
  meter (never configured) answers green, as the model does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import assert_never

from wirespeed.compiler import ir
from wirespeed.p4.controlplane import expand_entry_for_p4, p4_match_text
from wirespeed.p4.names import BUILTIN_ACTION_NAMES, Names, assign_names

INDENT = "    "


class P4EmitError(Exception):
    """The program uses something this backend cannot express in P4 for v1model."""


# ----------------------------------------------------------------------------- output model


@dataclass
class Code:
    """Lines of P4 statements, each with its own indentation depth."""

    lines: list[tuple[int, str]] = field(default_factory=list)

    def add(self, depth: int, text: str) -> None:
        self.lines.append((depth, text))

    def extend(self, other: Code) -> None:
        self.lines.extend(other.lines)

    def render(self, base: int) -> str:
        return "\n".join(INDENT * (base + depth) + text for depth, text in self.lines)


@dataclass(frozen=True)
class P4Field:
    decl: str  # "bit<48> dst"
    comment: str = ""


@dataclass(frozen=True)
class P4HeaderType:
    name: str
    fields: tuple[P4Field, ...]
    comment: str


@dataclass(frozen=True)
class P4State:
    name: str
    body: str  # rendered statements, already indented for the state body
    comment: str


@dataclass(frozen=True)
class P4Table:
    name: str
    keys: tuple[str, ...]  # "expr: kind @name(\"ipv4.dst\")"
    actions: tuple[str, ...]
    default_action: str
    size: int
    size_note: str
    counters: str | None
    const_entries: tuple[str, ...]
    comment: str


@dataclass(frozen=True)
class P4Action:
    name: str
    params: str
    body: str
    comment: str


@dataclass(frozen=True)
class P4Checksum:
    condition: str
    fields: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class P4Output:
    program_name: str
    source: str
    header_types: tuple[P4HeaderType, ...]
    header_members: tuple[P4Field, ...]
    meta_members: tuple[P4Field, ...]
    states: tuple[P4State, ...]
    externs: tuple[str, ...]
    actions: tuple[P4Action, ...]
    tables: tuple[P4Table, ...]
    ingress: str
    checksums: tuple[P4Checksum, ...]
    emits: tuple[str, ...]
    varlen_bytes: tuple[tuple[str, str], ...]  # (meta field, its value when ingress starts)
    header_bytes: str  # the bytes of the valid headers (with options as they arrived)
    names: Names
    range_keys: tuple[str, ...]  # "table.key" of every wire range key emitted as ternary


# ----------------------------------------------------------------------------- expressions


def literal(value: int, width: int) -> str:
    """A sized P4 literal: small numbers in decimal (``9w3``, ``8w64``), others in hex padded
    to the width (``16w0x0800``, ``32w0x0a000001``)."""
    value &= (1 << width) - 1
    if value < 1024:
        return f"{width}w{value}"
    return f"{width}w0x{value:0{(width + 3) // 4}x}"


def _width(t: ir.Type) -> int:
    return t.width if isinstance(t, ir.Bits) else 1


@dataclass(frozen=True)
class Scope:
    """What an expression may assume: headers known valid here, and whether action
    parameters are visible."""

    known_valid: frozenset[str] = frozenset()
    in_action: bool = False

    def with_valid(self, headers: frozenset[str]) -> Scope:
        return Scope(self.known_valid | headers, self.in_action)

    def without(self, headers: frozenset[str]) -> Scope:
        return Scope(self.known_valid - headers, self.in_action)


class Emitter:
    def __init__(self, program: ir.Program, names: Names, invalidated_by: dict[str, frozenset[str]]):
        self.program = program
        self.names = names
        # table -> headers some action of the table may invalidate
        self.invalidated_by = invalidated_by
        self._locals = 0
        # table -> headers known valid at every place the control applies it
        self.apply_known: dict[str, frozenset[str]] = {}
        self._sites: dict[str, int] = {}

    def table_copy(self, table: str) -> str:
        """The P4 table for the next place that applies ``table`` (one copy per place)."""
        site = self._sites.get(table, 0)
        self._sites[table] = site + 1
        return self.names.copies[table][site]

    def applied(self, table: str, scope: Scope) -> None:
        known = scope.known_valid
        self.apply_known[table] = self.apply_known.get(table, known) & known

    # -- names

    def hdr(self, header: str) -> str:
        return f"hdr.{self.names.headers[header]}"

    def field_lvalue(self, ref: ir.FieldRef) -> str:
        return f"{self.hdr(ref.header)}.{self.names.field(ref.header, ref.field, self.program)}"

    def meta_lvalue(self, ref: ir.MetaRef) -> str:
        if ref.scope == "std":
            std = {"ingress_port": "ingress_port", "egress_port": "egress_spec",
                   "packet_length": "packet_length"}
            if ref.name not in std:
                raise P4EmitError(f"unknown standard metadata field std.{ref.name}")
            return f"standard_metadata.{std[ref.name]}"
        return f"meta.{self.names.meta[ref.name]}"

    def lvalue(self, target: ir.LValue) -> str:
        match target:
            case ir.FieldRef():
                return self.field_lvalue(target)
            case ir.MetaRef():
                return self.meta_lvalue(target)
            case _:
                assert_never(target)

    # -- expressions

    def expr(self, e: ir.Expr, scope: Scope) -> str:
        """P4 text of ``e``; compound operands are parenthesised, so no precedence table is
        needed to read (or trust) the output."""
        match e:
            case ir.Const(value, ctype):
                if isinstance(ctype, ir.BoolType):
                    return "true" if value else "false"
                return literal(value, ctype.width)
            case ir.FieldRef(header, _, ftype):
                if header in scope.known_valid:
                    return self.field_lvalue(e)
                return (f"({self.hdr(header)}.isValid() ? {self.field_lvalue(e)} : "
                        f"{literal(0, ftype.width)})")
            case ir.MetaRef():
                return self.meta_lvalue(e)
            case ir.ParamRef(name, _):
                if not scope.in_action:
                    raise P4EmitError(f"action parameter {name!r} used outside an action")
                return name
            case ir.IsValid(header):
                return f"{self.hdr(header)}.isValid()"
            case ir.BinOp(op, left, right, _):
                if (op in (ir.BinOpKind.SHL, ir.BinOpKind.SHR) and isinstance(right, ir.Const)
                        and right.value >= _width(left.type)):
                    # .wire: a shift by the width or more gives 0 (p4c warns on such shifts)
                    return literal(0, _width(left.type))
                return f"{self.operand(left, scope)} {op.value} {self.operand(right, scope)}"
            case ir.UnOp(op, operand, _):
                return f"{op.value}{self.operand(operand, scope)}"
            case ir.Slice(value, hi, lo, _):
                return f"{self.operand(value, scope)}[{hi}:{lo}]"
            case ir.Concat(left, right, _):
                return f"{self.operand(left, scope)} ++ {self.operand(right, scope)}"
            case ir.Cast(value, ctype):
                if isinstance(value.type, ir.BoolType):
                    # P4 casts bool to bit<1> only; widen from there.
                    inner = f"(bit<1>){self.operand(value, scope)}"
                    return inner if ctype.width == 1 else f"(bit<{ctype.width}>)({inner})"
                return f"(bit<{ctype.width}>){self.operand(value, scope)}"
            case _:
                assert_never(e)

    def operand(self, e: ir.Expr, scope: Scope) -> str:
        text = self.expr(e, scope)
        if isinstance(e, (ir.BinOp, ir.UnOp, ir.Concat, ir.Cast)):
            return f"({text})"
        return text

    # -- statements

    def fresh(self, stem: str) -> str:
        self._locals += 1
        return f"{stem}_{self._locals}"

    def index_parts(self, index: ir.Expr, size: int, scope: Scope) -> tuple[str | None, str]:
        """(in-range condition or None when the index cannot be out of range, the bit<32>
        index with out-of-range values redirected to the spare cell ``size``)."""
        width = _width(index.type)
        text = self.expr(index, scope)
        as32 = text if width == 32 and not isinstance(index, (ir.BinOp, ir.Cast)) else (
            f"(bit<32>){self.operand(index, scope)}")
        if (1 << width) <= size:
            return None, as32
        in_range = f"{self.operand(index, scope)} < {literal(size, width)}"
        return in_range, f"(({in_range}) ? {as32} : {literal(size, 32)})"

    def stmts(self, body: tuple[ir.Stmt, ...], depth: int, scope: Scope) -> tuple[Code, Scope]:
        code = Code()
        for i, stmt in enumerate(body):
            more, scope = self.stmt(stmt, depth, scope, body[i + 1:])
            code.extend(more)
        return code, scope

    def stmt(self, s: ir.Stmt, depth: int, scope: Scope,  # noqa: C901
             rest: tuple[ir.Stmt, ...] = ()) -> tuple[Code, Scope]:
        code = Code()
        match s:
            case ir.Assign(target, value):
                code.add(depth, f"{self.lvalue(target)} = {self.expr(value, scope)};")
            case ir.SetValid(header):
                code.extend(self.set_valid(header, depth, scope, overwritten(header, rest)))
                scope = scope.with_valid(frozenset({header}))
            case ir.SetInvalid(header):
                code.add(depth, f"{self.hdr(header)}.setInvalid();")
                if header in self.names.varlen_headers:
                    code.add(depth, f"hdr.{self.names.varlen_headers[header]}.setInvalid();")
                scope = scope.without(frozenset({header}))
            case ir.Forward(port):
                code.add(depth, f"standard_metadata.egress_spec = {self.expr(port, scope)};")
            case ir.Drop():
                code.add(depth, "mark_to_drop(standard_metadata);")
            case ir.SendToHost():
                code.add(depth, "standard_metadata.egress_spec = HOST_PORT;")
            case ir.Hash(target, algo, exprs):
                width = _width(target.type)
                algo_width = 16 if algo is ir.HashAlgo.CRC16 else 32
                # bmv2 writes base + (H % max): max = 2^min(width, algo width) keeps the raw
                # CRC truncated to the target, as the model's Hash does.
                modulus = 1 << min(width, algo_width)
                items = []
                for x in exprs:
                    text = self.expr(x, scope)
                    if not is_plain(x, scope):
                        # bmv2 hashes lists of fields: a computed input goes through a local
                        local = self.fresh("hash_input")
                        code.add(depth, f"bit<{_width(x.type)}> {local} = {text};")
                        text = local
                    items.append(text)
                head = (f"hash({self.lvalue(target)}, HashAlgorithm.{algo.value}, "
                        f"{literal(0, width)}, {{")
                tail = f"}}, {literal(modulus, 64)});"
                one_line = f"{head} {', '.join(items)} {tail}"
                if len(INDENT * (depth + 2)) + len(one_line) <= 100:
                    code.add(depth, one_line)
                else:
                    code.add(depth, head)
                    for i, item in enumerate(items):
                        code.add(depth + 2, item + ("," if i < len(items) - 1 else ""))
                    code.add(depth + 1, tail)
            case ir.RegisterRead(target, register, index):
                reg = self.program.register(register)
                in_range, idx = self.index_parts(index, reg.size, scope)
                name = self.names.registers[register]
                if in_range is None and _width(target.type) == reg.width:
                    code.add(depth, f"{name}.read({self.lvalue(target)}, {idx});")
                else:
                    # Read into a local first: the index may depend on the target.
                    value = self.fresh(f"{name}_value")
                    code.add(depth, f"bit<{reg.width}> {value};")
                    code.add(depth, f"{name}.read({value}, {idx});")
                    read = self.cast_to(value, reg.width, target)
                    if in_range is not None:
                        read = f"({in_range}) ? {read} : {literal(0, _width(target.type))}"
                    code.add(depth, f"{self.lvalue(target)} = {read};")
            case ir.RegisterWrite(register, index, value):
                reg = self.program.register(register)
                _, idx = self.index_parts(index, reg.size, scope)
                data = self.expr(value, scope)
                if _width(value.type) != reg.width:
                    data = f"(bit<{reg.width}>){self.operand(value, scope)}"
                code.add(depth, f"{self.names.registers[register]}.write({idx}, {data});")
            case ir.MeterExecute(target, meter, index):
                m = self.program.meter(meter)
                _, idx = self.index_parts(index, m.size, scope)
                code.add(depth, f"{self.names.meters[meter]}.execute_meter({idx}, "
                                f"{self.lvalue(target)});")
            case ir.Apply(table):
                self.applied(table, scope)
                code.add(depth, f"{self.table_copy(table)}.apply();")
                scope = scope.without(self.invalidated_by[table])
            case ir.ApplyHit(table, hit, miss):
                self.applied(table, scope)
                t = self.table_copy(table)
                after = scope.without(self.invalidated_by[table])
                if hit:
                    code.add(depth, f"if ({t}.apply().hit) {{")
                    code.extend(self.stmts(hit, depth + 1, after)[0])
                    if miss:
                        code.add(depth, "} else {")
                        code.extend(self.stmts(miss, depth + 1, after)[0])
                else:
                    code.add(depth, f"if ({t}.apply().miss) {{")
                    code.extend(self.stmts(miss, depth + 1, after)[0])
                code.add(depth, "}")
                scope = after.without(self.may_invalidate((*hit, *miss)))
            case ir.ApplySwitch(table, cases, default):
                self.applied(table, scope)
                t = self.table_copy(table)
                after = scope.without(self.invalidated_by[table])
                code.add(depth, f"switch ({t}.apply().action_run) {{")
                for case in cases:
                    labels = [self.names.actions[a] for a in case.actions]
                    labels += [self.names.miss_actions[(t, a)] for a in case.actions
                               if (t, a) in self.names.miss_actions]
                    for label in labels[:-1]:
                        code.add(depth + 1, f"{label}:")
                    code.add(depth + 1, f"{labels[-1]}: {{")
                    code.extend(self.stmts(case.body, depth + 2, after)[0])
                    code.add(depth + 1, "}")
                if default:
                    code.add(depth + 1, "default: {")
                    code.extend(self.stmts(default, depth + 2, after)[0])
                    code.add(depth + 1, "}")
                code.add(depth, "}")
                scope = after.without(self.may_invalidate(
                    (*default, *(x for case in cases for x in case.body))))
            case ir.If(cond, then, otherwise):
                code.extend(self.if_chain(s, depth, scope, "if"))
                after = scope.without(self.may_invalidate((*then, *otherwise)))
                if then and isinstance(then[-1], ir.Return) and not otherwise:
                    # `if (!h.isValid()) { ...; return; }`: h is valid after it
                    after = after.with_valid(valid_when_false(cond))
                scope = after
            case ir.Return():
                code.add(depth, "return;")
            case _:
                assert_never(s)
        return code, scope

    def may_invalidate(self, body: tuple[ir.Stmt, ...]) -> frozenset[str]:
        """Headers that running ``body`` may leave invalid."""
        out: set[str] = set()
        for st in body:
            match st:
                case ir.SetInvalid(header):
                    out.add(header)
                case ir.Apply(table):
                    out |= self.invalidated_by[table]
                case ir.ApplyHit(table, hit, miss):
                    out |= self.invalidated_by[table] | self.may_invalidate((*hit, *miss))
                case ir.ApplySwitch(table, cases, default):
                    out |= self.invalidated_by[table] | self.may_invalidate(
                        (*default, *(x for case in cases for x in case.body)))
                case ir.If(_, then, otherwise):
                    out |= self.may_invalidate((*then, *otherwise))
        return frozenset(out)

    def cast_to(self, text: str, width: int, target: ir.LValue) -> str:
        target_width = _width(target.type)
        return text if target_width == width else f"(bit<{target_width}>){text}"

    def if_chain(self, s: ir.If, depth: int, scope: Scope, keyword: str) -> Code:
        code = Code()
        code.add(depth, f"{keyword} ({self.expr(s.cond, scope)}) {{" if keyword == "if"
                 else f"}} else if ({self.expr(s.cond, scope)}) {{")
        code.extend(self.stmts(s.then, depth + 1, scope.with_valid(valid_when(s.cond)))[0])
        else_scope = scope.with_valid(valid_when_false(s.cond))
        if len(s.otherwise) == 1 and isinstance(s.otherwise[0], ir.If):
            code.extend(self.if_chain(s.otherwise[0], depth, else_scope, "else if"))
            return code
        if s.otherwise:
            code.add(depth, "} else {")
            code.extend(self.stmts(s.otherwise, depth + 1, else_scope)[0])
        code.add(depth, "}")
        return code

    def set_valid(self, header: str, depth: int, scope: Scope,
                  overwritten: frozenset[str]) -> Code:
        """``.wire``'s setValid: a header that was invalid becomes valid with all fields 0 (P4
        leaves them unspecified), one that was valid keeps its fields. Fields the following
        statements set before reading them need no zero (``overwritten``)."""
        code = Code()
        h = self.hdr(header)
        htype = self.program.header(header).type
        assigns = [(f"{h}.{self.names.fields[(htype.name, f.name)]}", f.width)
                   for f in htype.fields if f.name not in overwritten]
        if not assigns:
            code.add(depth, f"{h}.setValid();  // every field is set below")
            return code
        if not scope.in_action:
            code.add(depth, f"if (!{h}.isValid()) {{")
            code.add(depth + 1, f"{h}.setValid();")
            for lhs, width in assigns:
                code.add(depth + 1, f"{lhs} = {literal(0, width)};")
            code.add(depth, "}")
            return code
        # Actions have no `if` on every p4c version that targets bmv2, so the old validity is
        # kept in a local and each field chooses between its value and 0.
        code.add(depth, f"// {header}.setValid(): a new header's fields start at 0; the "
                        "fields set below need no zero")
        was_valid = self.fresh(f"{self.names.headers[header]}_was_valid")
        code.add(depth, f"bool {was_valid} = {h}.isValid();")
        code.add(depth, f"{h}.setValid();")
        for lhs, width in assigns:
            code.add(depth, f"{lhs} = {was_valid} ? {lhs} : {literal(0, width)};")
        return code


def reads_of(e: ir.Expr) -> set[tuple[str, str]]:
    """The header fields an expression reads."""
    match e:
        case ir.FieldRef(header, fname, _):
            return {(header, fname)}
        case ir.BinOp(_, left, right, _) | ir.Concat(left, right, _):
            return reads_of(left) | reads_of(right)
        case ir.UnOp(_, operand, _):
            return reads_of(operand)
        case ir.Slice(value, _, _, _) | ir.Cast(value, _):
            return reads_of(value)
        case _:
            return set()


def overwritten(header: str, rest: tuple[ir.Stmt, ...]) -> frozenset[str]:
    """Fields of ``header`` that the straight-line statements after its ``setValid`` assign
    before anything reads them."""
    done: set[str] = set()
    read: set[str] = set()
    for st in rest:
        match st:
            case ir.Assign(target, value):
                read |= {f for h, f in reads_of(value) if h == header}
                if isinstance(target, ir.FieldRef) and target.header == header and (
                        target.field not in read):
                    done.add(target.field)
            case ir.Forward(port):
                read |= {f for h, f in reads_of(port) if h == header}
            case ir.Drop() | ir.SendToHost():
                pass
            case ir.SetInvalid(h) | ir.SetValid(h) if h != header:
                pass
            case _:
                break  # anything else may read the header: stop looking
    return frozenset(done)


def is_plain(e: ir.Expr, scope: Scope) -> bool:
    """A field, metadata field, parameter or constant as it is (no guard, no computation)."""
    match e:
        case ir.FieldRef(header, _, _):
            return header in scope.known_valid
        case ir.MetaRef() | ir.ParamRef() | ir.Const():
            return True
        case _:
            return False


def valid_when(cond: ir.Expr) -> frozenset[str]:
    """Headers that must be valid when ``cond`` is true (``h.valid && ...``)."""
    match cond:
        case ir.IsValid(header):
            return frozenset({header})
        case ir.BinOp(ir.BinOpKind.LAND, left, right, _):
            return valid_when(left) | valid_when(right)
        case _:
            return frozenset()


def valid_when_false(cond: ir.Expr) -> frozenset[str]:
    """Headers that must be valid when ``cond`` is false (``!h.valid || ...``)."""
    match cond:
        case ir.UnOp(ir.UnOpKind.LNOT, operand, _):
            return valid_when(operand)
        case ir.BinOp(ir.BinOpKind.LOR, left, right, _):
            return valid_when_false(left) | valid_when_false(right)
        case _:
            return frozenset()


# ----------------------------------------------------------------------------- analyses


def invalidated_headers(body: tuple[ir.Stmt, ...]) -> frozenset[str]:
    """Headers a straight-line action body may make invalid."""
    return frozenset(s.header for s in body if isinstance(s, ir.SetInvalid))


def accepted_valid(program: ir.Program) -> frozenset[str]:
    """Headers valid in every packet the parser accepts: ingress returns at once for the
    others, so these are valid when the control starts."""
    known = parser_known_valid(program)
    exits = [known[s.name] for s in program.parser
             if ir.ACCEPT in {c.next_state for c in s.cases} | {s.default}]
    return frozenset.intersection(*exits) if exits else frozenset()


def parser_known_valid(program: ir.Program) -> dict[str, frozenset[str]]:
    """For each parser state, the headers extracted on every path from ``start`` to the end
    of that state's extracts (a must-analysis: intersection over predecessors)."""
    states = {s.name: s for s in program.parser}
    every = frozenset(h.name for h in program.headers)
    entry: dict[str, frozenset[str]] = {name: every for name in states}
    entry[program.start.name] = frozenset()
    changed = True
    while changed:
        changed = False
        for state in program.parser:
            out = entry[state.name] | frozenset(state.extracts)
            for nxt in {c.next_state for c in state.cases} | {state.default}:
                if nxt in states:
                    merged = entry[nxt] & out if nxt != program.start.name else frozenset()
                    if merged != entry[nxt]:
                        entry[nxt] = merged
                        changed = True
    return {name: entry[name] | frozenset(states[name].extracts) for name in states}


# ----------------------------------------------------------------------------- the program


def used_builtin_actions(program: ir.Program) -> list[str]:
    declared = {a.name for a in program.actions}
    used = {a for t in program.tables for a in t.actions} | {
        t.default_action.action for t in program.tables}
    return [b for b in BUILTIN_ACTION_NAMES if b in used and b not in declared]


def builtin_action(name: str) -> ir.Action:
    from wirespeed.compiler.model import BUILTIN_ACTIONS
    return BUILTIN_ACTIONS[name]


def build_output(program: ir.Program) -> P4Output:
    builtins = used_builtin_actions(program)
    all_actions = [*(builtin_action(b) for b in builtins), *program.actions]
    names = assign_names(program, [a.name for a in all_actions])
    action_by_name = {a.name: a for a in all_actions}
    invalidated_by = {
        t.name: frozenset().union(*(invalidated_headers(action_by_name[a].body)
                                    for a in {*t.actions, t.default_action.action}))
        for t in program.tables}
    em = Emitter(program, names, invalidated_by)

    header_types = []
    for htype in program.header_types:
        fields = tuple(P4Field(f"bit<{f.width}> {names.fields[(htype.name, f.name)]}")
                       for f in htype.fields)
        header_types.append(P4HeaderType(names.header_types[htype.name], fields,
                                         f"header {htype.name}"))
        if htype.varlen is not None:
            v = htype.varlen
            header_types.append(P4HeaderType(
                names.varlen_types[htype.name],
                (P4Field(f"varbit<{v.max_bytes * 8}> {names.fields[(htype.name, v.name)]}"),),
                f"{htype.name}.{v.name}: {v.length_field} * {v.scale} {'+' if v.offset >= 0 else '-'} "
                f"{abs(v.offset)} bytes, at most {v.max_bytes}"))
    header_members = []
    for h in program.headers:
        header_members.append(P4Field(f"{names.header_types[h.type.name]} {names.headers[h.name]}"))
        if h.name in names.varlen_headers:
            header_members.append(P4Field(
                f"{names.varlen_types[h.type.name]} {names.varlen_headers[h.name]}",
                f"{h.name}.{h.type.varlen.name}" if h.type.varlen else ""))
    meta_members = [P4Field(f"bit<{m.width}> {names.meta[m.name]}") for m in program.metadata]

    states = build_states(program, names, em)

    externs = []
    for r in program.registers:
        externs.append(f"register<bit<{r.width}>, bit<32>>({r.size + 1}) {names.registers[r.name]};"
                       f"  // register<bit<{r.width}>>[{r.size}] {r.name}, plus a spare cell")
    for m in program.meters:
        kind = "packets" if m.unit is ir.MeterUnit.PACKETS else "bytes"
        externs.append(f"meter<bit<32>>({m.size + 1}, MeterType.{kind}) {names.meters[m.name]};"
                       f"  // meter<{kind}>[{m.size}] {m.name}, plus a spare cell")
    for t in program.tables:
        for copy in names.copies[t.name] if t.counters else ():
            externs.append(f"direct_counter(CounterType.packets_and_bytes) "
                           f"{names.counters[copy]};  // counters of table {copy}")
            externs.append(f"counter<bit<32>>(1, CounterType.packets_and_bytes) "
                           f"{names.misses[copy]};  // misses of table {copy}")

    # The control first: it tells which headers are valid wherever each table is applied.
    ingress, _ = em.stmts(program.ingress, 0, Scope(accepted_valid(program)))
    table_known = {t.name: em.apply_known.get(t.name, frozenset()) for t in program.tables}

    def action_known(action: str) -> frozenset[str]:
        sites = [table_known[t.name] for t in program.tables
                 if action in t.actions or action == t.default_action.action]
        return frozenset.intersection(*sites) if sites else frozenset()

    actions = []
    for a in all_actions:
        params = ", ".join(f"bit<{p.width}> {p.name}" for p in a.params)
        body, _ = em.stmts(a.body, 0, Scope(action_known(a.name), in_action=True))
        comment = "built-in" if a.name in builtins else f"action {a.name}"
        actions.append(P4Action(names.actions[a.name], params, body.render(2), comment))
    for t in program.tables:
        for copy in names.copies[t.name] if t.counters else ():
            for a in t.actions:
                action = action_by_name[a]
                params = ", ".join(f"bit<{p.width}> {p.name}" for p in action.params)
                args = ", ".join(p.name for p in action.params)
                body = (f"{INDENT * 2}{names.misses[copy]}.count(32w0);\n"
                        f"{INDENT * 2}{names.actions[a]}({args});")
                actions.append(P4Action(names.miss_actions[(copy, a)], params, body,
                                        f"{a} as the default of table {copy}: counts the miss"))

    tables = []
    range_keys = []
    for t in program.tables:
        keys = []
        for k in t.keys:
            kind = k.kind.value
            if k.kind is ir.MatchKind.RANGE:
                kind = "ternary"
                range_keys.append(f"{t.name}.{k.name}")
            note = "  // .wire range key: the control plane expands ranges" if (
                k.kind is ir.MatchKind.RANGE) else ""
            key_expr = em.expr(k.expr, Scope(table_known[t.name]))
            keys.append(f"{key_expr}: {kind} @name(\"{k.name}\");{note}")
        entries = []
        ordered = sorted(enumerate(t.const_entries),
                         key=lambda ie: (ie[1].priority if ie[1].priority is not None else 0,
                                         ie[0]))
        for _, entry in ordered:
            for matches in expand_entry_for_p4(t, entry):
                texts = [p4_match_text(m, k.width) for m, k in zip(matches, t.keys, strict=True)]
                keyset = texts[0] if len(texts) == 1 else f"({', '.join(texts)})"
                entries.append(f"{keyset}: {action_call(entry.action, names, action_by_name)};")
        size, size_note = p4_table_size(t)
        for site, copy in enumerate(names.copies[t.name], start=1):
            table_actions = [names.actions[a] for a in t.actions]
            if t.counters:
                table_actions += [f"@defaultonly {names.miss_actions[(copy, a)]}"
                                  for a in t.actions]
            comment = f"table {t.name}" if site == 1 else (
                f"table {t.name}, its apply number {site}: bmv2 applies each table once, so "
                "every place gets a copy with the same entries")
            tables.append(P4Table(
                copy, tuple(keys), tuple(table_actions),
                action_call(t.default_action, names, action_by_name, copy), size, size_note,
                names.counters.get(copy), tuple(entries), comment))

    checksums = []
    for header in program.checksums:
        htype = program.header(header).type
        h = em.hdr(header)
        fields = tuple(f"{h}.{names.fields[(htype.name, f.name)]}"
                       for f in htype.fields if f.name != "checksum")
        target = f"{h}.{names.fields[(htype.name, 'checksum')]}"
        if header in names.varlen_headers:
            opts = f"hdr.{names.varlen_headers[header]}"
            varname = names.fields[(htype.name, htype.varlen.name)]  # type: ignore[union-attr]
            checksums.append(P4Checksum(f"{h}.isValid() && !{opts}.isValid()", fields, target))
            checksums.append(P4Checksum(f"{h}.isValid() && {opts}.isValid()",
                                        (*fields, f"{opts}.{varname}"), target))
        else:
            checksums.append(P4Checksum(f"{h}.isValid()", fields, target))

    emits = []
    for h in program.headers:
        emits.append(em.hdr(h.name))
        if h.name in names.varlen_headers:
            emits.append(f"hdr.{names.varlen_headers[h.name]}")
    # The length of the packet that leaves, for .wire's rule that a packet shorter than an
    # Ethernet header is dropped: options keep the length they arrived with (a program may
    # change ihl), so that length is noted in metadata when ingress starts.
    sizes = []
    varlen_bytes = []
    for h in program.headers:
        sizes.append(f"({em.hdr(h.name)}.isValid() ? {literal(h.type.fixed_bytes, 32)} : 32w0)")
        if h.name in names.varlen_headers and h.type.varlen is not None:
            v = h.type.varlen
            length = f"{em.hdr(h.name)}.{names.fields[(h.type.name, v.length_field)]}"
            offset = f" + 32w{v.offset}" if v.offset >= 0 else f" - 32w{-v.offset}"
            options = f"hdr.{names.varlen_headers[h.name]}"
            field_name = names.varlen_meta[h.name]
            varlen_bytes.append((field_name, f"{options}.isValid() ? "
                                             f"(bit<32>){length} * 32w{v.scale}{offset} : 32w0"))
            sizes.append(f"({options}.isValid() ? meta.{field_name} : 32w0)")
    header_bytes = (" +\n" + INDENT * 3).join(sizes) if sizes else "32w0"

    source_file = next((Path(x.span.file).name for x in (*program.parser, *program.tables)
                        if x.span.file and not x.span.file.startswith("<")),
                       f"{program.name}.wire")
    return P4Output(program.name, source_file, tuple(header_types), tuple(header_members),
                    tuple(meta_members), tuple(states), tuple(externs), tuple(actions),
                    tuple(tables), ingress.render(2), tuple(checksums), tuple(emits),
                    tuple(varlen_bytes), header_bytes, names,
                    tuple(range_keys))


# Room for each .wire entry of a table with a range key: a 16-bit range is at most 30 ternary
# prefixes, and p4c's STF runner needs partial nibbles spelled out, about 64 entries on average
# for the ranges real rules use. The ceiling keeps bmv2's preallocated tables small.
RANGE_EXPANSION_ROOM = 64
MAX_EXPANDED_SIZE = 65536


def p4_table_size(table: ir.Table) -> tuple[int, str]:
    """The P4 ``size`` of a table and a comment when it differs from the .wire size."""
    ranges = sum(k.kind is ir.MatchKind.RANGE for k in table.keys)
    if not ranges:
        return table.size, ""
    size = max(table.size, min(table.size * RANGE_EXPANSION_ROOM ** ranges, MAX_EXPANDED_SIZE))
    return size, f".wire size {table.size}: its ranges become several ternary entries each"


def action_call(call: ir.ActionCall, names: Names, actions: dict[str, ir.Action],
                default_of: str | None = None) -> str:
    action = actions[call.action]
    args = ", ".join(literal(v, p.width) for v, p in zip(call.args, action.params, strict=True))
    name = (names.default_action(default_of, call.action) if default_of
            else names.actions[call.action])
    return f"{name}({args})"


def build_states(program: ir.Program, names: Names, em: Emitter) -> list[P4State]:
    known = parser_known_valid(program)
    states = []

    def target(name: str) -> str:
        if name == ir.ACCEPT:
            return "accept"
        if name == ir.REJECT:
            return "wire_reject"
        return names.states[name]

    if program.start.name != "start":
        states.append(P4State("start", f"{INDENT * 2}transition {names.states[program.start.name]};",
                              "the parser starts at the first .wire state"))
    for s in program.parser:
        code = Code()
        for header in s.extracts:
            code.add(0, f"packet.extract({em.hdr(header)});")
            htype = program.header(header).type
            if htype.varlen is not None:
                v = htype.varlen
                length = em.field_lvalue(ir.FieldRef(header, v.length_field,
                                                     ir.Bits(htype.field(v.length_field).width)))
                offset = f" + 32w{v.offset}" if v.offset >= 0 else f" - 32w{-v.offset}"
                # A length below 0 wraps to a huge bit count: bmv2 then fails the extract
                # (HeaderTooShort), which is the .wire rule "out of range: reject".
                code.add(0, f"packet.extract(hdr.{names.varlen_headers[header]}, "
                            f"((bit<32>){length} * 32w{v.scale}{offset}) * 32w8);")
        scope = Scope(known[s.name])
        if not s.select_keys:
            code.add(0, f"transition {target(s.default)};")
        else:
            keys = ", ".join(em.expr(k, scope) for k in s.select_keys)
            code.add(0, f"transition select({keys}) {{")
            widths = [_width(k.type) for k in s.select_keys]
            for case in s.cases:
                texts = [select_match_text(m, w) for m, w in zip(case.matches, widths, strict=True)]
                keyset = texts[0] if len(texts) == 1 else f"({', '.join(texts)})"
                code.add(1, f"{keyset}: {target(case.next_state)};")
            code.add(1, f"default: {target(s.default)};")
            code.add(0, "}")
        states.append(P4State(names.states[s.name], code.render(2), f"state {s.name}"))
    if any(c.next_state == ir.REJECT for s in program.parser for c in s.cases) or any(
            s.default == ir.REJECT for s in program.parser):
        states.append(P4State(
            "wire_reject",
            f"{INDENT * 2}verify(false, error.WireReject);\n{INDENT * 2}transition accept;",
            "`reject` in .wire: a parser error, so ingress drops the packet"))
    return states


def select_match_text(m: ir.Match, width: int) -> str:
    match m:
        case ir.Exact(value):
            return literal(value, width)
        case ir.Ternary(value, tmask):
            return f"{literal(value, width)} &&& {literal(tmask, width)}"
        case ir.Range(lo, hi):
            return f"{literal(lo, width)} .. {literal(hi, width)}"
        case ir.Lpm(value, prefix_len):
            pmask = ((1 << width) - 1) ^ ((1 << (width - prefix_len)) - 1)
            return f"{literal(value, width)} &&& {literal(pmask, width)}"
        case ir.Wildcard():
            return "_"
        case _:
            assert_never(m)
