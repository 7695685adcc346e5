"""Random packets and table entries for a compiled program.

Everything here reads the IR (``ir.Program``), so it works for generated programs and for
hand-written ones (the examples) alike.

* ``well_formed_packet`` walks the program's parser graph from the start state: it extracts
  each header with random field values, picks a select arm and sets the select keys so the
  arm matches (a value, a masked value, a value inside a range), gives headers with a
  variable part (IPv4 options) a legal length, and appends a payload.
* ``malformed_packet`` breaks one: truncated at a header boundary or inside a header, a bad
  length field for the variable part (IPv4 ``ihl`` < 5 or past the end), wrong length fields,
  a runt, an oversized frame (up to a 9014-byte jumbo), or random bytes.
* ``generate_entries`` writes table entries whose key values are taken from the packets'
  header fields most of the time, so tables hit, and random otherwise; ``valid_ops`` keeps
  those the reference control plane accepts.

Packets are at least ``MIN_FRAME`` (14) bytes: no target's wire carries a frame shorter than an
Ethernet header (the kernel drops it before XDP runs), so the campaign does not send one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wirespeed.compiler import ir
from wirespeed.sim.conformance.choices import Choices
from wirespeed.sim.executor import AddEntry, ExecutorError, Op, SetDefault

MIN_FRAME = 14
MAX_STATES = 64


def mask(width: int) -> int:
    return (1 << width) - 1


@dataclass
class PacketLayout:
    """A packet as the generator built it: headers in extraction order, then the payload."""

    headers: list[tuple[str, dict[str, int], bytes]] = field(default_factory=list)
    payload: bytes = b""
    accepted: bool = True  # the path the walk chose ends in accept (not reject)

    def header_values(self) -> dict[str, dict[str, int]]:
        return {name: values for name, values, _ in self.headers}

    def boundaries(self, program: ir.Program) -> list[tuple[int, int]]:
        """(start, end) byte offsets of each header."""
        out = []
        offset = 0
        for name, _values, options in self.headers:
            size = program.header(name).type.fixed_bytes + len(options)
            out.append((offset, offset + size))
            offset += size
        return out


def pack_header(header_type: ir.HeaderType, values: dict[str, int]) -> bytes:
    word = 0
    for f in header_type.fields:
        word = (word << f.width) | (values.get(f.name, 0) & mask(f.width))
    return word.to_bytes(header_type.fixed_bytes, "big")


def serialize(program: ir.Program, layout: PacketLayout) -> bytes:
    parts = [pack_header(program.header(name).type, values) + options
             for name, values, options in layout.headers]
    return b"".join(parts) + layout.payload


def random_bytes(c: Choices, n: int) -> bytes:
    if n <= 0:
        return b""
    if c.chance(0.5):  # cheap filler: a repeated random byte pattern
        pattern = bytes(c.integer(0, 255) for _ in range(min(n, 8)))
        return (pattern * (n // len(pattern) + 1))[:n]
    return c.integer(0, (1 << (8 * n)) - 1).to_bytes(n, "big")


def sample_match(c: Choices, match: ir.Match, width: int) -> int:
    """A value of ``width`` bits that ``match`` accepts."""
    noise = c.integer(0, mask(width))
    match match:
        case ir.Exact(value):
            return value & mask(width)
        case ir.Ternary(value, m):
            return ((value & m) | (noise & ~m)) & mask(width)
        case ir.Lpm(value, prefix):
            keep = mask(width) ^ mask(width - prefix) if prefix else 0
            return (value & keep) | (noise & ~keep & mask(width))
        case ir.Range(lo, hi):
            return c.integer(lo, min(hi, mask(width))) if lo <= mask(width) else noise
        case ir.Wildcard():
            return noise
    raise AssertionError(match)


def random_field(c: Choices, width: int) -> int:
    top = mask(width)
    return c.choice((0, 1, top, c.integer(0, min(top, 255)), c.integer(0, top),
                     c.integer(0, top)))


def _header_values(c: Choices, header_type: ir.HeaderType) -> tuple[dict[str, int], bytes]:
    values = {f.name: random_field(c, f.width) for f in header_type.fields}
    options = b""
    if header_type.name == "ipv4":
        values["version"] = 4
    varlen = header_type.varlen
    if varlen is not None:
        lengths = [n for n in range(0, mask(header_type.field(varlen.length_field).width) + 1)
                   if 0 <= n * varlen.scale + varlen.offset <= varlen.max_bytes]
        if lengths:
            # mostly no options, sometimes a few bytes of them
            n = lengths[0] if c.chance(0.7) else c.choice(lengths)
            values[varlen.length_field] = n
            options = random_bytes(c, n * varlen.scale + varlen.offset)
    return values, options


def _options_for(header_type: ir.HeaderType, values: dict[str, int], c: Choices,
                 old: bytes) -> bytes:
    """The variable part that matches the length field now in ``values`` (when legal)."""
    varlen = header_type.varlen
    if varlen is None:
        return b""
    size = values.get(varlen.length_field, 0) * varlen.scale + varlen.offset
    if not 0 <= size <= varlen.max_bytes:
        return old  # illegal: the parser rejects it whatever follows
    return (old + random_bytes(c, size))[:size]


def well_formed_layout(program: ir.Program, c: Choices) -> PacketLayout:
    layout = PacketLayout()
    values_of: dict[str, dict[str, int]] = {}
    options_of: dict[str, bytes] = {}
    order: list[str] = []
    state = program.start
    for _ in range(MAX_STATES):
        for name in state.extracts:
            values, options = _header_values(c, program.header(name).type)
            values_of[name], options_of[name] = values, options
            if name not in order:
                order.append(name)
        next_state = state.default
        if state.select_keys and state.cases:
            arms: list[ir.SelectCase | None] = list(state.cases)
            if state.default != ir.REJECT or c.chance(0.1):
                arms.append(None)  # the default
            live = [a for a in arms if (a.next_state if a else state.default) != ir.REJECT]
            arm = c.choice(live) if live and c.chance(0.9) else c.choice(arms)
            if arm is not None:
                next_state = arm.next_state
                for key, match in zip(state.select_keys, arm.matches, strict=True):
                    if isinstance(key, ir.FieldRef) and key.header in values_of:
                        values_of[key.header][key.field] = sample_match(c, match,
                                                                         key.type.width)
        if next_state in (ir.ACCEPT, ir.REJECT):
            layout.accepted = next_state == ir.ACCEPT
            break
        state = program.state(next_state)
    for name in order:
        header_type = program.header(name).type
        options = _options_for(header_type, values_of[name], c, options_of[name])
        layout.headers.append((name, values_of[name], options))
    size = sum(program.header(n).type.fixed_bytes + len(o) for n, _, o in layout.headers)
    payload = c.choice((0, c.integer(0, 16), c.integer(0, 64), max(0, 60 - size)))
    layout.payload = random_bytes(c, payload)
    return layout


def pad_to_minimum(data: bytes) -> bytes:
    return data + bytes(max(0, MIN_FRAME - len(data)))


def well_formed_packet(program: ir.Program, c: Choices) -> tuple[bytes, PacketLayout]:
    layout = well_formed_layout(program, c)
    return pad_to_minimum(serialize(program, layout)), layout


MALFORMED_KINDS = ("cut_at_boundary", "cut_inside_header", "bad_varlen", "wrong_lengths",
                   "runt", "oversized", "garbage")


def malformed_packet(program: ir.Program, c: Choices) -> tuple[bytes, PacketLayout, str]:
    """A broken packet and what was done to it."""
    layout = well_formed_layout(program, c)
    kind = c.choice(MALFORMED_KINDS)
    data = serialize(program, layout)
    bounds = layout.boundaries(program)
    if kind == "cut_at_boundary" and bounds:
        cut = c.choice([start for start, _ in bounds] + [bounds[-1][1]])
        data = data[:cut]
    elif kind == "cut_inside_header" and bounds:
        start, end = c.choice(bounds)
        data = data[:c.integer(start, max(start, end - 1))]
    elif kind == "bad_varlen":
        for i, (name, values, options) in enumerate(layout.headers):
            varlen = program.header(name).type.varlen
            if varlen is None:
                continue
            width = program.header(name).type.field(varlen.length_field).width
            values = dict(values)
            values[varlen.length_field] = c.integer(0, mask(width))  # often < 5 or too long
            layout.headers[i] = (name, values, options if c.chance(0.5) else b"")
            data = serialize(program, layout)
            break
        else:
            data = data[:max(MIN_FRAME, len(data) // 2)]
    elif kind == "wrong_lengths":
        for i, (name, values, options) in enumerate(layout.headers):
            for length_field in ("total_len", "length", "payload_len", "ihl", "data_offset"):
                if length_field in values and c.chance(0.7):
                    values = dict(values)
                    width = program.header(name).type.field(length_field).width
                    values[length_field] = c.integer(0, mask(width))
            layout.headers[i] = (name, values, options)
        data = serialize(program, layout)
    elif kind == "runt":
        data = data[:c.integer(MIN_FRAME, 59)] if len(data) > MIN_FRAME else data
    elif kind == "oversized":
        size = c.choice((1519, c.integer(1519, 2048), c.integer(1519, 4000), 9014))
        data = data + random_bytes(c, size - len(data))
    else:
        data = random_bytes(c, c.integer(MIN_FRAME, 128))
    return pad_to_minimum(data), layout, kind


# ----------------------------------------------------------------------------- entries


def _key_value(key: ir.TableKey, samples: list[dict[str, dict[str, int]]], c: Choices,
               ingress_ports: list[int]) -> int:
    width = key.width
    expr = key.expr
    if isinstance(expr, ir.FieldRef) and samples and c.chance(0.7):
        values = c.choice(samples).get(expr.header)
        if values is not None:
            return values.get(expr.field, 0) & mask(width)
    if isinstance(expr, ir.MetaRef) and expr.scope == "std" and expr.name == "ingress_port":
        return c.choice(ingress_ports)
    return c.choice((0, 1, c.integer(0, min(15, mask(width))), c.integer(0, mask(width))))


def _match_for(key: ir.TableKey, value: int, c: Choices) -> ir.Match:
    width = key.width
    match key.kind:
        case ir.MatchKind.EXACT:
            return ir.Exact(value)
        case ir.MatchKind.LPM:
            if c.chance(0.1):
                return ir.Wildcard()
            prefix = c.choice((width, c.integer(0, width), c.integer(max(0, width - 8), width)))
            keep = mask(width) ^ mask(width - prefix) if prefix else 0
            return ir.Lpm(value & keep, prefix)
        case ir.MatchKind.TERNARY:
            if c.chance(0.1):
                return ir.Wildcard()
            m = c.choice((mask(width), c.integer(0, mask(width)), 0))
            return ir.Ternary(value & m, m)
        case ir.MatchKind.RANGE:
            if c.chance(0.1):
                return ir.Wildcard()
            lo = c.choice((value, max(0, value - c.integer(0, 100)), 0))
            hi = c.choice((value, min(mask(width), value + c.integer(0, 100)), mask(width)))
            return ir.Range(lo, hi)
    raise AssertionError(key.kind)


def _action_params(program: ir.Program, name: str) -> tuple[int, ...]:
    from wirespeed.compiler.model import find_action

    return tuple(p.width for p in find_action(program, name).params)


def random_call(program: ir.Program, table: ir.Table, c: Choices) -> ir.ActionCall:
    name = c.choice(table.actions)
    args = []
    for width in _action_params(program, name):
        if width == ir.PORT_WIDTH:  # a port, most of the time a small one
            args.append(c.choice((c.integer(0, 7), c.integer(0, 7), ir.HOST_PORT,
                                  ir.DROP_PORT, c.integer(0, mask(width)))))
        else:
            args.append(random_field(c, width))
    return ir.ActionCall(name, tuple(args))


def generate_entries(program: ir.Program, samples: list[dict[str, dict[str, int]]],
                     c: Choices, ingress_ports: list[int]) -> list[Op]:
    """Entries (and sometimes a new default action) for every table."""
    ops: list[Op] = []
    for table in program.tables:
        room = table.size - len(table.const_entries)
        for _ in range(c.integer(0, min(room, 12))):
            matches = tuple(_match_for(k, _key_value(k, samples, c, ingress_ports), c)
                            for k in table.keys)
            priority = c.integer(0, 20) if table.needs_priority else None
            ops.append(AddEntry(table.name, ir.Entry(matches, random_call(program, table, c),
                                                     priority)))
        if c.chance(0.3):
            ops.append(SetDefault(table.name, random_call(program, table, c)))
    # interleave tables a little, as a control plane would
    if len(ops) > 1 and c.chance(0.5):
        i, j = c.integer(0, len(ops) - 1), c.integer(0, len(ops) - 1)
        ops[i], ops[j] = ops[j], ops[i]
    return ops


def valid_ops(program: ir.Program, ops: list[Op]) -> list[Op]:
    """The ops the reference control plane accepts (duplicates and the like are dropped)."""
    from wirespeed.sim.reference import ReferenceExecutor

    scratch = ReferenceExecutor(program)
    kept: list[Op] = []
    for op in ops:
        try:
            scratch.run_script([op])
        except ExecutorError:
            continue
        kept.append(op)
    return kept
