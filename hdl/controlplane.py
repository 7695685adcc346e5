"""The host side of the control port: STF entries in, control-port writes out.

``ControlPlane`` mirrors what the hardware tables hold, so it can choose where an entry goes:
a free way of a hash table (the same H3 hashes as the hardware, from ``TableDesc``), or the
sorted position in a TCAM (lowest priority number first, or longest prefix first), moving the
entries behind it down one slot. It works from ``TableDesc`` objects or from the JSON map that
``wirespeed compile --target fpga`` writes, so a real board's driver can use it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wirespeed.compiler import ir
from wirespeed.hdl.meters import CONFIG_BITS, pack_config
from wirespeed.hdl.pipeline import (
    DEFAULT_CLOCK_HZ,
    METER_UNIT,
    REGION_BYTES,
    REGION_COMMIT,
    REGION_DEFAULT,
    REGION_METER,
    REGION_PACKETS,
    REGION_STAGE,
    control_address,
)
from wirespeed.hdl.tables import CHUNK_BITS, COLUMN_BASE, GROUP_SLOTS, TableDesc, pack_params

Write = tuple[int, int]  # (word address, data)


class ControlPlaneError(Exception):
    """An entry the hardware cannot hold; the message is for the user."""


@dataclass
class _TcamEntry:
    rank: tuple[int, int]
    bits: int  # the encoded slot word (valid, ranges, result)
    value: int  # the value/mask keys, concatenated (``TableDesc.ternary_keys``)
    mask: int


@dataclass
class _TableState:
    desc: TableDesc
    image: dict[int, int] = field(default_factory=dict)  # slot -> entry bits in hardware
    handles: list[int] = field(default_factory=list)  # handle -> counter cell
    keys: dict[int, int] = field(default_factory=dict)  # hash: key -> slot
    slot_keys: dict[int, int] = field(default_factory=dict)  # hash: slot -> key
    tcam: list[_TcamEntry] = field(default_factory=list)
    seq: int = 0


class ControlPlane:
    def __init__(self, tables: list[TableDesc], program: ir.Program,
                 clock_hz: int = DEFAULT_CLOCK_HZ) -> None:
        self.program = program
        self.clock_hz = clock_hz
        self.tables = {t.name: _TableState(t) for t in tables}
        for t in program.tables:
            state = self.tables[t.name]
            for i, entry in enumerate(t.const_entries):
                self._place(state, entry, counter=state.desc.capacity + i)

    def initial_slots(self) -> dict[str, dict[int, int]]:
        """Table contents at reset (the constant entries), for memory initialisation."""
        return {name: dict(s.image) for name, s in self.tables.items()}

    # ------------------------------------------------------------------ operations
    def add_entry(self, table: str, entry: ir.Entry) -> tuple[int, list[Write]]:
        state = self._state(table)
        handle = len(state.handles)
        if handle >= state.desc.capacity:
            raise ControlPlaneError(f"table {table!r} is full: the FPGA table holds "
                                    f"{state.desc.capacity} run-time entries")
        before = dict(state.image)
        slot_or_cell = self._place(state, entry, counter=handle)
        state.handles.append(slot_or_cell)
        return handle, self._diff_writes(state, before)

    def set_default(self, table: str, call: ir.ActionCall) -> list[Write]:
        state = self._state(table)
        desc = state.desc
        if call.action not in desc.actions:
            raise ControlPlaneError(f"action {call.action!r} is not an action of table {table!r}")
        bits = self._set(desc, 0, "action", desc.actions.index(call.action))
        bits = self._set(desc, bits, "params", pack_params(desc.param_widths[call.action],
                                                           call.args))
        return [*self._stage(desc, bits), (control_address(desc.unit, REGION_DEFAULT, 0), 0)]

    def set_meter(self, meter: str, index: int, cir: int, cburst: int, pir: int,
                  pburst: int) -> list[Write]:
        """Configure one meter cell: rates per second, bursts in the meter's unit; the
        hardware keeps tokens in 1/clock_hz units, so the bursts are scaled here."""
        names = [m.name for m in self.program.meters]
        if meter not in names:
            raise ControlPlaneError(f"unknown meter {meter!r}")
        size = self.program.meter(meter).size
        if not 0 <= index < size:
            raise ControlPlaneError(f"meter {meter!r} has no index {index}")
        if min(cir, cburst, pir, pburst) < 0:
            raise ControlPlaneError("meter rates and bursts must not be negative")
        if pir < cir:
            raise ControlPlaneError(f"meter peak rate {pir} is below the committed rate {cir}")
        if max(cir, cburst, pir, pburst) >= 1 << 32:
            raise ControlPlaneError("meter rates and bursts must be below 2**32 on the FPGA")
        bits = pack_config(int(cir), int(cburst) * self.clock_hz, int(pir),
                           int(pburst) * self.clock_hz)
        stage = [(control_address(0, REGION_STAGE, w), bits >> (32 * w) & 0xFFFFFFFF)
                 for w in range(CONFIG_BITS // 32)]
        unit = METER_UNIT + names.index(meter)
        return [*stage, (control_address(unit, REGION_METER, index), 0)]

    def counter_addresses(self, table: str, handle: int | None) -> list[int]:
        """Addresses of packets (low, high word) and bytes (low, high) of one counter."""
        state = self._state(table)
        desc = state.desc
        if not desc.counters:
            raise ControlPlaneError(f"table {table!r} has no counters")
        if handle is None:
            cell = desc.miss_counter
        elif 0 <= handle < len(state.handles):
            cell = state.handles[handle]
        else:
            raise ControlPlaneError(f"table {table!r} has no entry {handle}")
        return [control_address(desc.unit, region, cell * 2 + word)
                for region in (REGION_PACKETS, REGION_BYTES) for word in (0, 1)]

    @staticmethod
    def counter_value(words: list[int]) -> tuple[int, int]:
        return words[0] | words[1] << 32, words[2] | words[3] << 32

    # ------------------------------------------------------------------ encoding
    def _state(self, table: str) -> _TableState:
        if table not in self.tables:
            raise ControlPlaneError(f"no table {table!r}")
        return self.tables[table]

    @staticmethod
    def _set(desc: TableDesc, bits: int, name: str, value: int) -> int:
        lsb, width = desc.layout()[name]
        return bits | (value & ((1 << width) - 1)) << lsb

    def _action_bits(self, desc: TableDesc, entry: ir.Entry) -> int:
        call = entry.action
        if call.action not in desc.actions:
            raise ControlPlaneError(f"action {call.action!r} is not an action of table "
                                    f"{desc.name!r}")
        widths = desc.param_widths[call.action]
        if len(call.args) != len(widths):
            raise ControlPlaneError(f"action {call.action!r} takes {len(widths)} arguments")
        bits = self._set(desc, 1, "action", desc.actions.index(call.action))
        return self._set(desc, bits, "params", pack_params(widths, call.args))

    def _place(self, state: _TableState, entry: ir.Entry, counter: int) -> int:
        desc = state.desc
        if len(entry.matches) != len(desc.key_widths):
            raise ControlPlaneError(f"table {desc.name!r} has {len(desc.key_widths)} keys, "
                                    f"the entry gives {len(entry.matches)}")
        bits = self._action_bits(desc, entry)
        match desc.kind:
            case "hash":
                key = 0
                for i, mt in enumerate(entry.matches):
                    if not isinstance(mt, ir.Exact):
                        raise ControlPlaneError(f"table {desc.name!r} takes exact keys only")
                    key |= (mt.value & ((1 << desc.key_widths[i]) - 1)) << desc.key_offset(i)
                if key in state.keys:
                    raise ControlPlaneError(f"table {desc.name!r} already has this key")
                bits = self._set(desc, bits, "key", key)
                bits = self._set(desc, bits, "counter", counter)
                self._cuckoo_insert(state, key, bits)
                return counter
            case "tcam":
                bits, value, mask = self._tcam_bits(desc, entry, bits)
                bits = self._set(desc, bits, "counter", counter)
                state.tcam.append(_TcamEntry((self._rank(desc, entry), state.seq), bits,
                                             value, mask))
                state.seq += 1
                state.tcam.sort(key=lambda e: e.rank)
                state.image = {slot: e.bits for slot, e in enumerate(state.tcam)}
                state.image.update(_columns(desc, state.tcam))
                return counter
            case "none":
                raise ControlPlaneError(f"table {desc.name!r} has no keys to match")
            case _:
                raise AssertionError(desc.kind)

    @staticmethod
    def _slots_of(desc: TableDesc, key: int) -> list[int]:
        return [way * desc.depth + desc.bucket(way, key) for way in range(desc.ways)]

    def _cuckoo_insert(self, state: _TableState, key: int, bits: int) -> None:
        """Put ``key`` in a free way; if all its ways are taken, find (breadth first, a few
        moves deep) a chain of entries that can each move to another of their ways."""
        desc = state.desc
        start = self._slots_of(desc, key)
        paths: list[list[int]] = [[slot] for slot in start]
        seen = set(start)
        while paths:
            path = paths.pop(0)
            slot = path[-1]
            if slot not in state.image:
                # move entries back to front along the path, then place the new key
                for i in range(len(path) - 1, 0, -1):
                    src, dst = path[i - 1], path[i]
                    moved = state.slot_keys[src]
                    state.image[dst] = state.image[src]
                    state.slot_keys[dst] = moved
                    state.keys[moved] = dst
                state.image[path[0]] = bits
                state.slot_keys[path[0]] = key
                state.keys[key] = path[0]
                return
            if len(path) > 4:
                continue
            for nxt in self._slots_of(desc, state.slot_keys[slot]):
                if nxt not in seen:
                    seen.add(nxt)
                    paths.append([*path, nxt])
        raise ControlPlaneError(f"table {desc.name!r}: no free way for this key in "
                                f"{desc.ways} ways of {desc.depth}, even after moving entries")

    def _rank(self, desc: TableDesc, entry: ir.Entry) -> int:
        if self.program.table(desc.name).needs_priority:
            return entry.priority or 0
        return -sum(m.prefix_len for m in entry.matches if isinstance(m, ir.Lpm))

    def _tcam_bits(self, desc: TableDesc, entry: ir.Entry, bits: int) -> tuple[int, int, int]:
        """The slot word (with the range bounds) and the value and mask of the other keys."""
        value = mask = lsb = 0
        for i, mt in enumerate(entry.matches):
            width = desc.key_widths[i]
            full = (1 << width) - 1
            if desc.key_kinds[i] == "range":
                match mt:
                    case ir.Range(lo, hi):
                        pass
                    case ir.Exact(v):
                        lo = hi = v
                    case ir.Wildcard():
                        lo, hi = 0, full
                    case ir.Ternary(v, mk) if mk & full in (0, full):
                        lo, hi = (v, v) if mk & full == full else (0, full)
                    case _:
                        raise ControlPlaneError(f"key {i} of table {desc.name!r} is a range")
                bits = self._set(desc, bits, f"lo{i}", lo)
                bits = self._set(desc, bits, f"hi{i}", hi)
                continue
            match mt:
                case ir.Exact(v):
                    v_, m_ = v, full
                case ir.Lpm(v, p):
                    m_ = (full << (width - p)) & full
                    v_ = v & m_
                case ir.Ternary(v, mk):
                    v_, m_ = v & mk, mk
                case ir.Wildcard():
                    v_, m_ = 0, 0
                case ir.Range(lo, hi) if lo == 0 and hi >= full:
                    v_, m_ = 0, 0
                case ir.Range(lo, hi) if lo == hi:
                    v_, m_ = lo, full
                case _:
                    raise ControlPlaneError(f"key {i} of table {desc.name!r} cannot take {mt}")
            value |= (v_ & full) << lsb
            mask |= (m_ & full) << lsb
            lsb += width
        return bits, value, mask

    # ------------------------------------------------------------------ writes
    @staticmethod
    def _stage(desc: TableDesc, bits: int) -> list[Write]:
        words = -(-desc.staged_width // 32)
        return [(control_address(0, REGION_STAGE, w), bits >> (32 * w) & 0xFFFFFFFF)
                for w in range(words)]

    def _diff_writes(self, state: _TableState, before: dict[int, int]) -> list[Write]:
        """Commits of every word that changed. In a TCAM, a slot's match (its columns) and its
        result are separate words: the slots about to change are first made invalid, then
        the columns are written, then the slots, so no packet meets a half-written entry."""
        desc = state.desc
        changed = [i for i in sorted(set(before) | set(state.image))
                   if before.get(i, 0) != state.image.get(i, 0)]
        writes: list[Write] = []

        def commit(index: int, bits: int) -> None:
            writes.extend(self._stage(desc, bits))
            writes.append((control_address(desc.unit, REGION_COMMIT, index), 0))

        if desc.kind == "tcam":
            for slot in changed:
                if slot < COLUMN_BASE and before.get(slot, 0):
                    commit(slot, 0)
            changed.sort(key=lambda i: (i < COLUMN_BASE, i))  # the columns first
        for index in changed:
            commit(index, state.image.get(index, 0))
        return writes


def _columns(desc: TableDesc, entries: list[_TcamEntry]) -> dict[int, int]:
    """The non-zero column words of a TCAM whose slots hold ``entries`` in order: bit
    ``c * GROUP_SLOTS + j`` of word ``COLUMN_BASE + g * 16 + v`` says whether slot
    ``g * GROUP_SLOTS + j`` accepts the value ``v`` in key chunk ``c``."""
    chunk = (1 << CHUNK_BITS) - 1
    words: dict[int, int] = {}
    for slot, e in enumerate(entries):
        group, j = divmod(slot, GROUP_SLOTS)
        for v in range(1 << CHUNK_BITS):
            bits = 0
            for c in range(desc.chunks):
                shift = c * CHUNK_BITS
                if (v ^ e.value >> shift) & e.mask >> shift & chunk == 0:
                    bits |= 1 << (c * GROUP_SLOTS + j)
            if bits:
                index = COLUMN_BASE + (group << CHUNK_BITS) + v
                words[index] = words.get(index, 0) | bits
    return words
