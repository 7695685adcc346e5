"""The deparser: the new headers of a packet, as segments the output stage sends in turn.

Valid headers are emitted in declaration order: each one's fixed part, then its variable part
(the IPv4 options the parser copied out of the window). The deparser only says what each
segment holds and how long it is; the output stage puts them one behind the other, through
the gearbox that realigns the payload. The rest of the packet is not the deparser's: the
output stage copies it from the data FIFO, which holds the whole packet, from ``tail_start``
on. That run starts before the payload when the last segments are bytes the program cannot
change (``copied_tail``): they leave as they came, and never travel down the pipeline. The
IPv4 checksum of every header in ``Program.checksums`` is recomputed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from wirespeed.compiler import ir
from wirespeed.compiler.uses import all_statements
from wirespeed.hdl.phv import Phv, fit


def byte_mask(m: Module, count: Value, nbytes: int) -> Value:
    """A thermometer of ``count`` bytes of ones out of ``nbytes``."""
    lanes = Signal(nbytes)
    m.d.comb += lanes.eq(Cat(*[count > i for i in range(nbytes)]))
    return Cat(*[lanes[i].replicate(8) for i in range(nbytes)])


def wire_lanes(value: Value, nbytes: int) -> Value:
    """A big-endian number as byte lanes (its most significant byte in lane 0)."""
    return Cat(*[value[8 * (nbytes - 1 - i): 8 * (nbytes - i)] for i in range(nbytes)])


def made_valid(program: ir.Program) -> set[str]:
    """The headers some statement of the control or of an action makes valid."""
    return {s.header for s in all_statements(program) if isinstance(s, ir.SetValid)}


def emitted_headers(program: ir.Program) -> list[ir.HeaderInstance]:
    """Headers that can be valid when the packet leaves, in wire order."""
    possible = made_valid(program)
    for state in program.parser:
        possible.update(state.extracts)
    return [h for h in program.headers if h.name in possible]


def options_bytes(program: ir.Program, h: ir.HeaderInstance) -> int:
    """Room for the header's variable part. Only the parser fills one: a header the program
    makes valid starts with none (``tunnel`` in the gateway), so it gets no room at all."""
    if h.type.varlen is None or not any(h.name in s.extracts for s in program.parser):
        return 0
    return h.type.varlen.max_bytes


def segment_names(program: ir.Program, headers: list[ir.HeaderInstance]) -> list[str]:
    """Each header's fixed part (``h:H``) and, when it has room for them, options (``o:H``)."""
    return [name for h in headers for name in
            [f"h:{h.name}", *([f"o:{h.name}"] if options_bytes(program, h) else [])]]


def _unchanged(program: ir.Program) -> tuple[set[str], set[str]]:
    """The headers whose fixed part, and those whose options, leave exactly as the parser
    found them: extracted, never made valid or invalid by the program, no field written, no
    checksum recomputed (options: never made invalid)."""
    removed, written = set(), set()
    for s in all_statements(program):
        if isinstance(s, ir.SetInvalid):
            removed.add(s.header)
        target = getattr(s, "target", None)
        if isinstance(target, ir.FieldRef):
            written.add(target.header)
    extracted = {h for state in program.parser for h in state.extracts}
    fixed = extracted - made_valid(program) - removed - written - set(program.checksums)
    return fixed, extracted - removed


def _is_packet_suffix(program: ir.Program, tail: list[str]) -> bool:
    """Whether on every path through the parser the headers in ``tail`` come last, in the
    order they are emitted, with nothing between them: then the packet's bytes from the first
    one on are those segments followed by the payload."""
    rank = {name: k for k, name in enumerate(tail)}
    modes: dict[str, set[tuple[bool, int]]] = {program.start.name: {(False, -1)}}
    work = [program.start.name]
    while work:
        name = work.pop()
        state = program.state(name)
        out: set[tuple[bool, int]] = set()
        for in_tail, last in modes[name]:
            for header in state.extracts:
                fixed, options = rank.get(f"h:{header}"), rank.get(f"o:{header}")
                if in_tail and (fixed is None or fixed <= last):
                    return False  # a header that is not copied, or out of order, after the run
                if fixed is not None or options is not None:
                    in_tail, last = True, max(r for r in (fixed, options) if r is not None)
            out.add((in_tail, last))
        for nxt in [c.next_state for c in state.cases] + [state.default]:
            if nxt in (ir.ACCEPT, ir.REJECT):
                continue
            if not out <= modes.setdefault(nxt, set()):
                modes[nxt] |= out
                work.append(nxt)
    return True


def copied_tail(program: ir.Program, segments: list[str]) -> list[str]:
    """The longest run of last segments the output stage can copy from the packet rather than
    carry: unchanged bytes that lie, on every parse path, at the end of the parsed headers in
    the order they are emitted (the gateway: the inner IPv4 options, TCP and UDP). At least one
    segment stays in the record."""
    fixed, options = _unchanged(program)
    copyable = {f"h:{h}" for h in fixed} | {f"o:{h}" for h in options}
    start = len(segments)
    while start > 1 and segments[start - 1] in copyable:
        start -= 1
    while start < len(segments) and not _is_packet_suffix(program, segments[start:]):
        start += 1
    return segments[start:]


def field_names(program: ir.Program, h: ir.HeaderInstance) -> list[str]:
    """The PHV names of the header's fields (and of its variable part's bytes)."""
    return [f"f:{h.name}.{f.name}" for f in h.type.fields] + (
        [f"vb:{h.name}"] if options_bytes(program, h) else [])


def header_value(phv: Phv, h: ir.HeaderInstance, overrides: dict[str, Value]) -> Value:
    """The header's fixed fields as one big-endian number."""
    parts = [overrides.get(f.name, phv[f"f:{h.name}.{f.name}"]) for f in h.type.fields]
    return Cat(*[fit(p, f.width) for p, f in zip(reversed(parts), reversed(h.type.fields),
                                                  strict=True)])


def tree_sum(values: list[Value]) -> Value:
    """The sum as a balanced tree of adders: log2(n) adders deep, where ``sum()`` chains n."""
    level = list(values)
    while len(level) > 1:
        level = [a + b for a, b in zip(level[0::2], level[1::2], strict=False)] + \
            level[len(level) // 2 * 2:]
    return level[0]


def ones_sum(m: Module, words: list[Value], name: str) -> Value:
    """The one's complement sum of 16-bit words, folded back to 16 bits."""
    total = Signal(16 + len(words).bit_length(), name=f"{name}_total")
    m.d.comb += total.eq(tree_sum(words))
    folded = Signal(17, name=f"{name}_fold")
    m.d.comb += folded.eq(total[:16] + total[16:])
    return (folded[:16] + folded[16])[:16]


def ipv4_checksum(m: Module, fixed_value: Value, fixed_bytes: int, extra: list[Value]) -> Value:
    """One's complement of the one's complement sum of the header's 16-bit words (checksum
    field 0) and of ``extra`` (its options' sum)."""
    words = [fixed_value[8 * (fixed_bytes - 2 - 2 * j): 8 * (fixed_bytes - 2 * j)]
             for j in range(fixed_bytes // 2)]
    return ~ones_sum(m, words + extra, "csum")


@dataclass(frozen=True)
class Segment:
    """A run of bytes the output stage sends in pieces of up to ``B`` bytes: a header's fixed
    part or its variable part. ``max_bytes`` is the room it has in the result record; the length
    sent is known per packet (0: left out)."""

    name: str
    max_bytes: int


class DeparserHw:
    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.headers = emitted_headers(program)
        names = segment_names(program, self.headers)
        tail = copied_tail(program, names)
        # where the copy from the packet starts inside a header whose first copied segment
        # it is: 0 (the whole header) or past its fixed part (just its options)
        self.tail_entry: dict[str, int] = {}
        for name in reversed(tail):
            h = program.header(name[2:])
            self.tail_entry[h.name] = 0 if name.startswith("h:") else h.type.fixed_bytes
        self.copied = set(tail)
        rooms = {f"h:{h.name}": h.type.fixed_bytes for h in self.headers} | {
            f"o:{h.name}": options_bytes(program, h) for h in self.headers}
        self.segments = [Segment(name, rooms[name]) for name in names if name not in tail]
        self.out_bytes = sum(segment.max_bytes for segment in self.segments)

    def sum_options(self, m: Module, phv: Phv) -> None:
        """The one's complement sum of each checksummed header's options, as ``dp:optsum:H``.
        Nothing in the control can change options, so this runs in the first control stage,
        beside the table lookups, rather than in front of the deparser's checksum adders."""
        for h in self.headers:
            room = options_bytes(self.program, h)
            if h.name in self.program.checksums and room:
                # the options past their length are the window's next bytes: not summed
                options = phv[f"vb:{h.name}"] & byte_mask(m, phv[f"vl:{h.name}"], room)
                words = [Cat(options[8 * (2 * j + 1): 8 * (2 * j + 2)],
                             options[8 * 2 * j: 8 * (2 * j + 1)]) for j in range(room // 2)]
                name = f"dp:optsum:{h.name}"
                phv[name] = ones_sum(m, words, f"optsum_{h.name}")
                phv.track([name])

    def deparse(self, m: Module, phv: Phv,
                cut: Callable[[], None]) -> tuple[list[tuple[Value, Value]], Value]:
        """The packet's new headers as ``self.segments`` in wire order (each its bytes, lane 0
        first, and its length, 0 when it is not emitted), and their total length. The output
        stage sends the segments one after the other and then the packet's bytes from
        ``tail_start`` on.

        Nothing is shifted here: where a header lands depends on the headers before it, and
        placing them all at once (an accumulator as wide as the longest header stack, one
        multiplexer per header) was most of the pipeline's logic (about 15,600 of the gateway
        pipeline's 34,100 LUT4 at W=64). The output stage's gearbox, which realigns the
        payload by any number of bytes anyway, puts each segment behind the one before.

        ``cut()`` registers the PHV (a pipeline stage) after the checksums."""
        program = self.program
        summed = [h for h in self.headers if h.name in program.checksums]
        phv.delayed(m, [f"dp:optsum:{h.name}" for h in summed if options_bytes(program, h)] +
                    [f"f:{h.name}.{f.name}" for h in summed for f in h.type.fields])
        for h in summed:
            zeroed = header_value(phv, h, {"checksum": Const(0, 16)})
            extra = [phv[f"dp:optsum:{h.name}"]] if options_bytes(program, h) else []
            phv[f"dp:csum:{h.name}"] = ipv4_checksum(m, zeroed, h.type.fixed_bytes, extra)
        cut()
        phv.delayed(m, [name for h in self.headers for name in field_names(program, h)
                        if (f"h:{h.name}" if name.startswith("f:") else f"o:{h.name}")
                        not in self.copied])
        segments: list[tuple[Value, Value]] = []
        for h in self.headers:
            valid = phv[f"v:{h.name}"]
            overrides: dict[str, Value] = {}
            if h.name in self.program.checksums:
                overrides["checksum"] = phv[f"dp:csum:{h.name}"]
            fixed = h.type.fixed_bytes
            if f"h:{h.name}" not in self.copied:
                segments.append((wire_lanes(header_value(phv, h, overrides), fixed),
                                 Mux(valid, fixed, 0)))
            if options_bytes(program, h) and f"o:{h.name}" not in self.copied:
                segments.append((phv[f"vb:{h.name}"], Mux(valid, phv[f"vl:{h.name}"], 0)))
        total = Signal(range(self.out_bytes + 1), name="header_len")
        m.d.comb += total.eq(tree_sum([length for _, length in segments]))
        return segments, total
