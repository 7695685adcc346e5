"""IR to eBPF C: Python computes every piece of content, ``templates/program.c.j2`` holds the
shape of the file.

How a packet is held (docs/xdp.md has the long version):

* Headers stay where they are in the packet. Parsing records a pointer to each extracted
  header (bounds-checked once, so the verifier accepts every later access) and fields are
  read and written in place through it, big-endian on the wire.
* A header made valid by ``setValid`` that was not in the packet lives in a per-CPU scratch
  map value until the deparser writes it out (map values, unlike the BPF stack, allow the
  unaligned loads that header fields need).
* Reading a field of an invalid header gives 0 and writing it does nothing: every accessor
  tests the header's valid bit.
* Deparsing: headers after the last one whose validity the program can change (the "tail")
  never move, relative to the payload. When the valid set of the headers before them (the
  "front") differs from what was parsed, the front is rebuilt: ``bpf_xdp_adjust_head`` by the
  difference in length, then the valid front headers are copied out in declaration order.
  When the parser can extract out of declaration order, or loops, every header is front.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from wirespeed.compiler import ir
from wirespeed.compiler.uses import all_statements, reads_meta, walk
from wirespeed.xdp.layout import Struct, ctype, is_natural, mask, storage_bytes
from wirespeed.xdp.tables import (
    TablePlan,
    action_arg_structs,
    c_ident,
    find_action,
    plan_table,
)

# The sets of headers that may be valid together at a point of the program: one set per way of
# getting there (parser path, actions run). None: nothing is known.
VState = frozenset[frozenset[str]] | None


class CodegenError(Exception):
    """A program this backend cannot express; the message is for the user."""


# ------------------------------------------------------------------------- analysis


def _parser_order(program: ir.Program) -> tuple[bool, bool]:
    """(acyclic, every path extracts headers in strictly increasing declaration order)."""
    index = {h.name: i for i, h in enumerate(program.headers)}
    states = {s.name: s for s in program.parser}
    ordered = True
    acyclic = True

    def visit(name: str, last: int, on_path: frozenset[str], budget: list[int]) -> None:
        nonlocal ordered, acyclic
        if name in (ir.ACCEPT, ir.REJECT) or not (ordered and acyclic):
            return
        if name in on_path:
            acyclic = False
            return
        budget[0] -= 1
        if budget[0] < 0:  # too many paths to enumerate: assume the worst
            ordered = False
            return
        state = states[name]
        for h in state.extracts:
            if index[h] <= last:
                ordered = False
                return
            last = index[h]
        for nxt in {c.next_state for c in state.cases} | {state.default}:
            visit(nxt, last, on_path | {name}, budget)

    visit(program.start.name, -1, frozenset(), [20000])
    return acyclic, ordered


@dataclass
class HeaderInfo:
    name: str  # .wire name
    c: str  # C identifier
    bit: int
    type: ir.HeaderType
    front: bool = False
    tail: bool = False

    @property
    def valid_flag(self) -> str:
        return f"VALID_{self.c}"

    @property
    def size(self) -> int:
        return self.type.fixed_bytes


# ------------------------------------------------------------------------- the generator


@dataclass
class Generated:
    """Everything the template needs."""

    program: ir.Program
    headers: list[HeaderInfo]
    tables: list[TablePlan]
    accessors: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    table_code: list[str] = field(default_factory=list)
    parser: list[str] = field(default_factory=list)
    ingress: list[str] = field(default_factory=list)
    deparser: list[str] = field(default_factory=list)
    checksum_fns: list[str] = field(default_factory=list)
    copy_fns: list[str] = field(default_factory=list)
    meta_members: list[str] = field(default_factory=list)
    scratch_members: list[str] = field(default_factory=list)
    packet_members: list[str] = field(default_factory=list)
    static_asserts: list[str] = field(default_factory=list)
    structs: list[str] = field(default_factory=list)
    maps: list[dict] = field(default_factory=list)
    uses_crc16: bool = False
    uses_crc32: bool = False
    uses_u128_shift: bool = False
    uses_meters: bool = False
    uses_scratch: bool = False
    needs_ingress_port_early: bool = False
    needs_packet_length: bool = False
    cyclic_parser: bool = False
    in_place: bool = True


def _const(value: int, width: int) -> str:
    value &= mask(width)
    if width > 64:
        hi, lo = value >> 64, value & mask(64)
        return f"(((u128)0x{hi:x}ULL << 64) | 0x{lo:x}ULL)"
    if width > 32:
        return f"0x{value:x}ULL"
    return f"0x{value:x}" if value > 9 else str(value)


class Generator:
    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.headers = {h.name: HeaderInfo(h.name, c_ident(h.name), i, h.type)
                        for i, h in enumerate(program.headers)}
        if len(self.headers) > 32:
            raise CodegenError("the XDP target handles at most 32 header instances")
        self.tables = {t.name: plan_table(program, t) for t in program.tables}
        self.out = Generated(program, list(self.headers.values()), list(self.tables.values()))
        self._accessors: dict[tuple[str, str, str], str] = {}
        self._copy_sizes: set[int] = set()
        self._tmp = 0
        self.vstate: VState = None
        self.final: VState = frozenset()  # at the end of the ingress control
        self.table_ctx: dict[str, VState] = {}
        self.action_ctx: dict[str, VState] = {}
        self._analyse()

    # ------------------------------------------------------------------ analysis

    def _analyse(self) -> None:
        program = self.program
        changing = set()
        for s in all_statements(program):
            match s:
                case ir.SetValid(h) | ir.SetInvalid(h):
                    changing.add(h)
                case _:
                    pass
        acyclic, ordered = _parser_order(program)
        self.out.cyclic_parser = not acyclic
        self.out.in_place = acyclic and ordered
        order = [h.name for h in program.headers]
        if not self.out.in_place:
            last_front = len(order) - 1
        else:
            last_front = max((order.index(h) for h in changing), default=-1)
        for i, name in enumerate(order):
            info = self.headers[name]
            info.front = i <= last_front
            info.tail = not info.front
            if info.type.fixed_bits % 8:
                raise CodegenError(f"header {name!r} is not a whole number of bytes")
        self.out.uses_scratch = any(h.front for h in self.headers.values()) or any(
            h.type.varlen for h in self.headers.values())
        for s in all_statements(program):
            if isinstance(s, ir.MeterExecute):
                self.out.uses_meters = True

    # ------------------------------------------------------------------ accessors

    def _tmpname(self, stem: str) -> str:
        self._tmp += 1
        return f"{stem}{self._tmp}"

    @staticmethod
    def _window(start: int, nbytes: int, size: int) -> tuple[int, list[tuple[int, int]]]:
        """Bytes to load for a field covering ``nbytes`` from ``start`` in a ``size``-byte
        header, never outside it: (first byte, [(offset, load size)]). One load where a power
        of two fits, else several (a 48-bit field of a 6-byte header: 2 + 4 bytes)."""
        for load in (1, 2, 4, 8, 16):
            if load >= nbytes and size >= load:
                begin = min(start, size - load)
                return begin, [(begin, load)]
        chunks = []
        at = start
        while at < start + nbytes:
            left = start + nbytes - at
            chunk = next(c for c in (8, 4, 2, 1) if c <= left)
            chunks.append((at, chunk))
            at += chunk
        return start, chunks

    @staticmethod
    def _window_read(begin: int, chunks: list[tuple[int, int]]) -> str:
        total = sum(c for _, c in chunks)
        t = ctype(total * 8)
        parts = []
        for at, c in chunks:
            shift = 8 * (total - (at - begin) - c)
            load = f"load_be{c * 8}(h + {at})"
            parts.append(f"(({t}){load} << {shift})" if shift else f"({t}){load}")
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    @staticmethod
    def _window_write(begin: int, chunks: list[tuple[int, int]], value: str) -> str:
        total = sum(c for _, c in chunks)
        lines = []
        for at, c in chunks:
            shift = 8 * (total - (at - begin) - c)
            part = f"({ctype(c * 8)})({value} >> {shift})" if shift else value
            lines.append(f"\tstore_be{c * 8}(h + {at}, {part});\n")
        return "".join(lines)

    def getter(self, header: str, fname: str) -> str:
        """``get_H_F`` (0 when H is invalid), or ``read_H_F`` where H is known to be valid."""
        read = self._reader(header, fname)
        if header in self.known():
            return read
        key = ("get", header, fname)
        if key not in self._accessors:
            info = self.headers[header]
            name = f"get_{info.c}_{c_ident(fname)}"
            t = ctype(info.type.field(fname).width)
            self.out.accessors.append(
                f"static __always_inline {t} {name}(const struct packet *p)\n{{\n"
                f"\tif (!(VALID_BITS(p) & {info.valid_flag}))\n\t\treturn 0;\n"
                f"\treturn {read}(p);\n}}\n")
            self._accessors[key] = name
        return self._accessors[key]

    def _reader(self, header: str, fname: str) -> str:
        key = ("read", header, fname)
        if key in self._accessors:
            return self._accessors[key]
        info = self.headers[header]
        f = info.type.field(fname)
        name = f"read_{info.c}_{c_ident(fname)}"
        offset = info.type.offset_bits(fname)
        b0, b1 = offset // 8, (offset + f.width - 1) // 8
        t = ctype(f.width)
        if b1 - b0 + 1 > 16:
            raise CodegenError(f"field {header}.{fname} spans more than 16 bytes")
        begin, chunks = self._window(b0, b1 - b0 + 1, info.size)
        expr = self._window_read(begin, chunks)
        load_bits = 8 * sum(c for _, c in chunks)
        shift = load_bits - (offset - begin * 8) - f.width
        value = expr if shift == 0 else f"({expr} >> {shift})"
        if f.width != load_bits:
            value = f"({value} & {_const(mask(f.width), max(f.width, 1))})"
        self.out.accessors.append(
            f"/* {header}.{fname}: bit<{f.width}> at bit {offset}, {header} valid */\n"
            f"static __always_inline {t} {name}(const struct packet *p)\n{{\n"
            f"\tconst __u8 *h = p->h_{info.c};\n\n"
            f"\treturn ({t}){value};\n}}\n")
        self._accessors[key] = name
        return name

    def setter(self, header: str, fname: str) -> str:
        """``set_H_F`` (no effect when H is invalid), or ``write_H_F`` where H is known valid."""
        write = self._writer(header, fname)
        if header in self.known():
            return write
        key = ("set", header, fname)
        if key not in self._accessors:
            info = self.headers[header]
            name = f"set_{info.c}_{c_ident(fname)}"
            t = ctype(info.type.field(fname).width)
            self.out.accessors.append(
                f"static __always_inline void {name}(struct packet *p, {t} v)\n{{\n"
                f"\tif (VALID_BITS(p) & {info.valid_flag})\n\t\t{write}(p, v);\n}}\n")
            self._accessors[key] = name
        return self._accessors[key]

    def _writer(self, header: str, fname: str) -> str:
        key = ("write", header, fname)
        if key in self._accessors:
            return self._accessors[key]
        info = self.headers[header]
        f = info.type.field(fname)
        name = f"write_{info.c}_{c_ident(fname)}"
        offset = info.type.offset_bits(fname)
        b0, b1 = offset // 8, (offset + f.width - 1) // 8
        t = ctype(f.width)
        if b1 - b0 + 1 > 16:
            raise CodegenError(f"field {header}.{fname} spans more than 16 bytes")
        begin, chunks = self._window(b0, b1 - b0 + 1, info.size)
        load = sum(c for _, c in chunks)
        if offset % 8 == 0 and f.width == load * 8 and begin == b0:
            body = self._window_write(begin, chunks, "v")
        else:
            shift = load * 8 - (offset - begin * 8) - f.width
            wt = ctype(load * 8)
            m = _const(mask(f.width) << shift, load * 8)
            body = (f"\t{wt} w = {self._window_read(begin, chunks)};\n\n"
                    f"\tw = (w & ~({wt}){m}) | ((({wt})v << {shift}) & {m});\n"
                    + self._window_write(begin, chunks, "w"))
        self.out.accessors.append(
            f"/* {header}.{fname} = v, {header} valid */\n"
            f"static __always_inline void {name}(struct packet *p, {t} v)\n{{\n"
            f"\t__u8 *h = p->h_{info.c};\n\n{body}}}\n")
        self._accessors[key] = name
        return name

    # ------------------------------------------------------------------ validity

    def known(self) -> frozenset[str]:
        """Headers valid on every path that reaches the code being generated."""
        if self.vstate is None:
            return frozenset()
        if not self.vstate:
            # no path reaches this code; claim nothing, or the unchecked accessors would
            # dereference a header pointer that is NULL, and clang, seeing undefined
            # behaviour, drops the block's tail: the verifier then rejects the program
            return frozenset()
        return frozenset.intersection(*self.vstate)

    def _action_effect(self, action: ir.Action, state: VState) -> VState:
        if state is None:
            return None
        out = set()
        for valid in state:
            current = set(valid)
            for st in walk(action.body):
                match st:
                    case ir.SetValid(h):
                        current.add(h)
                    case ir.SetInvalid(h):
                        current.discard(h)
                    case _:
                        pass
            out.add(frozenset(current))
        return frozenset(out)

    def _apply_site(self, table: str) -> None:
        """Record the context of a table's key reads and actions; step over its effect."""
        t = self.program.table(table)
        before = self.vstate
        self.table_ctx[table] = _union(self.table_ctx.get(table, frozenset()), before)
        after: VState = frozenset()
        for name in {*t.actions, t.default_action.action}:
            self.action_ctx[name] = _union(self.action_ctx.get(name, frozenset()), before)
            after = _union(after, self._action_effect(find_action(self.program, name), before))
        self.vstate = after

    def copy_fn(self, size: int) -> str:
        if size not in self._copy_sizes:
            self._copy_sizes.add(size)
            lines = []
            at = 0
            for chunk in (8, 4, 2, 1):
                while size - at >= chunk:
                    t = ctype(chunk * 8)
                    lines.append(f"\t*({t} *)(d + {at}) = *(const {t} *)(s + {at});")
                    at += chunk
            self.out.copy_fns.append(
                f"static __always_inline void copy_{size}(__u8 *d, const __u8 *s)\n{{\n"
                + "\n".join(lines) + "\n}\n")
        return f"copy_{size}"

    # ------------------------------------------------------------------ expressions

    def expr(self, e: ir.Expr, params: dict[str, str]) -> str:
        match e:
            case ir.Const(value, t):
                if isinstance(t, ir.BoolType):
                    return "1" if value else "0"
                return _const(value, t.width)
            case ir.FieldRef(header, fname, _):
                return f"{self.getter(header, fname)}(p)"
            case ir.MetaRef(scope, name, _):
                return f"p->meta.{scope}_{c_ident(name)}"
            case ir.ParamRef(name, _):
                return params[name]
            case ir.IsValid(header):
                return f"((VALID_BITS(p) & {self.headers[header].valid_flag}) != 0)"
            case ir.BinOp(op, left, right, t):
                return self._binop(op, left, right, params)
            case ir.UnOp(op, operand, t):
                inner = self.expr(operand, params)
                if op is ir.UnOpKind.LNOT:
                    return f"(!{inner})"
                w = _width(operand.type)
                return f"(({ctype(w)})(~{inner} & {_const(mask(w), w)}))"
            case ir.Slice(value, hi, lo, t):
                inner = self.expr(value, params)
                w = hi - lo + 1
                shifted = inner if lo == 0 else f"({inner} >> {lo})"
                return f"(({ctype(w)})({shifted} & {_const(mask(w), w)}))"
            case ir.Concat(left, right, t):
                rw = _width(right.type)
                return (f"((({ctype(t.width)}){self.expr(left, params)} << {rw}) | "
                        f"({ctype(t.width)}){self.expr(right, params)})")
            case ir.Cast(value, t):
                inner = self.expr(value, params)
                src = _width(value.type)
                if isinstance(value.type, ir.BoolType):
                    return f"(({ctype(t.width)})({inner} != 0))"
                if t.width >= src:
                    return f"(({ctype(t.width)}){inner})"
                return f"(({ctype(t.width)})({inner} & {_const(mask(t.width), t.width)}))"
            case _:
                assert_never(e)

    def _binop(self, op: ir.BinOpKind, left: ir.Expr, right: ir.Expr,
               params: dict[str, str]) -> str:
        a = self.expr(left, params)
        b = self.expr(right, params)
        w = _width(left.type)
        t = ctype(w)
        m = _const(mask(w), w)
        match op:
            case ir.BinOpKind.ADD | ir.BinOpKind.SUB:
                raw = f"({a} {op.value} {b})"
                return f"(({t}){raw})" if is_natural(w) else f"(({t})({raw} & {m}))"
            case ir.BinOpKind.AND | ir.BinOpKind.OR | ir.BinOpKind.XOR:
                return f"(({t})({a} {op.value} {b}))"
            case ir.BinOpKind.SHL | ir.BinOpKind.SHR:
                if isinstance(right, ir.Const):
                    if right.value >= w:
                        return f"(({t})0)"
                    if op is ir.BinOpKind.SHR:
                        return f"(({t})({a} >> {right.value}))"
                    raw = f"(({t}){a} << {right.value})"
                    return f"(({t}){raw})" if is_natural(w) else f"(({t})({raw} & {m}))"
                n = self._tmpname("shift")
                if w > 64:
                    self.out.uses_u128_shift = True
                    fn = "shl128" if op is ir.BinOpKind.SHL else "shr128"
                    return (f"({{ __typeof__({b}) {n} = {b}; "
                            f"{n} >= {w} ? ({t})0 : ({t})({fn}({a}, (__u32){n}) & {m}); }})")
                raw = f"(({t}){a} {op.value} {n})"
                if op is ir.BinOpKind.SHL and not is_natural(w):
                    raw = f"({raw} & {m})"
                return f"({{ __typeof__({b}) {n} = {b}; {n} >= {w} ? ({t})0 : ({t}){raw}; }})"
            case ir.BinOpKind.EQ | ir.BinOpKind.NE | ir.BinOpKind.LT | ir.BinOpKind.LE | \
                    ir.BinOpKind.GT | ir.BinOpKind.GE | ir.BinOpKind.LAND | ir.BinOpKind.LOR:
                return f"({a} {op.value} {b})"
            case _:
                assert_never(op)

    # ------------------------------------------------------------------ statements

    def store(self, target: ir.LValue, value: str) -> str:
        w = target.type.width
        if not is_natural(w):
            value = f"({value}) & {_const(mask(w), w)}"
        match target:
            case ir.FieldRef(header, fname, _):
                return f"{self.setter(header, fname)}(p, {value});"
            case ir.MetaRef(scope, name, _):
                return f"p->meta.{scope}_{c_ident(name)} = {value};"
            case _:
                assert_never(target)

    def _fresh_image(self, header: str, rest: tuple[ir.Stmt, ...]) -> tuple[bytes, set[int]]:
        """For ``setValid`` of a header known to be invalid: the bytes it holds after the
        constant field assignments that follow (up to the first statement that reads it or
        is not an assignment), and the indexes in ``rest`` those assignments need no code for
        any more. The header is then written once, instead of zeroed and patched field by
        field."""
        htype = self.headers[header].type
        last: dict[str, tuple[int, ir.Expr]] = {}
        for j, st in enumerate(rest):
            if not isinstance(st, ir.Assign) or _mentions(st.value, header):
                break
            if isinstance(st.target, ir.FieldRef) and st.target.header == header:
                last[st.target.field] = (j, st.value)
        value = 0
        folded: set[int] = set()
        for fname, (_, v) in last.items():
            if isinstance(v, ir.Const):
                f = htype.field(fname)
                shift = htype.fixed_bits - htype.offset_bits(fname) - f.width
                value |= (v.value & mask(f.width)) << shift
        constant_fields = {f for f, (_, v) in last.items() if isinstance(v, ir.Const)}
        for j, st in enumerate(rest[:max((j for j, _ in last.values()), default=-1) + 1]):
            if (isinstance(st, ir.Assign) and isinstance(st.target, ir.FieldRef)
                    and st.target.header == header and st.target.field in constant_fields):
                folded.add(j)
        return value.to_bytes(htype.fixed_bytes, "big"), folded

    def _store_image(self, dest: str, image: bytes, ind: str) -> list[str]:
        lines = []
        at = 0
        while at < len(image):
            chunk = next(c for c in (8, 4, 2, 1) if len(image) - at >= c)
            word = int.from_bytes(image[at:at + chunk], "little")
            lines.append(f"{ind}*({ctype(chunk * 8)} *)({dest} + {at}) = "
                         f"{_const(word, chunk * 8)};")
            at += chunk
        return lines

    def stmts(self, body: tuple[ir.Stmt, ...], params: dict[str, str], depth: int) -> list[str]:
        out: list[str] = []
        skip: set[int] = set()
        i = 0
        while i < len(body):
            if i in skip:
                i += 1
                continue
            st = body[i]
            if (isinstance(st, ir.SetValid) and self.vstate
                    and not any(st.header in v for v in self.vstate)):
                image, folded = self._fresh_image(st.header, body[i + 1:])
                if folded:
                    info = self.headers[st.header]
                    self.stmt(st, params, depth)  # the valid sets
                    ind = "\t" * depth
                    out.append(f"{ind}/* a new {st.header} (it was invalid on every path "
                               "here), with its constant fields */")
                    out += self._store_image(f"p->scratch->{info.c}", image, ind)
                    out.append(f"{ind}p->h_{info.c} = p->scratch->{info.c};")
                    if info.type.varlen:
                        out.append(f"{ind}p->varlen_{info.c} = 0;")
                    out += [f"{ind}VALID_BITS(p) |= {info.valid_flag};",
                            f"{ind}INPKT_BITS(p) &= ~{info.valid_flag};"]
                    skip |= {i + 1 + j for j in folded}
                    i += 1
                    continue
            run = []
            while i < len(body) and isinstance(body[i], ir.SetInvalid):
                run.append(body[i])
                i += 1
            if len(run) > 1:  # one update of the valid bits for a whole decap
                for st in run:
                    self.stmt(st, params, depth)
                flags = " | ".join(self.headers[st.header].valid_flag for st in run)
                out.append("\t" * depth + f"VALID_BITS(p) &= ~({flags});")
                continue
            if run:
                out += self.stmt(run[0], params, depth)
                continue
            out += self.stmt(body[i], params, depth)
            i += 1
        return out

    def stmt(self, s: ir.Stmt, params: dict[str, str], depth: int) -> list[str]:
        ind = "\t" * depth
        match s:
            case ir.Assign(target, value):
                return [ind + self.store(target, self.expr(value, params))]
            case ir.SetValid(header):
                info = self.headers[header]
                if self.vstate is not None:
                    self.vstate = frozenset(v | {header} for v in self.vstate)
                lines = [f"{ind}if (!(VALID_BITS(p) & {info.valid_flag})) {{",
                         f"{ind}\t/* a new {header}: all fields zero, held in scratch */",
                         f"{ind}\t__builtin_memset(p->scratch->{info.c}, 0, {info.size});",
                         f"{ind}\tp->h_{info.c} = p->scratch->{info.c};"]
                if info.type.varlen:
                    lines.append(f"{ind}\tp->varlen_{info.c} = 0;")
                lines += [f"{ind}\tVALID_BITS(p) |= {info.valid_flag};",
                          f"{ind}\tINPKT_BITS(p) &= ~{info.valid_flag};", f"{ind}}}"]
                return lines
            case ir.SetInvalid(header):
                if self.vstate is not None:
                    self.vstate = frozenset(v - {header} for v in self.vstate)
                return [f"{ind}VALID_BITS(p) &= ~{self.headers[header].valid_flag};"]
            case ir.Forward(port):
                return [f"{ind}p->meta.std_egress_port = "
                        f"{self.expr(port, params)} & {_const(mask(ir.PORT_WIDTH), 16)};"]
            case ir.Drop():
                return [f"{ind}p->meta.std_egress_port = DROP_PORT;"]
            case ir.SendToHost():
                return [f"{ind}p->meta.std_egress_port = HOST_PORT;"]
            case ir.Hash(target, algo, exprs):
                return self._hash(target, algo, exprs, params, ind)
            case ir.RegisterRead(target, register, index):
                reg = self.program.register(register)
                n = self._tmpname("cell")
                return [f"{ind}{{",
                        f"{ind}\t{ctype(reg.width)} *{n} = "
                        f"register_cell(&reg_{c_ident(register)}, {self._index(index, params)}, "
                        f"{reg.size});",
                        f"{ind}\t" + self.store(target, f"({n} ? *{n} : 0)"),
                        f"{ind}}}"]
            case ir.RegisterWrite(register, index, value):
                reg = self.program.register(register)
                n = self._tmpname("cell")
                v = self.expr(value, params)
                if not is_natural(reg.width):
                    v = f"({v}) & {_const(mask(reg.width), reg.width)}"
                return [f"{ind}{{",
                        f"{ind}\t{ctype(reg.width)} *{n} = "
                        f"register_cell(&reg_{c_ident(register)}, {self._index(index, params)}, "
                        f"{reg.size});",
                        f"{ind}\tif ({n})", f"{ind}\t\t*{n} = {v};", f"{ind}}}"]
            case ir.MeterExecute(target, meter, index):
                m = self.program.meter(meter)
                amount = ("p->meta.std_packet_length" if m.unit is ir.MeterUnit.BYTES else "1")
                call = (f"meter_execute(&meter_{c_ident(meter)}, {self._index(index, params)}, "
                        f"{m.size}, {amount})")
                return [ind + self.store(target, call)]
            case ir.Apply(table):
                self._apply_site(table)
                return [f"{ind}apply_{c_ident(table)}(p);"]
            case ir.ApplyHit(table, hit, miss):
                self._apply_site(table)
                after = self.vstate
                lines = [f"{ind}if (apply_{c_ident(table)}(p) & TABLE_HIT) {{"]
                lines += self.stmts(hit, params, depth + 1)
                hit_out, self.vstate = self.vstate, after
                if miss:
                    lines.append(f"{ind}}} else {{")
                    lines += self.stmts(miss, params, depth + 1)
                lines.append(f"{ind}}}")
                self.vstate = _union(hit_out, self.vstate)
                return lines
            case ir.ApplySwitch(table, cases, default):
                plan = self.tables[table]
                self._apply_site(table)
                after = self.vstate
                merged: VState = frozenset()
                lines = [f"{ind}switch (apply_{c_ident(table)}(p) & TABLE_ACTION) {{"]
                for case in cases:
                    for a in case.actions:
                        lines.append(f"{ind}case {_action_const(plan, a)}:")
                    lines.append(f"{ind}\t{{")
                    self.vstate = after
                    lines += self.stmts(case.body, params, depth + 2)
                    merged = _union(merged, self.vstate)
                    lines += [f"{ind}\t}}", f"{ind}\tbreak;"]
                lines.append(f"{ind}default:")
                lines.append(f"{ind}\t{{")
                self.vstate = after
                lines += self.stmts(default, params, depth + 2)
                self.vstate = _union(merged, self.vstate)
                lines += [f"{ind}\t}}", f"{ind}\tbreak;", f"{ind}}}"]
                return lines
            case ir.If(cond, then, otherwise):
                before = self.vstate
                lines = [f"{ind}if ({self.expr(cond, params)}) {{"]
                self.vstate = _refine(before, cond, True)
                lines += self.stmts(then, params, depth + 1)
                then_out = self.vstate
                self.vstate = _refine(before, cond, False)
                if otherwise:
                    lines.append(f"{ind}}} else {{")
                    lines += self.stmts(otherwise, params, depth + 1)
                lines.append(f"{ind}}}")
                self.vstate = _union(then_out, self.vstate)
                return lines
            case ir.Return():
                self.final = _union(self.final, self.vstate)
                self.vstate = frozenset()
                return [f"{ind}goto ingress_done;"]
            case _:
                assert_never(s)

    def _index(self, index: ir.Expr, params: dict[str, str]) -> str:
        """A register or meter index as a 64-bit value; wider ones saturate (out of range)."""
        e = self.expr(index, params)
        if _width(index.type) <= 64:
            return e
        return f"((u128)({e}) > 0xffffffffULL ? 0xffffffffffffffffULL : (__u64)({e}))"

    def _hash(self, target: ir.LValue, algo: ir.HashAlgo, exprs: tuple[ir.Expr, ...],
              params: dict[str, str], ind: str) -> list[str]:
        total = sum(_width(e.type) for e in exprs)
        if total % 8:
            raise CodegenError(f"hashed fields total {total} bits, not whole bytes")
        nbytes = total // 8
        buf = self._tmpname("hash_in")
        aligned = all(_width(e.type) % 8 == 0 for e in exprs)
        lines = [f"{ind}{{", f"{ind}\t/* the fields concatenated MSB first */",
                 f"{ind}\t__u8 {buf}[{nbytes}]{';' if aligned else ' = {};'}"]
        pos = 0
        for e in exprs:
            w = _width(e.type)
            if (isinstance(e, ir.FieldRef) and e.header in self.known() and w % 8 == 0
                    and pos % 8 == 0):
                at = self.headers[e.header].type.offset_bits(e.field)
                if at % 8 == 0:  # the wire bytes are already the big-endian value
                    c = self.headers[e.header].c
                    for k in range(w // 8):
                        lines.append(f"{ind}\t{buf}[{pos // 8 + k}] = p->h_{c}[{at // 8 + k}];")
                    pos += w
                    continue
            v = self._tmpname("f")
            lines.append(f"{ind}\t{ctype(w)} {v} = {self.expr(e, params)};")
            for i in range(pos // 8, (pos + w - 1) // 8 + 1):
                shift = (pos + w - 1) - (8 * i + 7)
                piece = f"{v} >> {shift}" if shift > 0 else (
                    f"{v} << {-shift}" if shift < 0 else v)
                whole = pos <= 8 * i and 8 * i + 7 <= pos + w - 1
                lines.append(f"{ind}\t{buf}[{i}] {'=' if whole else '|='} (__u8)({piece});")
            pos += w
        if algo is ir.HashAlgo.CRC16:
            self.out.uses_crc16 = True
            fn = "crc16"
        else:
            self.out.uses_crc32 = True
            fn = "crc32"
        lines.append(f"{ind}\t" + self.store(target, f"{fn}({buf}, {nbytes})"))
        lines.append(f"{ind}}}")
        return lines

    # ------------------------------------------------------------------ actions

    def action_fn(self, action: ir.Action) -> None:
        self.vstate = self.action_ctx.get(action.name, None)
        params = {p.name: f"arg_{c_ident(p.name)}" for p in action.params}
        args = "".join(f", {ctype(p.width)} arg_{c_ident(p.name)}" for p in action.params)
        body = self.stmts(action.body, params, 1)
        where = f" ({action.span})" if action.span.line else ""
        self.out.actions.append(
            f"/* action {action.name}{where} */\n"
            f"static __always_inline void action_{c_ident(action.name)}(struct packet *p{args})"
            f"\n{{\n" + ("\n".join(body) if body else "\t(void)p;") + "\n}\n")

    # ------------------------------------------------------------------ tables

    def table_fn(self, plan: TablePlan) -> None:
        t = plan.table
        n = plan.c_name
        keys = []
        self.vstate = self.table_ctx.get(t.name, None)
        for k in t.keys:
            keys.append((k, self.expr(k.expr, {})))
        lines = []
        where = f" ({t.span})" if t.span.line else ""
        desc = ", ".join(f"{k.name} {k.kind.value}" for k in t.keys)
        lines.append(f"/* table {t.name}{where}: {desc or 'no key'} ({plan.kind}) */")
        lines.append(f"static __always_inline __u32 apply_{n}(struct packet *p)\n{{")
        default_action = find_action(self.program, t.default_action.action)
        default_args = "".join(
            f", {_const(arg, prm.width)}"
            for prm, arg in zip(default_action.params, t.default_action.args, strict=True))
        lines.append("\t__u32 zero = 0;")
        if plan.kind == "exact":
            lines.append(f"\tstruct {n}_key key = {{}};")
            for k, e in keys:
                lines.append(f"\tkey.{plan.member_name(k)} = {e};")
            lines.append(f"\tstruct {n}_value *entry = bpf_map_lookup_elem(&{n}_entries, &key);")
        elif plan.kind == "lpm":
            lines.append(f"\tstruct {n}_key key = {{}};")
            total = sum(nb for _, nb in plan.lpm_data)
            lines.append(f"\tkey.prefixlen = {total * 8};")
            at = 0
            for k, nb in plan.lpm_data:
                e = dict(keys)[k]
                if nb in (1, 2, 4, 8, 16) and (4 + at) % nb == 0:
                    lines.append(f"\tstore_be{nb * 8}(key.data + {at}, {e});")
                else:
                    v = self._tmpname("k")
                    lines.append(f"\t{ctype(k.width)} {v} = {e};")
                    for i in range(nb):
                        shift = 8 * (nb - 1 - i)
                        lines.append(f"\tkey.data[{at + i}] = (__u8)({v} >> {shift});"
                                     if shift else f"\tkey.data[{at + i}] = (__u8){v};")
                at += nb
            lines.append(f"\tstruct {n}_value *entry = bpf_map_lookup_elem(&{n}_entries, &key);")
        elif plan.kind == "scan":
            self._scan_callback(plan)
            lines.append(f"\tstruct {n}_search s = {{}};")
            for k, e in keys:
                lines.append(f"\ts.key.{plan.member_name(k)} = {e};")
            lines.append(f"\tstruct {n}_rules *rules = bpf_map_lookup_elem(&{n}_rules, &zero);")
            lines.append("\tif (rules)")
            lines.append(f"\t\tbpf_loop(rules->count < {plan.max_rules} ? rules->count : "
                         f"{plan.max_rules}, {n}_match_rule, &s, 0);")
            lines.append(f"\tstruct {n}_value *entry = s.found ? &s.best : NULL;")
        else:
            self._tss_callback(plan)
            lines.append(f"\tstruct {n}_search s = {{}};")
            for k, e in keys:
                lines.append(f"\ts.key.{plan.member_name(k)} = {e};")
            lines.append(f"\tstruct {n}_masks *masks = bpf_map_lookup_elem(&{n}_masks, &zero);")
            lines.append("\tif (masks)")
            lines.append(f"\t\tbpf_loop(masks->count < {plan.max_masks} ? masks->count : "
                         f"{plan.max_masks}, {n}_search_mask, &s, 0);")
            lines.append(f"\tstruct {n}_value *entry = s.found ? &s.best : NULL;")
        lines += [
            "\t__u32 hit = TABLE_HIT;",
            "",
            "\tif (!entry) {",
            "\t\thit = 0;",
            f"\t\tentry = bpf_map_lookup_elem(&{n}_default, &zero);",
            "\t\tif (!entry) {",
            "\t\t\t/* (an array always has its element) the declared default */",
            f"\t\t\taction_{c_ident(default_action.name)}(p{default_args});",
            f"\t\t\treturn {_action_const(plan, t.default_action.action)};",
            "\t\t}",
            "\t}",
        ]
        if t.counters:
            lines.append(f"\tcount_packet(&{n}_counters, entry->counter, "
                         "p->meta.std_packet_length);")
        lines.append("\tswitch (entry->action) {")
        for name, layout in plan.actions.items():
            action = layout.params
            args = "".join(f", entry->args.{c_ident(name)}.{c_ident(p.name)}"
                           for p in action.params)
            if name == t.default_action.action:
                # every path runs some action, as the validity analysis assumes
                lines.append("\tdefault: /* an id the control plane never writes */")
            lines.append(f"\tcase {_action_const(plan, name)}:")
            lines.append(f"\t\taction_{c_ident(action.name)}(p{args});")
            lines.append("\t\tbreak;")
        lines += ["\t}", "\treturn hit | entry->action;", "}"]
        self.out.table_code.append("\n".join(lines) + "\n")

    def _scan_callback(self, plan: TablePlan) -> None:
        n = plan.c_name
        tests = []
        for k in plan.table.keys:
            m = plan.member_name(k)
            tests.append(f"\t{ctype(k.width)} v_{m} = s->key.{m} & r->mask_{m};\n\n"
                         f"\tif (v_{m} < r->lo_{m} || v_{m} > r->hi_{m})\n\t\treturn 0;\n")
        self.out.table_code.append(
            f"/* linear search of {plan.name}: entries in rank order, the first match wins */\n"
            f"struct {n}_search {{\n\tstruct {n}_key key;\n\tstruct {n}_value best;\n"
            f"\t__u32 found;\n}};\n\n"
            f"static long {n}_match_rule(__u32 i, void *ctx)\n{{\n"
            f"\tstruct {n}_search *s = ctx;\n\t__u32 zero = 0;\n"
            f"\tstruct {n}_rules *rules = bpf_map_lookup_elem(&{n}_rules, &zero);\n\n"
            f"\tif (!rules)\n\t\treturn 1;\n"
            f"\t/* bpf_loop runs at most {plan.max_rules} times: the mask only shows the "
            f"verifier */\n"
            f"\tstruct {n}_rule *r = &rules->r[bounded_index(i, {plan.max_rules - 1})];\n"
            + "".join(tests) +
            "\t__builtin_memcpy(&s->best, &r->value, sizeof(s->best));\n"
            "\ts->found = 1;\n\treturn 1;\n}\n")

    def _tss_callback(self, plan: TablePlan) -> None:
        n = plan.c_name
        masked = "\n".join(f"\tt.{m} = s->key.{m} & m->{m};"
                           for m in (plan.member_name(k) for k in plan.table.keys))
        self.out.table_code.append(
            f"/* tuple-space search of {plan.name}: one mask per call, best rank first */\n"
            f"struct {n}_search {{\n\tstruct {n}_key key;\n\tstruct {n}_value best;\n"
            f"\t__u32 found;\n}};\n\n"
            f"static long {n}_search_mask(__u32 i, void *ctx)\n{{\n"
            f"\tstruct {n}_search *s = ctx;\n\t__u32 zero = 0;\n"
            f"\tstruct {n}_masks *masks = bpf_map_lookup_elem(&{n}_masks, &zero);\n\n"
            f"\tif (!masks)\n\t\treturn 1;\n"
            f"\t/* bpf_loop runs at most {plan.max_masks} times: the mask only shows the verifier */\n"
            f"\tstruct {n}_mask *m = &masks->m[bounded_index(i, {plan.max_masks - 1})];\n\n"
            f"\t/* masks are sorted by the best rank they hold: none later can win */\n"
            f"\tif (s->found && m->min_rank > s->best.rank)\n\t\treturn 1;\n"
            f"\tstruct {n}_tuple t = {{}};\n\n\tt.mask_id = m->id;\n{masked}\n"
            f"\tstruct {n}_value *v = bpf_map_lookup_elem(&{n}_entries, &t);\n\n"
            f"\tif (v && (!s->found || v->rank < s->best.rank)) {{\n"
            f"\t\t__builtin_memcpy(&s->best, v, sizeof(s->best));\n"
            f"\t\ts->found = 1;\n\t}}\n\treturn 0;\n}}\n")

    # ------------------------------------------------------------------ parser

    def _parse_sets(self) -> tuple[dict[str, VState], VState]:
        """Per parser state, the valid sets it can be entered with; and those at accept."""
        if self.out.cyclic_parser:
            return {}, None
        incoming: dict[str, set[frozenset[str]]] = {}
        accepted: set[frozenset[str]] = set()
        states = {st.name: st for st in self.program.parser}

        def visit(name: str, valid: frozenset[str]) -> None:
            if name == ir.REJECT:
                return
            if name == ir.ACCEPT:
                accepted.add(valid)
                return
            seen = incoming.setdefault(name, set())
            if valid in seen:
                return
            seen.add(valid)
            st = states[name]
            after = valid | frozenset(st.extracts)
            for nxt in {c.next_state for c in st.cases} | {st.default}:
                visit(nxt, after)

        visit(self.program.start.name, frozenset())
        return {k: frozenset(v) for k, v in incoming.items()}, frozenset(accepted)

    def parser(self) -> None:
        out = self.out.parser
        incoming, _ = self._parse_sets()
        # A state entered with one known valid set needs no bit updates of its own: the bits
        # are stored once, as constants, when the packet leaves it for accept or for a state
        # that more than one path leads to.
        single = {name for name, sets in incoming.items() if len(sets) == 1}

        def goto(target: str, after: frozenset[str] | None) -> str:
            label = _state_label(target)
            if after is None or target == ir.REJECT or target in single:
                return f"goto {label};"
            bits = " | ".join(self.headers[h].valid_flag for h in sorted(
                after, key=lambda h: self.headers[h].bit)) or "0"
            return (f"{{ VALID_BITS(p) = {bits}; INPKT_BITS(p) = {bits}; goto {label}; }}")

        for state in self.program.parser:
            entry = incoming.get(state.name, None if self.out.cyclic_parser else frozenset())
            self.vstate = (None if entry is None
                           else frozenset(v | frozenset(state.extracts) for v in entry))
            after = next(iter(self.vstate)) if state.name in single and self.vstate else None
            where = f" ({state.span})" if state.span.line else ""
            out.append(f"state_{c_ident(state.name)}:{where and ' /*' + where + ' */'}")
            if self.out.cyclic_parser:
                out.append("\tif (++steps > MAX_PARSER_STEPS || off > MAX_HEADER_BYTES)")
                out.append("\t\tgoto reject;")
            for h in state.extracts:
                out += self._extract(self.headers[h], set_bits=after is None)
            if not state.select_keys:
                out.append(f"\t{goto(state.default, after)}")
                continue
            key_names = []
            out.append("\t{")
            for i, k in enumerate(state.select_keys):
                kn = f"key{i}"
                key_names.append((kn, _width(k.type)))
                out.append(f"\t\t{ctype(_width(k.type))} {kn} = {self.expr(k, {})};")
            for case in state.cases:
                conds = [c for c in (_match_cond(m, kn, w) for m, (kn, w) in
                                     zip(case.matches, key_names, strict=True)) if c]
                cond = " && ".join(conds) if conds else "1"
                out.append(f"\t\tif ({cond})")
                out.append(f"\t\t\t{goto(case.next_state, after)}")
            out.append(f"\t\t{goto(state.default, after)}")
            out.append("\t}")

    def _extract(self, info: HeaderInfo, set_bits: bool) -> list[str]:
        size = info.size
        lines = [f"\t/* extract {info.name} ({size} bytes) */",
                 f"\tif (data + off + {size} > data_end)",
                 "\t\tgoto reject;",
                 f"\tp->h_{info.c} = data + off;"]
        if set_bits:
            lines += [f"\tVALID_BITS(p) |= {info.valid_flag};",
                      f"\tINPKT_BITS(p) |= {info.valid_flag};"]
        if info.tail:
            lines.append(f"\tp->off_{info.c} = off;")
        lines.append(f"\toff += {size};")
        v = info.type.varlen
        if v is not None:
            length = (f"(__s32){self.getter(info.name, v.length_field)}(p) * {v.scale}"
                      f" + ({v.offset})")
            lines += [
                "\t{",
                f"\t\t/* {v.name}: {v.length_field} * {v.scale} + ({v.offset}) bytes */",
                f"\t\t__s32 len = {length};",
                "",
                f"\t\tif (len < 0 || len > {v.max_bytes})",
                "\t\t\tgoto reject;",
                f"\t\tp->varlen_{info.c} = len;",
                "\t\tif (len > 0) {",
                "\t\t\tif (data + off + len > data_end)",
                "\t\t\t\tgoto reject;",
                f"\t\t\t__builtin_memset(p->scratch->{info.c}_{c_ident(v.name)}, 0, "
                f"{_round4(v.max_bytes)});",
                f"\t\t\t__u32 n = bounded_len(len, {_pow2(v.max_bytes) - 1});",
                "",
                "\t\t\tif (bpf_xdp_load_bytes(ctx, off, p->scratch->"
                f"{info.c}_{c_ident(v.name)}, n))",
                "\t\t\t\tgoto reject;",
                "\t\t\toff += len;",
                "\t\t}",
                "\t}",
            ]
        return lines

    # ------------------------------------------------------------------ deparser

    def checksums(self) -> None:
        for name in self.program.checksums:
            info = self.headers[name]
            try:
                f = info.type.field("checksum")
            except KeyError:
                raise CodegenError(f"checksum header {name!r} has no 'checksum' field") from None
            offset = info.type.offset_bits("checksum")
            if f.width != 16 or offset % 16 or info.size % 2:
                raise CodegenError(f"checksum of {name!r} must be a 16-bit aligned field")
            cbyte = offset // 8
            lines = [f"/* RFC 791 header checksum of {name}, recomputed on the way out */",
                     f"static __always_inline void checksum_{info.c}(struct packet *p)\n{{",
                     f"\t__u8 *h = p->h_{info.c};",
                     "\t__u64 sum = 0;", ""]
            at = 0
            while at < info.size:
                chunk = 4 if info.size - at >= 4 else 2
                covered = set(range(at, at + chunk)) & {cbyte, cbyte + 1}
                t = ctype(chunk * 8)
                load = f"*({t} *)(h + {at})"
                if covered:
                    keep = 0
                    for i in range(chunk):
                        if at + i not in covered:
                            keep |= 0xFF << (8 * i)  # native (little-endian) byte i
                    if keep:
                        lines.append(f"\tsum += {load} & 0x{keep:x};")
                else:
                    lines.append(f"\tsum += {load};")
                at += chunk
            v = info.type.varlen
            if v is not None:
                words = _round4(v.max_bytes) // 4
                lines += [f"\tif (p->varlen_{info.c}) {{",
                          f"\t\tconst __u32 *o = (const __u32 *)p->scratch->{info.c}_"
                          f"{c_ident(v.name)};",
                          "",
                          "#pragma unroll",
                          f"\t\tfor (int i = 0; i < {words}; i++)",
                          "\t\t\tsum += o[i];",
                          "\t}"]
            lines += [f"\t*(__u16 *)(h + {cbyte}) = csum_fold(sum);", "}"]
            self.out.checksum_fns.append("\n".join(lines) + "\n")

    def deparser(self) -> None:
        out = self.out.deparser
        # one read of the bits for the whole deparser (a register the verifier still follows)
        out += ["\t__u64 valid = VALID_BITS(p), inpkt = INPKT_BITS(p);", ""]
        self.vstate = self.final
        known = self.known()
        for name in self.program.checksums:
            info = self.headers[name]
            if self.final is not None and not any(name in v for v in self.final):
                continue  # never valid on the way out
            if name in known:
                out.append(f"\tchecksum_{info.c}(p); /* {name} is valid on every path here */")
            else:
                out += [f"\tif (valid & {info.valid_flag})",
                        f"\t\tchecksum_{info.c}(p);"]
        front = [h for h in self.headers.values() if h.front]
        tail = [h for h in self.headers.values() if h.tail]
        if not front:
            return
        front_mask = " | ".join(h.valid_flag for h in front)
        if self.out.in_place:
            # changed: a header removed or added, or one made valid again after removal
            # (valid, but no longer the bytes in the packet)
            out.append(f"\tif (((valid ^ p->parsed) | (valid & ~inpkt)) & ({front_mask})) {{")
        else:
            out.append("\t{")
        out.append("\t\t/* the front headers changed: rebuild them before the tail */")
        out.append("\t\t__u32 front_end = p->hdr_end;")
        for h in reversed(tail):
            out += [f"\t\tif (valid & {h.valid_flag})", f"\t\t\tfront_end = p->off_{h.c};"]
        out.append("\t\t__u32 new_len = 0;")
        for h in front:
            lines = [f"\t\tif (valid & {h.valid_flag}) {{"]
            lines += [f"\t\t\tif (inpkt & {h.valid_flag})",
                      f"\t\t\t\t{self.copy_fn(h.size)}(p->scratch->{h.c}, p->h_{h.c});",
                      f"\t\t\tnew_len += {h.size};"]
            if h.type.varlen:
                lines.append(f"\t\t\tnew_len += p->varlen_{h.c};")
            lines.append("\t\t}")
            out += lines
        out += ["\t\t/* the kernel refuses a frame shorter than an Ethernet header, or more",
                "\t\t * headers than its headroom: such a packet cannot leave, it is dropped */",
                "\t\tif (new_len != front_end &&",
                "\t\t    bpf_xdp_adjust_head(ctx, (int)front_end - (int)new_len))",
                "\t\t\tgoto drop;",
                "\t\tdata = (void *)(long)ctx->data;",
                "\t\tdata_end = (void *)(long)ctx->data_end;",
                "\t\t__u32 at = 0;"]
        for h in front:
            out += [f"\t\tif (valid & {h.valid_flag}) {{",
                    f"\t\t\tif (data + at + {h.size} > data_end)",
                    "\t\t\t\tgoto aborted;",
                    f"\t\t\t{self.copy_fn(h.size)}(data + at, p->scratch->{h.c});",
                    f"\t\t\tat += {h.size};"]
            v = h.type.varlen
            if v is not None:
                out += ["\t\t\t{",
                        f"\t\t\t\t__u32 len = p->varlen_{h.c};",
                        "",
                        f"\t\t\t\tif (len > {v.max_bytes})",
                        "\t\t\t\t\tgoto aborted;",
                        f"\t\t\t\tif (len && bpf_xdp_store_bytes(ctx, at, p->scratch->{h.c}_"
                        f"{c_ident(v.name)}, bounded_len(len, {_pow2(v.max_bytes) - 1})))",
                        "\t\t\t\t\tgoto aborted;",
                        "\t\t\t\tat += len;",
                        "\t\t\t\tdata = (void *)(long)ctx->data;",
                        "\t\t\t\tdata_end = (void *)(long)ctx->data_end;",
                        "\t\t\t}"]
            out.append("\t\t}")
        out.append("\t}")

    # ------------------------------------------------------------------ structs

    def structs(self) -> None:
        out = self.out
        for m in (*ir.STD_FIELDS, *self.program.metadata):
            out.meta_members.append(f"{ctype(m.width)} {m.scope}_{c_ident(m.name)};")
        for h in self.headers.values():
            out.packet_members.append(f"__u8 *h_{h.c};")
        for h in self.headers.values():
            if h.tail:
                out.packet_members.append(f"__u32 off_{h.c};")
            if h.type.varlen:
                out.packet_members.append(f"__u32 varlen_{h.c};")
        for h in self.headers.values():
            if h.front:
                out.scratch_members.append(f"__u8 {h.c}[{_round8(h.size)}];")
            if h.type.varlen:
                v = h.type.varlen
                out.scratch_members.append(
                    f"__u8 {h.c}_{c_ident(v.name)}[{_pow2(v.max_bytes)}] "
                    "__attribute__((aligned(8)));")

    def table_decls(self, plan: TablePlan) -> None:
        """The C structs and maps of one table, with the layout checks the control plane
        relies on."""
        n = plan.c_name
        out = []
        asserts = []

        def struct_c(st: Struct, cname: str) -> str:
            body = "\n".join(f"\t{line}" for line in st.c_members())
            for m in st.members:
                asserts.append(f"_Static_assert(__builtin_offsetof(struct {cname}, {m.name}) == "
                               f"{m.offset}, \"{cname}.{m.name}\");")
            asserts.append(f"_Static_assert(sizeof(struct {cname}) == {st.size}, "
                           f"\"sizeof {cname}\");")
            return f"struct {cname} {{\n{body}\n}};\n"

        out.append(struct_c(plan.key, f"{n}_key"))
        if plan.tss_key is not None:
            out.append(struct_c(plan.tss_key, f"{n}_tuple"))
        args = action_arg_structs(plan)
        union = []
        for name, st in args.items():
            members = st.c_members() if st.members else ["__u8 _none;"]
            union.append("\t\tstruct {\n" + "".join(f"\t\t\t{m}\n" for m in members)
                         + f"\t\t}} {c_ident(name)};")
            for m in st.members:
                asserts.append(
                    f"_Static_assert(__builtin_offsetof(struct {n}_value, "
                    f"args.{c_ident(name)}.{m.name}) == {m.offset + plan.args_offset}, "
                    f"\"{n}_value.{name}.{m.name}\");")
        head = plan.value.c_members()
        head_size = plan.value.size
        if plan.args_offset > head_size:
            head.append(f"__u8 _pad_args[{plan.args_offset - head_size}];")
        out.append(f"/* what an entry of {plan.name} holds: the action, its counter slot and "
                   f"its arguments */\nstruct {n}_value {{\n"
                   + "".join(f"\t{m}\n" for m in head)
                   + "\tunion {\n" + "\n".join(union) + "\n\t} args;\n};\n")
        for m in plan.value.members:
            asserts.append(f"_Static_assert(__builtin_offsetof(struct {n}_value, {m.name}) == "
                           f"{m.offset}, \"{n}_value.{m.name}\");")
        asserts.append(f"_Static_assert(sizeof(struct {n}_value) == {plan.value_size}, "
                       f"\"sizeof {n}_value\");")
        for name, layout in plan.actions.items():
            out.append(f"#define {_action_const(plan, name)} {layout.id}")
        if plan.kind == "tss":
            assert plan.mask_elem is not None
            elem = "".join(f"\t{line}\n" for line in plan.mask_elem.c_members())
            out.append(f"struct {n}_mask {{\n{elem}}} __attribute__((aligned("
                       f"{plan.mask_elem.align})));\n")
            asserts.append(f"_Static_assert(sizeof(struct {n}_mask) == {plan.mask_elem.size}, "
                           f"\"sizeof {n}_mask\");")
            out.append(f"struct {n}_masks {{\n\t__u32 count;\n"
                       f"\tstruct {n}_mask m[{plan.max_masks}] "
                       f"__attribute__((aligned({plan.mask_elem.align})));\n}};\n")
            asserts.append(f"_Static_assert(__builtin_offsetof(struct {n}_masks, m) == "
                           f"{plan.mask_array_offset}, \"{n}_masks.m\");")
            asserts.append(f"_Static_assert(sizeof(struct {n}_masks) == {plan.mask_list_size}, "
                           f"\"sizeof {n}_masks\");")
        if plan.kind == "scan":
            assert plan.rule is not None
            bounds = Struct(plan.rule.name, plan.rule.members, plan.rule_value_offset,
                            plan.rule.align)
            members = bounds.c_members()  # padded up to where the value starts
            out.append(f"struct {n}_rule {{\n" + "".join(f"\t{m}\n" for m in members)
                       + f"\tstruct {n}_value value;\n}} __attribute__((aligned("
                       f"{plan.rule.align})));\n")
            asserts.append(f"_Static_assert(__builtin_offsetof(struct {n}_rule, value) == "
                           f"{plan.rule_value_offset}, \"{n}_rule.value\");")
            asserts.append(f"_Static_assert(sizeof(struct {n}_rule) == {plan.rule.size}, "
                           f"\"sizeof {n}_rule\");")
            for m in plan.rule.members:
                asserts.append(f"_Static_assert(__builtin_offsetof(struct {n}_rule, {m.name}) "
                               f"== {m.offset}, \"{n}_rule.{m.name}\");")
            out.append(f"struct {n}_rules {{\n\t__u32 count;\n"
                       f"\tstruct {n}_rule r[{plan.max_rules}];\n}};\n")
            asserts.append(f"_Static_assert(__builtin_offsetof(struct {n}_rules, r) == "
                           f"{plan.rules_offset}, \"{n}_rules.r\");")
            asserts.append(f"_Static_assert(sizeof(struct {n}_rules) == {plan.rules_size}, "
                           f"\"sizeof {n}_rules\");")
        maps = []
        if plan.kind == "scan":
            maps.append(_map_c(f"{n}_rules", "BPF_MAP_TYPE_ARRAY", "__u32",
                               f"struct {n}_rules", 1))
        elif plan.kind == "exact":
            maps.append(_map_c(f"{n}_entries", "BPF_MAP_TYPE_HASH", f"struct {n}_key",
                               f"struct {n}_value", plan.entries_max))
        elif plan.kind == "lpm":
            maps.append(_map_c(f"{n}_entries", "BPF_MAP_TYPE_LPM_TRIE", f"struct {n}_key",
                               f"struct {n}_value", plan.entries_max, "BPF_F_NO_PREALLOC"))
        else:
            maps.append(_map_c(f"{n}_entries", "BPF_MAP_TYPE_HASH", f"struct {n}_tuple",
                               f"struct {n}_value", plan.entries_max))
            maps.append(_map_c(f"{n}_masks", "BPF_MAP_TYPE_ARRAY", "__u32",
                               f"struct {n}_masks", 1))
        maps.append(_map_c(f"{n}_default", "BPF_MAP_TYPE_ARRAY", "__u32", f"struct {n}_value", 1))
        if plan.table.counters:
            maps.append(_map_c(f"{n}_counters", "BPF_MAP_TYPE_PERCPU_ARRAY", "__u32",
                               "struct counter", plan.counter_slots))
        self.out.structs.append("\n".join(out) + "\n" + "\n".join(maps))
        self.out.static_asserts += asserts

    def generate(self) -> Generated:
        self.structs()
        for plan in self.tables.values():
            self.table_decls(plan)
        self.parser()
        # the control first: it finds the context every table and action runs in
        self.vstate = self._parse_sets()[1]
        self.out.ingress = self.stmts(self.program.ingress, {}, 1)
        self.final = _union(self.final, self.vstate)
        for action in self.program.actions:
            self.action_fn(action)
        used_builtins = {a for t in self.program.tables for a in t.actions
                         if a not in {x.name for x in self.program.actions}}
        for name in sorted(used_builtins):
            self.action_fn(find_action(self.program, name))
        for plan in self.tables.values():
            self.table_fn(plan)
        self.checksums()
        self.deparser()
        self.out.needs_ingress_port_early = reads_meta(self.program, "ingress_port")
        self.out.needs_packet_length = (
            reads_meta(self.program, "packet_length")
            or any(t.counters for t in self.program.tables)
            or any(m.unit is ir.MeterUnit.BYTES for m in self.program.meters))
        return self.out


def _mentions(e: ir.Expr, header: str) -> bool:
    match e:
        case ir.FieldRef(h, _, _) | ir.IsValid(h):
            return h == header
        case ir.BinOp(_, a, b, _) | ir.Concat(a, b, _):
            return _mentions(a, header) or _mentions(b, header)
        case ir.UnOp(_, a, _) | ir.Slice(a, _, _, _) | ir.Cast(a, _):
            return _mentions(a, header)
        case _:
            return False


def _union(a: VState, b: VState) -> VState:
    if a is None or b is None:
        return None
    return a | b


def _truth(cond: ir.Expr, valid: frozenset[str]) -> bool | None:
    """``cond`` given which headers are valid: True, False, or None when it depends on more."""
    match cond:
        case ir.IsValid(h):
            return h in valid
        case ir.Const(value, ir.BoolType()):
            return bool(value)
        case ir.UnOp(ir.UnOpKind.LNOT, inner, _):
            t = _truth(inner, valid)
            return None if t is None else not t
        case ir.BinOp(ir.BinOpKind.LAND, a, b, _):
            ta, tb = _truth(a, valid), _truth(b, valid)
            if ta is False or tb is False:
                return False
            return True if ta and tb else None
        case ir.BinOp(ir.BinOpKind.LOR, a, b, _):
            ta, tb = _truth(a, valid), _truth(b, valid)
            if ta or tb:
                return True
            return False if ta is False and tb is False else None
        case _:
            return None


def _refine(state: VState, cond: ir.Expr, taken: bool) -> VState:
    """The valid sets under which ``cond`` can come out ``taken``."""
    if state is None:
        return None
    return frozenset(v for v in state if _truth(cond, v) in (None, taken))


def _map_c(name: str, kind: str, key: str, value: str, entries: int, flags: str = "") -> str:
    flag = f"\n\t__uint(map_flags, {flags});" if flags else ""
    return (f"struct {{\n\t__uint(type, {kind});\n\t__uint(max_entries, {entries});{flag}\n"
            f"\t__type(key, {key});\n\t__type(value, {value});\n}} {name} SEC(\".maps\");\n")


def _width(t: ir.Type) -> int:
    return t.width if isinstance(t, ir.Bits) else 1


def _pow2(n: int) -> int:
    """The buffer size for a variable part of at most ``n`` bytes (a power of two, >= 8)."""
    size = 8
    while size < n:
        size *= 2
    return size


def _round4(n: int) -> int:
    return (n + 3) // 4 * 4


def _round8(n: int) -> int:
    return (n + 7) // 8 * 8


def _state_label(name: str) -> str:
    if name == ir.ACCEPT:
        return "accept"
    if name == ir.REJECT:
        return "reject"
    return f"state_{c_ident(name)}"


def _action_const(plan: TablePlan, action: str) -> str:
    return f"{plan.c_name.upper()}_{c_ident(action).upper()}"


def _match_cond(m: ir.Match, key: str, width: int) -> str | None:
    match m:
        case ir.Exact(v):
            return f"{key} == {_const(v, width)}"
        case ir.Ternary(v, tmask):
            if tmask & mask(width) == 0:
                return None
            return f"({key} & {_const(tmask, width)}) == {_const(v & tmask, width)}"
        case ir.Lpm(v, plen):
            pm = mask(width) ^ mask(width - plen)
            if not pm:
                return None
            return f"({key} & {_const(pm, width)}) == {_const(v & pm, width)}"
        case ir.Range(lo, hi):
            return f"{key} >= {_const(lo, width)} && {key} <= {_const(hi, width)}"
        case ir.Wildcard():
            return None
        case _:
            assert_never(m)


def generate(program: ir.Program) -> Generated:
    return Generator(program).generate()


__all__ = ["CodegenError", "Generated", "generate", "storage_bytes"]
