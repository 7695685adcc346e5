"""The control plane of a generated XDP program: table entries, defaults, counters,
registers, meters and ports, written into (and read from) the program's BPF maps.

The same code serves the test executor (``sim/xdp.py``, maps of a freshly loaded object) and
the deployment commands (``wirespeed xdp attach|entries``, maps pinned under bpffs).
Entries are checked with the reference model's rules first (``compiler.model.TableState``),
so a bad entry gets the same message on every target.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wirespeed.compiler import ir
from wirespeed.compiler.model import ModelError, TableState
from wirespeed.xdp import libbpf
from wirespeed.xdp.layout import mask, storage_bytes
from wirespeed.xdp.tables import TablePlan, c_ident, plan_table

METER_CELL_SIZE = 72  # struct meter_cell in the template
TOKEN_SCALE = 1_000_000_000
MAX_IFINDEX = 1024
MAX_PORTS = 512


class ControlError(Exception):
    """An entry or request the target refuses; the message is for the user."""


@functools.cache
def possible_cpus() -> int:
    """CPUs a per-CPU map holds a value for (``/sys/devices/system/cpu/possible``)."""
    text = Path("/sys/devices/system/cpu/possible").read_text().strip()
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


@dataclass
class _TssState:
    masks: dict[tuple[int, ...], int] = field(default_factory=dict)  # mask -> id
    min_rank: dict[int, int] = field(default_factory=dict)  # mask id -> best rank
    # tuple key bytes -> candidate (rank, value bytes); the best one is in the map
    candidates: dict[bytes, list[tuple[int, bytes]]] = field(default_factory=dict)


@dataclass
class _TableRuntime:
    plan: TablePlan
    model: TableState
    slots: int = 0  # counter slots handed out (const entries first)
    handles: list[int] = field(default_factory=list)  # run-time handle -> counter slot
    tss: _TssState = field(default_factory=_TssState)
    rules: list[tuple[int, dict[str, int], bytes]] = field(default_factory=list)  # scan
    order: int = 0


class ControlPlane:
    """Writes a program's state into its maps; ``map_fd(name)`` gives the fd of a map."""

    def __init__(self, program: ir.Program, map_fd: Callable[[str], int]) -> None:
        self.program = program
        self.map_fd = map_fd
        self.tables: dict[str, _TableRuntime] = {}
        for table in program.tables:
            plan = plan_table(program, table)
            try:
                model = TableState(program, ir.Table(
                    table.name, table.keys, table.actions, table.default_action, table.size,
                    table.counters, (), table.span))
            except ModelError as e:
                raise ControlError(str(e)) from None
            self.tables[table.name] = _TableRuntime(plan, model)

    # ------------------------------------------------------------------ set-up

    def install_program_state(self) -> None:
        """Const entries and default actions, as the program declares them."""
        for table in self.program.tables:
            rt = self.tables[table.name]
            for entry in table.const_entries:
                self._add(rt, entry)
            self.set_default(table.name, table.default_action)

    def set_port(self, port: int, ifindex: int) -> None:
        """Packets forwarded to ``port`` leave by ``ifindex``; packets arriving on
        ``ifindex`` see ``std.ingress_port == port``."""
        if not 0 <= port < MAX_PORTS:
            raise ControlError(f"port {port} out of range (0..{MAX_PORTS - 1})")
        if not 0 < ifindex < MAX_IFINDEX:
            raise ControlError(f"ifindex {ifindex} out of range (1..{MAX_IFINDEX - 1})")
        libbpf.map_update(self.map_fd("ports_out"), _u32(port), _u32(ifindex))
        self.set_ingress_port(ifindex, port)

    def set_egress_device(self, port: int, ifindex: int) -> None:
        libbpf.map_update(self.map_fd("ports_out"), _u32(port), _u32(ifindex))

    def set_ingress_port(self, ifindex: int, port: int) -> None:
        # std.ingress_port is bit<9>: a larger port number keeps its low 9 bits (as the model)
        libbpf.map_update(self.map_fd("ports_in"), _u32(ifindex),
                          _u32(port & ((1 << ir.PORT_WIDTH) - 1)))

    # ------------------------------------------------------------------ tables

    def _runtime(self, table: str) -> _TableRuntime:
        if table not in self.tables:
            raise ControlError(f"unknown table {table!r}")
        return self.tables[table]

    def add_entry(self, table: str, entry: ir.Entry) -> int:
        rt = self._runtime(table)
        slot = self._add(rt, entry)
        rt.handles.append(slot)
        return len(rt.handles) - 1

    def _add(self, rt: _TableRuntime, entry: ir.Entry) -> int:
        try:
            rt.model.add(entry)
        except ModelError as e:
            raise ControlError(str(e)) from None
        normal = rt.model.entries[-1].entry
        plan = rt.plan
        slot = rt.slots
        rt.slots += 1
        try:
            match plan.kind:
                case "exact":
                    values = tuple(m.value for m in normal.matches)  # type: ignore[union-attr]
                    libbpf.map_update(self.map_fd(f"{plan.c_name}_entries"),
                                      plan.pack_exact_key(values),
                                      plan.pack_value(normal.action, slot))
                case "lpm":
                    libbpf.map_update(self.map_fd(f"{plan.c_name}_entries"),
                                      plan.pack_lpm_key(normal.matches),
                                      plan.pack_value(normal.action, slot))
                case "scan":
                    self._add_scan(rt, normal, slot)
                case "tss":
                    self._add_tss(rt, normal, slot)
        except libbpf.BpfError as e:
            raise ControlError(f"table {plan.name!r}: {e}") from None
        return slot

    def _rank(self, rt: _TableRuntime, entry: ir.Entry) -> int:
        """Lower wins: the priority (or, with several lpm keys, the bits not in the prefixes),
        then the order of installation."""
        plan = rt.plan
        if plan.table.needs_priority:
            assert entry.priority is not None
            primary = entry.priority
        else:
            total = sum(k.width for k in plan.table.keys)
            primary = total - sum(m.prefix_len for m in entry.matches
                                  if isinstance(m, ir.Lpm))
        rank = (primary << 32) | rt.order
        rt.order += 1
        return rank

    def _add_scan(self, rt: _TableRuntime, entry: ir.Entry, slot: int) -> None:
        plan = rt.plan
        rank = self._rank(rt, entry)
        rt.rules.append((rank, plan.scan_bounds(entry.matches),
                         plan.pack_value(entry.action, slot, rank)))
        rt.rules.sort(key=lambda r: r[0])
        libbpf.map_update(self.map_fd(f"{plan.c_name}_rules"), _u32(0), plan.pack_rules(
            [(bounds, value) for _, bounds, value in rt.rules]))

    def _add_tss(self, rt: _TableRuntime, entry: ir.Entry, slot: int) -> None:
        plan = rt.plan
        if plan.table.needs_priority:
            assert entry.priority is not None
            primary = entry.priority
        else:  # several lpm keys: the longest total prefix wins
            total = sum(k.width for k in plan.table.keys)
            primary = total - sum(m.prefix_len for m in entry.matches
                                  if isinstance(m, ir.Lpm))
        rank = (primary << 32) | rt.order
        rt.order += 1
        value = plan.pack_value(entry.action, slot, rank)
        state = rt.tss
        expansion = plan.expand(entry.matches)
        new_masks = {m for m, _ in expansion if m not in state.masks}
        if len(state.masks) + len(new_masks) > plan.max_masks:
            raise ControlError(
                f"table {plan.name!r}: more than {plan.max_masks} distinct masks "
                "(the XDP target's tuple-space limit)")
        fd = self.map_fd(f"{plan.c_name}_entries")
        masks_changed = False
        for key_masks, values in expansion:
            if key_masks not in state.masks:
                state.masks[key_masks] = len(state.masks)
            mask_id = state.masks[key_masks]
            if rank < state.min_rank.get(mask_id, rank + 1):
                state.min_rank[mask_id] = rank
                masks_changed = True
            key = plan.pack_tss_key(mask_id, values)
            cands = state.candidates.setdefault(key, [])
            cands.append((rank, value))
            best = min(cands)
            if best[0] == rank:
                libbpf.map_update(fd, key, best[1])
        if not masks_changed:
            return
        ordered = sorted(state.masks.items(), key=lambda kv: state.min_rank[kv[1]])
        libbpf.map_update(self.map_fd(f"{plan.c_name}_masks"), _u32(0), plan.pack_mask_list(
            [(state.min_rank[i], i, m) for m, i in ordered]))

    def set_default(self, table: str, call: ir.ActionCall) -> None:
        rt = self._runtime(table)
        try:
            rt.model.set_default(call)
        except ModelError as e:
            raise ControlError(str(e)) from None
        libbpf.map_update(self.map_fd(f"{rt.plan.c_name}_default"), _u32(0),
                          rt.plan.pack_value(call, rt.plan.miss_slot))

    def read_counter(self, table: str, handle: int | None) -> tuple[int, int]:
        rt = self._runtime(table)
        if not rt.plan.table.counters:
            raise ControlError(f"table {table!r} has no counters")
        if handle is None:
            slot = rt.plan.miss_slot
        elif 0 <= handle < len(rt.handles):
            slot = rt.handles[handle]
        else:
            raise ControlError(f"table {table!r} has no entry {handle} "
                               f"({len(rt.handles)} added)")
        ncpu = possible_cpus()
        raw = libbpf.map_lookup(self.map_fd(f"{rt.plan.c_name}_counters"), _u32(slot),
                                16 * ncpu)
        if raw is None:
            raise ControlError(f"cannot read the counters of {table!r}")
        packets = sum(int.from_bytes(raw[16 * i:16 * i + 8], "little") for i in range(ncpu))
        nbytes = sum(int.from_bytes(raw[16 * i + 8:16 * i + 16], "little") for i in range(ncpu))
        return packets, nbytes

    # ------------------------------------------------------------------ registers, meters

    def read_register(self, register: str, index: int) -> int:
        try:
            reg = self.program.register(register)
        except KeyError:
            raise ControlError(f"unknown register {register!r}") from None
        if not 0 <= index < reg.size:
            raise ControlError(f"register {register!r} has no index {index}")
        size = storage_bytes(reg.width)
        raw = libbpf.map_lookup(self.map_fd(f"reg_{c_ident(register)}"), _u32(index), size)
        if raw is None:
            raise ControlError(f"cannot read register {register!r}")
        return int.from_bytes(raw, "little") & mask(reg.width)

    def set_meter(self, meter: str, index: int, cir: int, cburst: int, pir: int,
                  pburst: int) -> None:
        try:
            m = self.program.meter(meter)
        except KeyError:
            raise ControlError(f"unknown meter {meter!r}") from None
        if not 0 <= index < m.size:
            raise ControlError(f"meter {meter!r} has no index {index}")
        if min(cir, cburst, pir, pburst) < 0:
            raise ControlError("meter rates and bursts must not be negative")
        if pir < cir:
            raise ControlError(f"meter peak rate {pir} is below the committed rate {cir}")
        cell = bytearray(METER_CELL_SIZE)
        words = [int(cir), int(cburst), int(pir), int(pburst), int(cburst) * TOKEN_SCALE,
                 int(pburst) * TOKEN_SCALE, 0, 0]
        cell[4:8] = (1).to_bytes(4, "little")  # configured
        for i, w in enumerate(words):
            cell[8 + 8 * i:16 + 8 * i] = (w & mask(64)).to_bytes(8, "little")
        libbpf.map_update(self.map_fd(f"meter_{c_ident(meter)}"), _u32(index), bytes(cell))


def _u32(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "little")
