"""The deparser: the new header bytes of a packet, ready to be merged with its payload.

Valid headers are emitted in declaration order, each at the offset given by the sizes of the
valid headers before it, with the IPv4 options the parser copied out of the window. Every
placement is a multiplexer over the few offsets it can take (found statically), not a barrel
shifter. Behind the headers come the packet's bytes up to the next beat boundary; the rest of
the packet is not the deparser's: the output stage takes its beats, whole, from the data FIFO.
The IPv4 checksum of every header in ``Program.checksums`` is recomputed here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from wirespeed.compiler import ir
from wirespeed.hdl.parser import varlen_sizes
from wirespeed.hdl.phv import Phv, fit


def byte_mask(m: Module, count: Value, nbytes: int) -> Value:
    """A thermometer of ``count`` bytes of ones out of ``nbytes``."""
    lanes = Signal(nbytes)
    m.d.comb += lanes.eq(Cat(*[count > i for i in range(nbytes)]))
    return Cat(*[lanes[i].replicate(8) for i in range(nbytes)])


def wire_lanes(value: Value, nbytes: int) -> Value:
    """A big-endian number as byte lanes (its most significant byte in lane 0)."""
    return Cat(*[value[8 * (nbytes - 1 - i): 8 * (nbytes - i)] for i in range(nbytes)])


def set_valid_headers(stmts: tuple[ir.Stmt, ...], out: set[str]) -> set[str]:
    for s in stmts:
        match s:
            case ir.SetValid(header):
                out.add(header)
            case ir.If(_, then, otherwise):
                set_valid_headers(then, out)
                set_valid_headers(otherwise, out)
            case ir.ApplyHit(_, hit, miss):
                set_valid_headers(hit, out)
                set_valid_headers(miss, out)
            case ir.ApplySwitch(_, cases, default):
                for c in cases:
                    set_valid_headers(c.body, out)
                set_valid_headers(default, out)
            case _:
                pass
    return out


def emitted_headers(program: ir.Program) -> list[ir.HeaderInstance]:
    """Headers that can be valid when the packet leaves, in wire order."""
    possible = set_valid_headers(program.ingress, set())
    for a in program.actions:
        set_valid_headers(a.body, possible)
    for state in program.parser:
        possible.update(state.extracts)
    return [h for h in program.headers if h.name in possible]


def field_names(h: ir.HeaderInstance) -> list[str]:
    """The PHV names of the header's fields (and of its variable part's bytes)."""
    return [f"f:{h.name}.{f.name}" for f in h.type.fields] + (
        [f"vb:{h.name}"] if h.type.varlen else [])


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


def ipv4_checksum(m: Module, fixed_value: Value, fixed_bytes: int, options: Value,
                  options_bytes: int) -> Value:
    """One's complement of the one's complement sum of the 16-bit words (checksum field 0)."""
    words = [fixed_value[8 * (fixed_bytes - 2 - 2 * j): 8 * (fixed_bytes - 2 * j)]
             for j in range(fixed_bytes // 2)]
    words += [Cat(options[8 * (2 * j + 1): 8 * (2 * j + 2)], options[8 * 2 * j: 8 * (2 * j + 1)])
              for j in range(options_bytes // 2)]
    total = Signal(16 + 6, name="csum_total")
    m.d.comb += total.eq(tree_sum(words))
    folded = Signal(17, name="csum_fold")
    m.d.comb += folded.eq(total[:16] + total[16:])
    final = (folded[:16] + folded[16])[:16]
    return ~final


HEADERS_PER_STAGE = 3


class DeparserHw:
    def __init__(self, program: ir.Program, fragment_bytes: int) -> None:
        self.program = program
        self.fragment_bytes = fragment_bytes
        self.headers = emitted_headers(program)
        # every length the headers can add up to, from the sizes each can take
        ends = {0}
        for h in self.headers:
            sizes = [h.type.fixed_bytes + n for n in
                     (varlen_sizes(h.type.varlen) if h.type.varlen else [0])]
            ends = {e + s for e in ends for s in [0, *sizes]}
        self.out_bytes = max(ends) + fragment_bytes

    def deparse(self, m: Module, phv: Phv, cut: Callable[[], None]) -> tuple[Value, Value]:
        """The packet's new header bytes, then its bytes from the end of the parsed headers to
        the next beat boundary (``dp:fragment``): ``out_bytes`` lanes, and how many are used.
        The output stage follows them with the packet's next beats.

        Built back to front: for each header from the last to the first, if it is valid, shift
        what follows it up by its size and put it in front. A fixed-size header is a constant
        shift; only headers with a variable part multiplex over their few possible sizes.

        ``cut()`` registers the PHV (a pipeline stage). The checksums and the options are one
        stage; then every ``HEADERS_PER_STAGE`` headers, so no stage chains more than a few
        multiplexers (in one stage, the deparser was the ACL pipeline's longest path: 33 LUT
        levels)."""
        phv.delayed(m, ["dp:fragment", "dp:fragment_len"] +
                    [name for h in self.headers if h.name in self.program.checksums
                     for name in field_names(h)])
        # the packet's bytes behind the headers up to a beat boundary (read from the window
        # by the pipeline, where ``dp:fragment`` is set): the rest follows them beat by beat
        fragment_len = phv["dp:fragment_len"]
        phv["dp:acc"] = fit(phv["dp:fragment"], 8 * self.fragment_bytes) & byte_mask(
            m, fragment_len, self.fragment_bytes)
        phv["dp:len"] = fragment_len
        for h in self.headers:
            if h.type.varlen:
                phv[f"dp:opts:{h.name}"] = phv[f"vb:{h.name}"] & byte_mask(
                    m, phv[f"vl:{h.name}"], h.type.varlen.max_bytes)
            if h.name in self.program.checksums:
                zeroed = header_value(phv, h, {"checksum": Const(0, 16)})
                options = phv[f"dp:opts:{h.name}"] if h.type.varlen else Const(0, 8)
                phv[f"dp:csum:{h.name}"] = ipv4_checksum(
                    m, zeroed, h.type.fixed_bytes, options,
                    h.type.varlen.max_bytes if h.type.varlen else 0)
        for k, h in enumerate(reversed(self.headers)):
            if k % HEADERS_PER_STAGE == 0:
                cut()
            phv.delayed(m, field_names(h))
            self._place(m, phv, h)
        out = Signal(8 * self.out_bytes, name="deparsed")
        m.d.comb += out.eq(phv["dp:acc"])
        return out, phv["dp:len"]

    def _place(self, m: Module, phv: Phv, h: ir.HeaderInstance) -> None:
        """``dp:acc``/``dp:len`` with ``h`` in front, if it is valid."""
        acc, length, out_bytes = phv["dp:acc"], phv["dp:len"], self.out_bytes
        fixed = h.type.fixed_bytes
        valid = phv[f"v:{h.name}"]
        overrides: dict[str, Value] = {}
        if h.name in self.program.checksums:
            overrides["checksum"] = phv[f"dp:csum:{h.name}"]
        lanes = wire_lanes(header_value(phv, h, overrides), fixed)
        max_opt = h.type.varlen.max_bytes if h.type.varlen else 0
        width = min(8 * out_bytes, len(acc) + 8 * (fixed + max_opt))
        with_header = Signal(width, name=f"with_{h.name}")
        if h.type.varlen:
            # The options are masked to their length (``dp:opts``), so header and options sit
            # at fixed places and only what follows moves, by the options' length. A log
            # shifter (one 2:1 stage per bit of length / step: 4 for IPv4's 0..40 in steps of
            # 4) instead of a multiplexer over every size saved 4,400 of the gateway's LUT4s
            # at W=64 (69,342 -> 64,904 after packing, ECP5).
            options = phv[f"dp:opts:{h.name}"]
            step = math.gcd(*varlen_sizes(h.type.varlen)) or 1
            opt_len = phv[f"vl:{h.name}"]
            units = (opt_len[step.bit_length() - 1:] if step & (step - 1) == 0
                     else opt_len // step)
            behind = fit(Cat(Const(0, 8 * fixed), acc), width)
            for b in range(min(len(units), (max_opt // step).bit_length())):
                behind = Mux(units[b], fit(behind << (8 * step << b), width), behind)
            m.d.comb += with_header.eq(fit(Cat(lanes, options), width) | behind)
            size = fixed + opt_len
        else:
            m.d.comb += with_header.eq(fit(Cat(lanes, acc), width))
            size = Const(fixed, range(fixed + 1))
        next_acc = Signal(width, name=f"from_{h.name}")
        m.d.comb += next_acc.eq(Mux(valid, with_header, acc))
        next_length = Signal(range(8 * out_bytes + 1), name=f"len_from_{h.name}")
        m.d.comb += next_length.eq(length + Mux(valid, size, 0))
        phv["dp:acc"], phv["dp:len"] = next_acc, next_length
