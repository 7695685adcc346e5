"""The parse graph in hardware, over the header window (the first ``H`` bytes of a packet).

The graph is unrolled in space: every state gets a ``reach`` bit and the byte offset where it
starts. Offsets are dynamic (VLAN tags, IPv4 options) but each can take only a few values, which
``ParseGraph`` finds statically: they are evenly spaced (IPv4 options come in 4-byte words), so
extracting a header is a shifter over just the bytes it can start at, one 2:1 multiplexer
level per bit of its position among those offsets. A packet is dropped when the parser
rejects it: an explicit ``reject``, a header past the end of the packet (``wlen``), or a
variable-length part out of range. Those length checks are kept off the chain from state to
state: a failed one makes the packet a fault, and the states after it, reached or not, no
longer matter because the packet is dropped.

A deep graph is parsed in two clocks. Each state's offset waits for the headers before it (the
gateway's TCP header for two sets of IPv4 options, behind a UDP port and two EtherTypes): about
35 LUTs end to end in one clock. ``ParseGraph.late`` splits the states in the middle of that
chain; the PHV, every later state's ``reach`` and offset, and the window's first beat are
registered between the two halves. The rest of the window needs no copy: the next packet's
first beat is the only one that can land in the window in that clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import gcd

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from wirespeed.compiler import ir
from wirespeed.hdl.phv import ExprCompiler, Phv, UnsupportedOnFpga, fit


def varlen_sizes(v: ir.VarLen) -> list[int]:
    return [n for n in range(v.max_bytes + 1) if (n - v.offset) % v.scale == 0]


def header_sizes(t: ir.HeaderType) -> list[int]:
    fixed = t.fixed_bytes
    return [fixed + n for n in varlen_sizes(t.varlen)] if t.varlen else [fixed]


@dataclass
class ParseGraph:
    """Static facts: state order, the offsets each state and extract can start at."""

    order: list[str]
    entry: dict[str, set[int]]
    extract_at: dict[tuple[str, int], set[int]] = field(default_factory=dict)
    accept_lengths: set[int] = field(default_factory=set)
    window_bytes: int = 0  # the deepest parse path

    @classmethod
    def of(cls, program: ir.Program) -> ParseGraph:
        order: list[str] = []
        marks: dict[str, int] = {}

        def visit(name: str) -> None:
            if name in (ir.ACCEPT, ir.REJECT):
                return
            if marks.get(name) == 1:
                raise UnsupportedOnFpga(f"the parser loops through state {name!r}; "
                                        "the FPGA parser needs an acyclic graph",
                                        program.state(name).span)
            if marks.get(name) == 2:
                return
            marks[name] = 1
            for nxt in _successors(program.state(name)):
                visit(nxt)
            marks[name] = 2
            order.append(name)

        visit(program.start.name)
        order.reverse()
        graph = cls(order=order, entry={s: set() for s in order})
        graph.entry[program.start.name].add(0)
        deepest = 0
        for name in order:
            state = program.state(name)
            offsets = set(graph.entry[name])
            for i, header in enumerate(state.extracts):
                graph.extract_at[(name, i)] = offsets
                sizes = header_sizes(program.header(header).type)
                offsets = {o + s for o in offsets for s in sizes}
            deepest = max([deepest, *offsets])
            for nxt in _successors(state):
                if nxt == ir.ACCEPT:
                    graph.accept_lengths |= offsets
                elif nxt != ir.REJECT:
                    graph.entry[nxt] |= offsets
        graph.window_bytes = deepest
        return graph

    def late(self, program: ir.Program) -> set[str]:
        """The states parsed in the second clock: those that start past the middle of the
        longest chain of logic, in rough LUT levels (shifter levels, the offset adder of a
        variable part, the length check and the select). None when the chain is short."""
        start = {name: 0 for name in self.order}
        end = {}
        for name in self.order:
            state = program.state(name)
            levels = SELECT_LEVELS
            for i, header in enumerate(state.extracts):
                levels += (len(self.extract_at[(name, i)]) - 1).bit_length() + CHECK_LEVELS
                if program.header(header).type.varlen:
                    levels += ADDER_LEVELS
            end[name] = start[name] + levels
            for nxt in _successors(state):
                if nxt in start:
                    start[nxt] = max(start[nxt], end[name])
        total = max(end.values())
        if total < SPLIT_LEVELS:
            return set()
        return {name for name in self.order if 2 * start[name] >= total}


# rough LUT levels, for ``ParseGraph.late``
SELECT_LEVELS = 3
CHECK_LEVELS = 2
ADDER_LEVELS = 3
SPLIT_LEVELS = 16  # a graph this deep is parsed in two clocks


def _successors(state: ir.ParserState) -> list[str]:
    return [c.next_state for c in state.cases] + [state.default]


def big_endian(window: Value, offset: int, nbytes: int) -> Value:
    """``nbytes`` wire bytes from byte lane ``offset`` as one big-endian number."""
    lanes = [window[8 * (offset + i): 8 * (offset + i + 1)] for i in range(nbytes)]
    return Cat(*reversed(lanes))


def bytes_at(m: Module, window: Value, offset: Value, offsets: list[int], nbytes: int,
             name: str) -> Value:
    """``nbytes`` window bytes (lane order) from ``offset``, which is one of ``offsets``.

    The offsets are ``first + step * k``; the shifter takes ``k`` in binary and shifts by the
    largest steps first, so each level is only as wide as the shifts still to come need. Bytes
    past the window read as zero."""
    first = offsets[0]
    if len(offsets) == 1:
        return fit(window[8 * first:], 8 * nbytes)
    step = 0
    for o in offsets:
        step = gcd(step, o - first)
    step = step or 1
    positions = (offsets[-1] - first) // step + 1
    index = Signal(range(positions), name=f"at_{name}")
    with m.Switch(offset):
        for o in offsets:
            with m.Case(o):
                m.d.comb += index.eq((o - first) // step)
    out_bits, step_bits = 8 * nbytes, 8 * step
    reach = out_bits + ((1 << len(index)) - 1) * step_bits
    level: Value = fit(window[8 * first:], reach)
    for b in reversed(range(len(index))):
        need = out_bits + ((1 << b) - 1) * step_bits
        shift = (1 << b) * step_bits
        level = Mux(index[b], level[shift:shift + need], level[:need])
    return level[:out_bits]


def match_select(key: Value, match: ir.Match) -> Value:
    width = len(key)
    match match:
        case ir.Exact(value):
            return key == value
        case ir.Ternary(value, mask):
            return (key & mask) == (value & mask)
        case ir.Range(lo, hi):
            return (key >= lo) & (key <= hi)
        case ir.Lpm(value, prefix):
            mask = ((1 << prefix) - 1) << (width - prefix)
            return (key & mask) == (value & mask)
        case ir.Wildcard():
            return Const(1, 1)
        case _:
            raise AssertionError(match)


class ParserHw:
    """Builds the parser into ``m``; ``parse`` returns the PHV with every header's fields and
    validity, ``accepted`` and ``plen`` (bytes parsed), each varlen part's length and bytes,
    and ``tail_start``: where the bytes the output stage copies from the packet begin.
    ``tail_entry`` (``DeparserHw.tail_entry``) names the headers those bytes can begin in, and
    how far in; a packet with none of them has its copy begin at ``plen``."""

    def __init__(self, program: ir.Program, graph: ParseGraph, window_bytes: int,
                 lanes: int, tail_entry: dict[str, int] | None = None) -> None:
        self.program = program
        self.tail_entry = tail_entry or {}
        self.graph = graph
        self.window_bytes = window_bytes
        self.lanes = lanes
        self.late = graph.late(program)
        # the window as the parse ends sees it (its first beat registered, when in two clocks)
        self.window_after: Value | None = None

    def parse(self, m: Module, window: Value, wlen: Value, port: Value,
              carried: dict[str, Value], cut: Callable[[Phv], None]) -> Phv:
        """``carried``: the descriptor's other values (valid, wlen, ...), which change when the
        next packet comes in: they go into the PHV first, to be registered with it. ``cut``
        registers the PHV (a pipeline stage) between the parser's two clocks."""
        program, graph, H = self.program, self.graph, self.window_bytes
        self.exprs = ExprCompiler(program, m)
        phv = Phv(carried)
        for h in program.headers:
            phv[f"v:{h.name}"] = Const(0, 1)
            for f in h.type.fields:
                phv[f"f:{h.name}.{f.name}"] = Const(0, f.width)
            if h.type.varlen:
                phv[f"vl:{h.name}"] = Const(0, range(h.type.varlen.max_bytes + 1))
                phv[f"vb:{h.name}"] = Const(0, 8 * h.type.varlen.max_bytes)
        for meta in program.metadata:
            phv[f"m:meta.{meta.name}"] = Const(0, meta.width)
        phv["m:std.ingress_port"] = port
        phv["m:std.egress_port"] = Const(ir.DROP_PORT, ir.PORT_WIDTH)
        phv["tail_seen"] = Const(0, 1)
        phv["tail_start"] = Const(0, range(H + 1))

        reach_terms: dict[str, list[Value]] = {s: [] for s in graph.order}
        offset_terms: dict[str, list[Value]] = {s: [] for s in graph.order}
        accepted_terms: list[Value] = []
        fault_terms: list[Value] = []  # a reached state's header is cut short or out of range
        plen_terms: list[Value] = []
        parent_of, shared_bytes = self._siblings()
        ends: dict[str, Value] = {}  # each state's offset after its headers
        copies: dict[str, Value] = {}  # a parent's bytes from where it ends, for its children
        for name in graph.order:
            if name in self.late and self.window_after is None:
                later = graph.order[graph.order.index(name):]
                window, wlen = self._cut(phv, window, later, reach_terms, offset_terms,
                                         accepted_terms, fault_terms, plen_terms, cut)
            state = program.state(name)
            sid = name.replace(".", "_")
            if name == program.start.name:
                reach: Value = Const(1, 1)
                offset: Value = Const(0, range(H + 1))
            else:
                reach = Signal(name=f"reach_{sid}")
                m.d.comb += reach.eq(Cat(*reach_terms[name]).any())
                offset = Signal(range(H + 1), name=f"off_{sid}")
                m.d.comb += offset.eq(_or_all(offset_terms[name]))
            ok: Value = Const(1, 1)
            for i, header in enumerate(state.extracts):
                htype = program.header(header).type
                fixed = htype.fixed_bytes
                varlen_bytes = htype.varlen.max_bytes if htype.varlen else 0
                # the header's bytes in wire order, its variable part included
                raw_bytes = Signal(8 * (fixed + varlen_bytes), name=f"x_{sid}_{header}")
                offsets = sorted(graph.extract_at[(name, i)])
                parent = parent_of.get(name) if i == 0 else None
                if parent in ends and (parent in self.late) == (name in self.late):
                    # siblings start where their one parent ends: one shifter for all of them
                    if parent not in copies:
                        copies[parent] = bytes_at(m, window, ends[parent], offsets,
                                                  shared_bytes[parent], f"after_{parent}")
                    m.d.comb += raw_bytes.eq(copies[parent])
                else:
                    m.d.comb += raw_bytes.eq(bytes_at(m, window, offset, offsets,
                                                      fixed + varlen_bytes, f"{sid}_{header}"))
                bits = big_endian(raw_bytes, 0, fixed)
                ok = ok & (offset + fixed <= wlen)
                if header in self.tail_entry:
                    # the first such header on the packet's path begins the copied bytes
                    begins = reach & ~phv["tail_seen"]
                    phv["tail_start"] = Mux(begins, offset + self.tail_entry[header],
                                            phv["tail_start"])
                    phv["tail_seen"] = phv["tail_seen"] | reach
                valid_key = f"v:{header}"
                phv[valid_key] = phv[valid_key] | reach
                for f in htype.fields:
                    lsb = htype.fixed_bits - htype.offset_bits(f.name) - f.width
                    key = f"f:{header}.{f.name}"
                    phv[key] = Mux(reach, bits[lsb:lsb + f.width], phv[key])
                end = offset + fixed
                if htype.varlen:
                    v = htype.varlen
                    length_field = bits[htype.fixed_bits - htype.offset_bits(v.length_field)
                                        - htype.field(v.length_field).width:
                                        htype.fixed_bits - htype.offset_bits(v.length_field)]
                    scaled = length_field * v.scale
                    nbytes = Signal(range(v.max_bytes + 1), name=f"vl_{sid}_{header}")
                    m.d.comb += nbytes.eq(scaled + v.offset)
                    ok = ok & (scaled + v.offset >= 0) & (scaled <= v.max_bytes - v.offset)
                    ok = ok & (offset + fixed + nbytes <= wlen)
                    # the variable part's bytes, copied out of the window here so that the
                    # window itself does not have to travel down the pipeline to the deparser
                    raw = raw_bytes[8 * fixed:]
                    phv[f"vl:{header}"] = Mux(reach, nbytes, phv[f"vl:{header}"])
                    phv[f"vb:{header}"] = Mux(reach, raw, phv[f"vb:{header}"])
                    end = end + nbytes
                new_offset = Signal(range(H + 1), name=f"end_{sid}_{i}")
                m.d.comb += new_offset.eq(end)
                offset = new_offset
            ends[name] = offset
            fault_terms.append(reach & ~ok)
            keys = [self.exprs.ev(k, phv) for k in state.select_keys]
            taken_before: Value = Const(0, 1)
            targets: list[tuple[str, Value]] = []
            for case in state.cases:
                cond = Const(1, 1)
                for key, match in zip(keys, case.matches, strict=True):
                    cond = cond & match_select(key, match)
                targets.append((case.next_state, reach & cond & ~taken_before))
                taken_before = taken_before | cond
            targets.append((state.default, reach & ~taken_before))
            for nxt, taken in targets:
                if nxt == ir.ACCEPT:
                    accepted_terms.append(taken)
                    plen_terms.append(Mux(taken, offset, 0))
                elif nxt != ir.REJECT:
                    reach_terms[nxt].append(taken)
                    offset_terms[nxt].append(Mux(taken, offset, 0))
        if self.window_after is None:
            self.window_after = window
        accepted = Signal(name="parse_accepted")
        plen = Signal(range(H + 1), name="parse_length")
        m.d.comb += [accepted.eq((Cat(*accepted_terms).any() if accepted_terms else 0) &
                                 ~Cat(*fault_terms).any()),
                     plen.eq(_or_all(plen_terms))]
        phv["accepted"] = accepted
        phv["plen"] = plen
        tail_start = Signal(range(H + 1), name="tail_start")
        m.d.comb += tail_start.eq(Mux(phv.values.pop("tail_seen"), phv["tail_start"], plen))
        phv["tail_start"] = tail_start
        return phv


    def _siblings(self) -> tuple[dict[str, str], dict[str, int]]:
        """States that are reached from one parent only, with a sibling that is too (TCP and
        UDP after IPv4), start where the parent ends: they read their first header through one
        shifter, as wide as the widest. Returns each such state's parent, and per parent the
        bytes that shifter reads."""
        program, graph = self.program, self.graph
        parents: dict[str, set[str]] = {name: set() for name in graph.order}
        for name in graph.order:
            for nxt in _successors(program.state(name)):
                if nxt in parents:
                    parents[nxt].add(name)
        children: dict[str, list[str]] = {}
        for name in graph.order:
            if len(parents[name]) == 1 and program.state(name).extracts:
                children.setdefault(next(iter(parents[name])), []).append(name)
        parent_of: dict[str, str] = {}
        widths: dict[str, int] = {}
        for parent, names in children.items():
            if len(names) > 1:
                parent_of |= dict.fromkeys(names, parent)
                widths[parent] = max(_header_bytes(program.header(program.state(n).extracts[0]))
                                     for n in names)
        return parent_of, widths

    def _cut(self, phv: Phv, window: Value, later: list[str], reach_terms: dict[str, list[Value]],
             offset_terms: dict[str, list[Value]], accepted_terms: list[Value],
             fault_terms: list[Value], plen_terms: list[Value],
             cut: Callable[[Phv], None]) -> tuple[Value, Value]:
        """Register the first clock's results with the PHV (for the states still to come,
        ``later``, their ``reach`` and offset); returns the window and ``wlen`` the second
        clock reads."""
        B = self.lanes
        staged = {"pr:word0": window[:8 * B],
                  "pr:accepted": Cat(*accepted_terms).any() if accepted_terms else Const(0, 1),
                  "pr:fault": Cat(*fault_terms).any(),
                  "pr:plen": _or_all(plen_terms)}
        for s in later:
            staged[f"pr:reach:{s}"] = Cat(*reach_terms[s]).any() if reach_terms[s] else Const(0, 1)
            staged[f"pr:off:{s}"] = _or_all(offset_terms[s])
        phv.values.update(staged)
        cut(phv)
        for key in staged:
            staged[key] = phv.values.pop(key)
        for s in later:
            reach_terms[s] = [staged[f"pr:reach:{s}"]]
            offset_terms[s] = [staged[f"pr:off:{s}"]]
        accepted_terms[:] = [staged["pr:accepted"]]
        fault_terms[:] = [staged["pr:fault"]]
        plen_terms[:] = [staged["pr:plen"]]
        self.window_after = Cat(staged["pr:word0"], window[8 * B:])
        return self.window_after, phv["wlen"]


def _header_bytes(h: ir.HeaderInstance) -> int:
    return h.type.fixed_bytes + (h.type.varlen.max_bytes if h.type.varlen else 0)


def _or_all(values: list[Value]) -> Value:
    out: Value = Const(0, 1)
    for v in values:
        out = out | v
    return out
