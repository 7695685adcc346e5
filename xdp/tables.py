"""How each table lives in BPF maps, shared by the C generator and the control plane.

Three shapes, chosen from the key kinds (docs/xdp.md, "Tables"):

* ``exact``: only exact keys. One ``BPF_MAP_TYPE_HASH`` from the key struct to the value.
* ``lpm``: exact keys and exactly one lpm key. One ``BPF_MAP_TYPE_LPM_TRIE`` whose key is the
  exact keys then the lpm key, all big-endian, so the trie's longest prefix is the longest
  lpm prefix (the exact keys always match in full).
* ``scan``: any ternary or range key (or several lpm keys) in a table of at most
  ``SCAN_MAX_SIZE`` entries. The entries sit in one array value sorted by rank, each key as
  ``mask, lo, hi`` (``lo <= key & mask <= hi``: exact, prefix, ternary and range alike), and the
  lookup takes the first that matches: one map lookup and a few compares per entry.
* ``tss``: the same kinds in a larger table. Tuple-space search: every entry is
  expanded into (mask, masked value) pairs, ranges into prefixes; one hash map holds
  ``(mask id, key & mask) -> value`` and a mask list holds the distinct masks sorted by the
  best rank they carry. The lookup walks the masks in that order and stops as soon as the
  next mask cannot beat the entry found, so priorities stay exact: rank =
  ``priority << 32 | insertion order`` (lowest wins, earlier wins ties, as the reference model).

Every value starts with the action id (1-based, in the table's ``actions`` order), the direct
counter slot (entries in insertion order, the last slot counts misses) and, for ``tss``, the
rank; the action's arguments follow in a union.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from typing import Literal

from wirespeed.compiler import ir
from wirespeed.xdp.layout import (
    Member,
    Struct,
    align_up,
    mask,
    natural_struct,
    storage_bytes,
)

BUILTIN_ACTIONS: dict[str, ir.Action] = {
    "drop": ir.Action("drop", (), (ir.Drop(),)),
    "send_to_host": ir.Action("send_to_host", (), (ir.SendToHost(),)),
    "forward": ir.Action(
        "forward", (ir.Param("port", ir.PORT_WIDTH),),
        (ir.Forward(ir.ParamRef("port", ir.Bits(ir.PORT_WIDTH))),)),
    "nop": ir.Action("nop", (), ()),
}

# Priority tables up to this size are scanned linearly; larger ones use tuple-space search.
SCAN_MAX_SIZE = 256
# Distinct masks a tuple-space table can hold; each one costs a hash lookup on a miss.
TSS_MAX_MASKS = 128
# Hash slots per declared entry in a tuple-space table: room for range-to-prefix expansion.
TSS_EXPANSION = 8


@functools.cache
def c_ident(name: str) -> str:
    """A C identifier from a ``.wire`` name (``ipv4.dst`` -> ``ipv4_dst``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def find_action(program: ir.Program, name: str) -> ir.Action:
    for action in program.actions:
        if action.name == name:
            return action
    return BUILTIN_ACTIONS[name]


@dataclass(frozen=True)
class ActionLayout:
    name: str
    id: int
    params: ir.Action
    args: Struct  # member offsets are absolute within the value


@dataclass
class TablePlan:
    table: ir.Table
    kind: Literal["exact", "lpm", "scan", "tss"]
    key: Struct  # exact: the hash key; lpm: prefixlen + data; tss: one member per key
    value: Struct  # the fixed head: action, counter (and rank)
    actions: dict[str, ActionLayout]
    value_size: int
    args_offset: int
    args_align: int
    entries_max: int
    tss_key: Struct | None = None  # tss: mask id + masked key
    mask_elem: Struct | None = None  # tss: one mask: min rank, id, the mask (as ``key``)
    mask_list_size: int = 0
    mask_array_offset: int = 0
    max_masks: int = 0
    lpm_data: list[tuple[ir.TableKey, int]] = field(default_factory=list)  # (key, bytes)
    rule: Struct | None = None  # scan: one entry (mask, lo, hi per key; the value after)
    rule_value_offset: int = 0
    rules_size: int = 0  # scan: bytes of the whole list (count, then the rules)
    rules_offset: int = 0
    max_rules: int = 0

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def c_name(self) -> str:
        return c_ident(self.table.name)

    @property
    def counter_slots(self) -> int:
        return self.table.size + 1  # the last slot counts misses

    @property
    def miss_slot(self) -> int:
        return self.table.size

    def member_name(self, key: ir.TableKey) -> str:
        return c_ident(key.name)

    # ------------------------------------------------------------------ encoding

    def pack_value(self, call: ir.ActionCall, counter: int, rank: int = 0) -> bytes:
        layout = self.actions[call.action]
        out = bytearray(self.value_size)
        out[0:self.value.size] = self.value.pack(
            {"action": layout.id, "counter": counter, "rank": rank})
        params = layout.params.params
        for param, arg in zip(params, call.args, strict=True):
            m = layout.args.member(c_ident(param.name))
            out[m.offset:m.offset + m.size] = (arg & mask(m.size * 8)).to_bytes(m.size, "little")
        return bytes(out)

    def pack_exact_key(self, values: tuple[int, ...]) -> bytes:
        return self.key.pack({self.member_name(k): v for k, v in zip(
            self.table.keys, values, strict=True)})

    def pack_lpm_key(self, matches: tuple[ir.Match, ...]) -> bytes:
        data = bytearray()
        prefix = 0
        for key, nbytes in self.lpm_data:
            m = matches[self.table.keys.index(key)]
            match m:
                case ir.Exact(value):
                    prefix += nbytes * 8
                case ir.Lpm(value, plen):
                    prefix += nbytes * 8 - key.width + plen
                case _:
                    raise AssertionError(f"lpm table entry with {m}")
            data += value.to_bytes(nbytes, "big")
        return self.key.pack({"prefixlen": prefix, "data": bytes(data)})

    def expand(self, matches: tuple[ir.Match, ...]) -> list[tuple[tuple[int, ...],
                                                                  tuple[int, ...]]]:
        """A tuple-space entry as ``(masks, masked values)`` pairs, ranges as prefixes."""
        per_key = []
        for key, m in zip(self.table.keys, matches, strict=True):
            w = key.width
            match m:
                case ir.Exact(value):
                    per_key.append([(mask(w), value)])
                case ir.Lpm(value, plen):
                    pm = mask(w) ^ mask(w - plen)
                    per_key.append([(pm, value & pm)])
                case ir.Ternary(value, tmask):
                    per_key.append([(tmask, value & tmask)])
                case ir.Range(lo, hi):
                    per_key.append(range_to_prefixes(lo, hi, w))
                case ir.Wildcard():
                    per_key.append([(0, 0)])
                case _:
                    raise AssertionError(m)
        out = []
        for combo in itertools.product(*per_key):
            out.append((tuple(c[0] for c in combo), tuple(c[1] for c in combo)))
        return out

    def pack_tss_key(self, mask_id: int, values: tuple[int, ...]) -> bytes:
        assert self.tss_key is not None
        fields: dict[str, int | bytes] = {"mask_id": mask_id}
        fields.update({self.member_name(k): v for k, v in zip(
            self.table.keys, values, strict=True)})
        return self.tss_key.pack(fields)

    def scan_bounds(self, matches: tuple[ir.Match, ...]) -> dict[str, int]:
        """One scan rule's ``mask_K``, ``lo_K``, ``hi_K`` members."""
        out = {}
        for key, m in zip(self.table.keys, matches, strict=True):
            w = key.width
            name = self.member_name(key)
            match m:
                case ir.Exact(value):
                    bounds = (mask(w), value, value)
                case ir.Lpm(value, plen):
                    pm = mask(w) ^ mask(w - plen)
                    bounds = (pm, value & pm, value & pm)
                case ir.Ternary(value, tmask):
                    bounds = (tmask, value & tmask, value & tmask)
                case ir.Range(lo, hi):
                    bounds = (mask(w), lo, hi)
                case ir.Wildcard():
                    bounds = (0, 0, 0)
                case _:
                    raise AssertionError(m)
            out[f"mask_{name}"], out[f"lo_{name}"], out[f"hi_{name}"] = bounds
        return out

    def pack_rules(self, rules: list[tuple[dict[str, int], bytes]]) -> bytes:
        """The whole scan list: ``rules`` are (bounds, packed value), already in rank order."""
        assert self.rule is not None
        out = bytearray(self.rules_size)
        out[0:4] = len(rules).to_bytes(4, "little")
        for i, (bounds, value) in enumerate(rules):
            at = self.rules_offset + i * self.rule.size
            out[at:at + self.rule.size] = self.rule.pack(bounds)
            v_at = at + self.rule_value_offset
            out[v_at:v_at + len(value)] = value
        return bytes(out)

    def pack_mask_list(self, masks: list[tuple[int, int, tuple[int, ...]]]) -> bytes:
        """``masks``: (min rank, id, mask per key), already in lookup order."""
        assert self.mask_elem is not None
        out = bytearray(self.mask_list_size)
        out[0:4] = len(masks).to_bytes(4, "little")
        for i, (min_rank, mask_id, key_masks) in enumerate(masks):
            at = self.mask_array_offset + i * self.mask_elem.size
            fields: dict[str, int | bytes] = {"min_rank": min_rank, "id": mask_id}
            fields.update({self.member_name(k): v for k, v in zip(
                self.table.keys, key_masks, strict=True)})
            out[at:at + self.mask_elem.size] = self.mask_elem.pack(fields)
        return bytes(out)


def range_to_prefixes(lo: int, hi: int, width: int) -> list[tuple[int, int]]:
    """The fewest (mask, value) prefixes that cover ``lo..hi`` exactly (at most 2w-2)."""
    out = []
    while lo <= hi:
        # the largest aligned block that starts at lo and stays within hi
        size = lo & -lo if lo else 1 << width
        while size > hi - lo + 1:
            size >>= 1
        out.append((mask(width) ^ (size - 1), lo))
        lo += size
    return out


def plan_table(program: ir.Program, table: ir.Table) -> TablePlan:
    kinds = [k.kind for k in table.keys]
    n_lpm = kinds.count(ir.MatchKind.LPM)
    if (table.needs_priority or n_lpm > 1) and table.size <= SCAN_MAX_SIZE:
        kind: Literal["exact", "lpm", "scan", "tss"] = "scan"
    elif table.needs_priority or n_lpm > 1:
        kind = "tss"
    elif n_lpm == 1:
        kind = "lpm"
    else:
        kind = "exact"
    name = c_ident(table.name)
    key_fields = [(c_ident(k.name), storage_bytes(k.width)) for k in table.keys]
    lpm_data: list[tuple[ir.TableKey, int]] = []
    tss_key = mask_elem = None
    mask_list_size = mask_array_offset = max_masks = 0
    if kind == "exact":
        key = natural_struct(f"{name}_key", key_fields or [("_empty", 1)])
    elif kind == "lpm":
        ordered = [k for k in table.keys if k.kind is ir.MatchKind.EXACT] + [
            k for k in table.keys if k.kind is ir.MatchKind.LPM]
        lpm_data = [(k, (k.width + 7) // 8) for k in ordered]
        nbytes = sum(n for _, n in lpm_data)
        key = Struct(f"{name}_key", (Member("prefixlen", 4, 0), Member("data", nbytes, 4, True)),
                     align_up(4 + nbytes, 4), 4)
    elif kind == "scan":
        key = natural_struct(f"{name}_key", key_fields)
    else:
        key = natural_struct(f"{name}_key", key_fields)
        tss_key = natural_struct(f"{name}_tuple", [("mask_id", 4), *key_fields])
        mask_off = align_up(16, key.align)
        elem_align = max(8, key.align)
        mask_elem = Struct(
            f"{name}_mask",
            (Member("min_rank", 8, 0), Member("id", 4, 8),
             *(Member(m.name, m.size, mask_off + m.offset) for m in key.members)),
            align_up(mask_off + key.size, elem_align), elem_align)
        max_masks = 1  # a power of two, so that an index can be bounded with a mask
        while max_masks < min(TSS_MAX_MASKS, table.size * TSS_EXPANSION):
            max_masks *= 2
        mask_array_offset = align_up(8, elem_align)
        mask_list_size = mask_array_offset + max_masks * mask_elem.size

    head_fields = [("action", 4), ("counter", 4)] + ([("rank", 8)] if kind in ("tss", "scan") else [])
    head = natural_struct(f"{name}_value", head_fields)
    head_size = 16 if kind in ("tss", "scan") else 8
    layouts: dict[str, ActionLayout] = {}
    arg_structs = {}
    union_align = 1
    for action_name in table.actions:
        action = find_action(program, action_name)
        s = natural_struct(f"{name}_{c_ident(action_name)}_args",
                           [(c_ident(p.name), storage_bytes(p.width)) for p in action.params])
        arg_structs[action_name] = (action, s)
        union_align = max(union_align, s.align)
    args_offset = align_up(head_size, union_align)
    union_size = max([1] + [s.size if s.members else 1 for _, s in arg_structs.values()])
    union_size = align_up(union_size, union_align)
    value_align = max(8 if kind in ("tss", "scan") else 4, union_align)
    value_size = align_up(args_offset + union_size, value_align)
    for i, action_name in enumerate(table.actions):
        action, s = arg_structs[action_name]
        absolute = Struct(s.name, tuple(Member(m.name, m.size, args_offset + m.offset)
                                        for m in s.members), s.size, s.align)
        layouts[action_name] = ActionLayout(action_name, i + 1, action, absolute)
    entries_max = table.size * (TSS_EXPANSION if kind == "tss" else 1)
    rule = None
    rule_value_offset = rules_size = rules_offset = max_rules = 0
    if kind == "scan":
        bounds = [(f"{part}_{fname}", size) for fname, size in key_fields
                  for part in ("mask", "lo", "hi")]
        head_rule = natural_struct(f"{name}_rule", bounds)
        align = max(head_rule.align, value_align, 8)
        rule_value_offset = align_up(head_rule.size, align)
        rule = Struct(f"{name}_rule", head_rule.members,
                      align_up(rule_value_offset + value_size, align), align)
        max_rules = 1
        while max_rules < table.size:
            max_rules *= 2
        rules_offset = align_up(4, align)
        rules_size = rules_offset + max_rules * rule.size
    return TablePlan(
        table=table, kind=kind, key=key, value=head, actions=layouts, value_size=value_size,
        args_offset=args_offset, args_align=union_align, entries_max=max(1, entries_max),
        tss_key=tss_key, mask_elem=mask_elem, mask_list_size=mask_list_size,
        mask_array_offset=mask_array_offset, max_masks=max_masks, lpm_data=lpm_data,
        rule=rule, rule_value_offset=rule_value_offset, rules_size=rules_size,
        rules_offset=rules_offset, max_rules=max_rules)


def action_arg_structs(plan: TablePlan) -> dict[str, Struct]:
    """Per action, its argument struct with offsets relative to the union."""
    return {
        name: Struct(a.args.name, tuple(Member(m.name, m.size, m.offset - plan.args_offset)
                                         for m in a.args.members), a.args.size, a.args.align)
        for name, a in plan.actions.items()
    }
