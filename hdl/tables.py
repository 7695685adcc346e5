"""Match units: how each table is laid out in hardware, and the hardware itself.

``TableDesc`` is the single description both sides read: the hardware elaboration builds
memories from it, and the host-side encoder (``hdl.controlplane``) turns STF entries into
control-port writes from the same numbers (it is also written into the JSON map).

* ``hash`` (only exact keys): ``ways`` block RAMs of ``depth`` entries; way ``w`` is indexed by
  an H3 hash of the key (a fixed random XOR matrix per way). The host picks a free way, moving
  entries to their other ways (cuckoo) when all of a key's ways are taken.
* ``tcam`` (any lpm, ternary or range key): ``slots`` entries; the lowest matching slot wins.
  The value/mask keys are matched in LUT-RAM, transposed: the key is cut into 4-bit chunks,
  and chunk ``c`` addresses a 16-deep memory whose bit ``s`` says whether slot ``s`` accepts
  that chunk value, so a slot matches when every chunk's memory says so (one DPR16X4 holds 4
  slots of one chunk). Range keys keep lo/hi registers and comparators. The host keeps the
  slots sorted (lowest priority number, or longest prefix, first), computes the columns from
  value and mask, and rewrites what changed on insert.
* ``none`` (no keys): always a miss.

Every entry is one bit vector, LSB first: ``valid``, then the match fields, then the action id,
the action parameters and the counter index. A TCAM's column words (commit index
``COLUMN_BASE + group * 16 + chunk value``) hold, for each chunk, one bit per slot of the group.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.lib.memory import Memory
from wirespeed.compiler import ir

BUILTIN_ACTIONS: dict[str, tuple[ir.Param, ...]] = {
    "drop": (),
    "send_to_host": (),
    "nop": (),
    "forward": (ir.Param("port", ir.PORT_WIDTH),),
}
TCAM_SLOT_LIMIT = 64  # a slot is LUT-RAM columns, range registers and a priority leg: BRAM beyond
HASH_WAYS = 4
CHUNK_BITS = 4  # a DPR16X4 is 16 deep: 4 key bits address it
GROUP_SLOTS = 4  # and 4 wide: the slots one column word writes
COLUMN_BASE = 1 << 19  # commit index of a TCAM's first column word


def action_params(program: ir.Program, name: str) -> tuple[ir.Param, ...]:
    try:
        return program.action(name).params
    except KeyError:
        if name in BUILTIN_ACTIONS:
            return BUILTIN_ACTIONS[name]
        raise


def bits_for(count: int) -> int:
    """Bits to number ``count`` things (at least 1)."""
    return max(1, (count - 1).bit_length())


@dataclass
class TableDesc:
    name: str
    unit: int  # control-port unit number
    kind: str  # "hash" | "tcam" | "none"
    key_widths: list[int]
    key_kinds: list[str]
    actions: list[str]
    param_widths: dict[str, list[int]]
    counters: bool
    ways: int = 0
    depth: int = 0
    slots: int = 0
    capacity: int = 0  # run-time entries the host may add
    const_count: int = 0
    hash_rows: list[list[int]] = field(default_factory=list)  # per way: bucket bit -> key mask
    default_action: int = 0
    default_params: int = 0

    # -------------------------------------------------------------- derived layout
    @property
    def key_width(self) -> int:
        return sum(self.key_widths)

    def key_offset(self, index: int) -> int:
        return sum(self.key_widths[:index])

    @property
    def range_keys(self) -> list[int]:
        return [i for i, k in enumerate(self.key_kinds) if k == "range"]

    @property
    def action_bits(self) -> int:
        return bits_for(len(self.actions))

    @property
    def param_width(self) -> int:
        return max([1, *(sum(w) for w in self.param_widths.values())])

    @property
    def counter_count(self) -> int:
        """Counter cells: one per run-time handle and constant entry, then the miss counter.
        Entries carry their cell, so counts follow an entry the host moves to another slot."""
        return self.capacity + self.const_count + 1

    @property
    def miss_counter(self) -> int:
        return self.counter_count - 1

    @property
    def counter_bits(self) -> int:
        return bits_for(self.counter_count)

    @property
    def bucket_bits(self) -> int:
        return bits_for(self.depth)

    @property
    def ternary_keys(self) -> list[int]:
        """The keys a TCAM matches by value and mask (in its column memories)."""
        return [i for i, k in enumerate(self.key_kinds) if k != "range"]

    @property
    def ternary_width(self) -> int:
        return sum(self.key_widths[i] for i in self.ternary_keys)

    @property
    def chunks(self) -> int:
        return -(-self.ternary_width // CHUNK_BITS)

    @property
    def groups(self) -> int:
        return -(-self.slots // GROUP_SLOTS)

    @property
    def column_width(self) -> int:
        return self.chunks * GROUP_SLOTS

    @property
    def staged_width(self) -> int:
        """Bits one commit takes from the staging register."""
        return max(self.entry_width, self.column_width if self.kind == "tcam" else 0)

    def layout(self) -> dict[str, tuple[int, int]]:
        """Entry field -> (lsb, width)."""
        fields: list[tuple[str, int]] = [("valid", 1)]
        if self.kind == "hash":
            fields.append(("key", self.key_width))
        elif self.kind == "tcam":
            for i in self.range_keys:
                fields += [(f"lo{i}", self.key_widths[i]), (f"hi{i}", self.key_widths[i])]
        fields += [("action", self.action_bits), ("params", self.param_width),
                   ("counter", self.counter_bits)]
        out, lsb = {}, 0
        for name, width in fields:
            out[name] = (lsb, width)
            lsb += width
        return out

    @property
    def entry_width(self) -> int:
        return sum(w for _, w in self.layout().values())

    def bucket(self, way: int, key: int) -> int:
        """The software twin of the hardware H3 hash."""
        out = 0
        for bit, mask in enumerate(self.hash_rows[way]):
            out |= (bin(key & mask).count("1") & 1) << bit
        return out


@dataclass(frozen=True)
class TableLimits:
    """The most run-time entries a build gives a table, below the program's ``size`` where a
    small FPGA cannot hold that many; the control plane refuses entries beyond them. A TCAM
    slot costs LUT-RAM columns, range comparators and a leg of the priority tree; an exact
    entry costs block RAM: two buckets' worth (a load factor of one half) and its counter."""

    tcam_slots: int = TCAM_SLOT_LIMIT
    exact_entries: int | None = None  # None: the program's size


DEFAULT_LIMITS = TableLimits()  # the program's sizes; TCAMs at most TCAM_SLOT_LIMIT


def describe_table(program: ir.Program, table: ir.Table, unit: int,
                   limits: TableLimits = DEFAULT_LIMITS) -> TableDesc:
    names = list(table.actions)
    if table.default_action.action not in names:
        names.append(table.default_action.action)
    kinds = [k.kind.value for k in table.keys]
    if not table.keys:
        kind = "none"
    elif all(k == "exact" for k in kinds):
        kind = "hash"
    else:
        kind = "tcam"
    desc = TableDesc(
        name=table.name, unit=unit, kind=kind,
        key_widths=[k.width for k in table.keys], key_kinds=kinds, actions=names,
        param_widths={a: [p.width for p in action_params(program, a)] for a in names},
        counters=table.counters, const_count=len(table.const_entries),
    )
    if kind == "hash":
        desc.ways = HASH_WAYS
        desc.capacity = max(1, min(table.size, limits.exact_entries or table.size))
        # a load factor of at most one half keeps insertion failures rare without cuckoo moves
        desc.depth = max(2, 1 << bits_for(-(-2 * desc.capacity // HASH_WAYS)))
        rng = random.Random(f"wirespeed/{table.name}")
        desc.hash_rows = [
            [rng.getrandbits(desc.key_width) | 1 << (b % desc.key_width)
             for b in range(desc.bucket_bits)]
            for _ in range(desc.ways)
        ]
    elif kind == "tcam":
        desc.capacity = max(1, min(table.size, limits.tcam_slots))
        desc.slots = desc.capacity + desc.const_count
    call = table.default_action
    desc.default_action = names.index(call.action)
    desc.default_params = pack_params(desc.param_widths[call.action], call.args)
    return desc


def pack_params(widths: list[int], args: tuple[int, ...] | list[int]) -> int:
    value, lsb = 0, 0
    for width, arg in zip(widths, args, strict=True):
        value |= (arg & ((1 << width) - 1)) << lsb
        lsb += width
    return value


# ---------------------------------------------------------------------------- hardware


class TableUnit(Elaboratable):
    """One table's lookup: present ``key`` in cycle t, read ``hit``/``action``/``params``/
    ``counter`` in cycle t+1. Entries are written through ``commit``/``commit_slot`` from the
    shared staging register; the default action through ``set_default``."""

    def __init__(self, desc: TableDesc, init_slots: dict[int, int], staging: Signal) -> None:
        self.desc = desc
        self.init_slots = init_slots
        self.staging = staging
        self.key = Signal(max(1, desc.key_width))
        self.hit = Signal()
        self.action = Signal(desc.action_bits)
        self.params = Signal(desc.param_width)
        self.counter = Signal(desc.counter_bits)
        self.commit = Signal()
        self.commit_slot = Signal(20)
        self.set_default = Signal()
        self.default_action = Signal(desc.action_bits, init=desc.default_action)
        self.default_params = Signal(desc.param_width, init=desc.default_params)

    def _field(self, entry, name: str):
        lsb, width = self.desc.layout()[name]
        return entry[lsb:lsb + width]

    def elaborate(self, platform) -> Module:
        m = Module()
        d = self.desc
        with m.If(self.set_default):
            m.d.sync += [
                self.default_action.eq(self._field(self.staging, "action")),
                self.default_params.eq(self._field(self.staging, "params")),
            ]
        match d.kind:
            case "hash":
                self._hash(m)
            case "tcam":
                self._tcam(m)
            case "none":
                m.d.comb += self.counter.eq(d.miss_counter)
            case _:
                raise AssertionError(d.kind)
        return m

    def _hash(self, m: Module) -> None:
        d = self.desc
        key_q = Signal.like(self.key)
        m.d.sync += key_q.eq(self.key)
        hits, entries = [], []
        for way in range(d.ways):
            init = [self.init_slots.get(way * d.depth + b, 0) for b in range(d.depth)]
            mem = Memory(shape=d.entry_width, depth=d.depth, init=init)
            m.submodules[f"way{way}"] = mem
            rd = mem.read_port()
            wr = mem.write_port()
            bucket = Cat(*[(self.key & mask).xor() for mask in d.hash_rows[way]])
            m.d.comb += rd.addr.eq(bucket)
            m.d.comb += [
                wr.addr.eq(self.commit_slot[:d.bucket_bits]),
                wr.data.eq(self.staging[:d.entry_width]),
                wr.en.eq(self.commit & (self.commit_slot[d.bucket_bits:] == way)),
            ]
            entry = rd.data
            hits.append(self._field(entry, "valid") & (self._field(entry, "key") == key_q))
            entries.append(entry)
        m.d.comb += self.counter.eq(d.miss_counter)
        for way in reversed(range(d.ways)):  # the last assignment wins: way 0 first
            with m.If(hits[way]):
                m.d.comb += [
                    self.hit.eq(1),
                    self.action.eq(self._field(entries[way], "action")),
                    self.params.eq(self._field(entries[way], "params")),
                    self.counter.eq(self._field(entries[way], "counter")),
                ]

    def _tcam(self, m: Module) -> None:
        """Each slot's valid bit and range bounds are registers; its value/mask keys are
        columns of the chunk memories (see the module docstring), read asynchronously at the
        key's chunks. The result half (action, parameters, counter) is one LUT-RAM read at
        the winning slot's index, so the priority tree carries an index of log2(slots) bits
        rather than the whole result."""
        d = self.desc
        result_lsb = d.layout()["action"][0]  # the result fields come after the match fields
        result_width = d.entry_width - result_lsb
        slots = [Signal(result_lsb, name=f"slot{i}",
                        init=self.init_slots.get(i, 0) & ((1 << result_lsb) - 1))
                 for i in range(d.slots)]
        results = Memory(shape=result_width, depth=d.slots,
                         init=[self.init_slots.get(i, 0) >> result_lsb for i in range(d.slots)])
        m.submodules.results = results
        write = results.write_port()
        read = results.read_port(domain="comb")
        for i, slot in enumerate(slots):
            with m.If(self.commit & (self.commit_slot == i)):
                m.d.sync += slot.eq(self.staging[:result_lsb])
        m.d.comb += [write.addr.eq(self.commit_slot), write.data.eq(self.staging[result_lsb:]),
                     write.en.eq(self.commit & (self.commit_slot < d.slots))]

        ternary_key = Cat(*[self.key[d.key_offset(i):d.key_offset(i) + d.key_widths[i]]
                            for i in d.ternary_keys])
        # COLUMN_BASE is a power of two: its bit tells a column word from a slot
        column_commit = self.commit & self.commit_slot[COLUMN_BASE.bit_length() - 1]
        column = self.commit_slot[:COLUMN_BASE.bit_length() - 1]
        group = column[CHUNK_BITS:]
        columns = []
        for c in range(d.chunks):
            init = []
            for value in range(1 << CHUNK_BITS):
                word = 0
                for g in range(d.groups):
                    bits = self.init_slots.get(COLUMN_BASE + (g << CHUNK_BITS) + value, 0)
                    word |= (bits >> (c * GROUP_SLOTS) & (1 << GROUP_SLOTS) - 1) << (
                        g * GROUP_SLOTS)
                init.append(word)
            mem = Memory(shape=d.groups * GROUP_SLOTS, depth=1 << CHUNK_BITS, init=init)
            m.submodules[f"chunk{c}"] = mem
            wr = mem.write_port(granularity=GROUP_SLOTS)
            rd = mem.read_port(domain="comb")
            m.d.comb += [
                wr.addr.eq(column[:CHUNK_BITS]),
                wr.data.eq(Cat(*[self.staging[c * GROUP_SLOTS:(c + 1) * GROUP_SLOTS]]
                               * d.groups)),
                wr.en.eq(Cat(*[column_commit & (group == g) for g in range(d.groups)])),
                rd.addr.eq(ternary_key[c * CHUNK_BITS:(c + 1) * CHUNK_BITS]),
            ]
            columns.append(rd.data)
        matches = []
        for s, slot in enumerate(slots):
            cond = self._field(slot, "valid")
            for col in columns:
                cond &= col[s]
            for i in d.range_keys:
                lsb, width = d.key_offset(i), d.key_widths[i]
                part = self.key[lsb:lsb + width]
                cond &= (part >= self._field(slot, f"lo{i}")) & (part <= self._field(slot, f"hi{i}"))
            matches.append(cond)
        hit, index = first_match(matches, [Const(i, bits_for(d.slots)) for i in range(d.slots)])
        m.d.comb += read.addr.eq(index)
        result = read.data
        action, params, counter = (result[:d.action_bits],
                                   result[d.action_bits:d.action_bits + d.param_width],
                                   result[d.action_bits + d.param_width:])
        # a miss reads as before: action and parameters zero, the miss counter
        m.d.sync += [self.hit.eq(hit), self.action.eq(Mux(hit, action, 0)),
                     self.params.eq(Mux(hit, params, 0)),
                     self.counter.eq(Mux(hit, counter, d.miss_counter))]


def first_match(matches: list, results: list) -> tuple:
    """``(any match, the result of the lowest matching index)``, as a balanced tree of 2:1
    multiplexers: log2(n) levels of logic where an if-chain over the slots is n levels."""
    level = list(zip(matches, results, strict=True))
    while len(level) > 1:
        pairs = [(lo_hit | hi_hit, Mux(lo_hit, lo, hi))
                 for (lo_hit, lo), (hi_hit, hi) in zip(level[0::2], level[1::2], strict=False)]
        level = pairs + level[len(pairs) * 2:]
    return level[0]


BRAM_ROWS = 512  # an ECP5 DP16KD at its widest (36 bits)
LUTRAM_ROWS = 16  # an ECP5 DPR16X4
LUTRAM_MAX_DEPTH = 32  # Yosys keeps memories this shallow in LUT-RAM


class CounterUnit(Elaboratable):
    """Direct counters of one table: 64-bit packets and bytes per cell, updated once per cycle
    at most (read in cycle t, written in t+1; the read port is transparent to that write, so
    back-to-back updates of the same cell see each other).

    The host reads a cell through the same read port, in a clock with no update: ``read`` asks
    (held until ``read_done``), and ``read_data`` holds the cell while ``read_done`` is high.
    A read port of its own would store the memory twice (a block RAM has two ports, a
    DPR16X4 one read address); a packet updates its counters once, so a read waits a clock
    at most while packets of one beat go by, a few while they are longer.

    When the entries' cells fill whole rows of the memory (512 deep in block RAM, 16 in
    LUT-RAM), the last cell (the miss counter) is a register instead of a memory word:
    1,024 entries' counters then take 8 DP16KD instead of 12, 16 TCAM slots' 32 DPR16X4
    instead of 64, for about 256 LUTs of multiplexers. Elsewhere the register would cost more
    than it saves."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.update = Signal()
        self.index = Signal(bits_for(count))
        self.length = Signal(32)
        self.read = Signal()
        self.read_index = Signal(bits_for(count))
        self.read_done = Signal()
        self.read_data = Signal(128)  # packets in the low half, bytes in the high half

    def elaborate(self, platform) -> Module:
        m = Module()
        miss = self.count - 1
        rows = LUTRAM_ROWS if self.count <= LUTRAM_MAX_DEPTH else BRAM_ROWS
        separate_miss = miss >= rows and miss % rows == 0
        mem = Memory(shape=128, depth=miss if separate_miss else self.count, init=[])
        m.submodules.mem = mem
        wr = mem.write_port()
        rd = mem.read_port(transparent_for=(wr,))
        miss_cell = Signal(128)
        update_q = Signal()
        index_q = Signal.like(self.index)
        length_q = Signal.like(self.length)
        grant = Signal()
        m.d.comb += grant.eq(self.read & ~self.update & ~self.read_done)
        m.d.sync += [update_q.eq(self.update), index_q.eq(Mux(grant, self.read_index, self.index)),
                     length_q.eq(self.length), self.read_done.eq(grant)]
        in_register = Const(0)
        if separate_miss:
            in_register = index_q == miss
        cell = Mux(in_register, miss_cell, rd.data)
        counted = Cat((cell[:64] + 1)[:64], (cell[64:] + length_q)[:64])
        m.d.comb += [
            rd.addr.eq(Mux(grant, self.read_index, self.index)),
            wr.addr.eq(index_q),
            wr.en.eq(update_q & ~in_register),
            wr.data.eq(counted),
            self.read_data.eq(cell),
        ]
        with m.If(update_q & in_register):
            m.d.sync += miss_cell.eq(counted)
        return m


def mux_default(hit, entry, default):
    return Mux(hit, entry, default)
