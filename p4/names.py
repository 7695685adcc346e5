"""P4 names for the things of a ``.wire`` program.

Every name in the generated P4 is the ``.wire`` name, so a reader (and the STF runner, which
matches tables, keys and actions by name) finds them again; a name is changed only where P4
would not accept it (a P4 keyword, or two things that share one P4 namespace), and then by a
suffix that keeps it recognisable (``state`` -> ``state_``).
"""

from __future__ import annotations

from dataclasses import dataclass

from wirespeed.compiler import ir

# P4_16 keywords (spec, appendix "P4 reserved keywords"), plus the names that core.p4 and
# v1model.p4 declare at top level and the names the generated program itself uses.
P4_KEYWORDS = frozenset("""
    abstract action actions apply bool bit const control default else entries enum error exit
    extern false for header header_union if in inout int key list match_kind out package parser
    priority return select size state string struct switch table this transition true tuple
    type typedef value_set varbit verify void
""".split())
P4_LIBRARY_NAMES = frozenset("""
    packet_in packet_out NoAction exact ternary lpm range selector optional
    standard_metadata_t standard_metadata V1Switch main mark_to_drop hash register meter
    direct_meter counter direct_counter action_profile action_selector random digest
    verify_checksum update_checksum verify_checksum_with_payload update_checksum_with_payload
    clone clone3 resubmit recirculate truncate assert assume log_msg CounterType MeterType
    HashAlgorithm CloneType
    hdr meta packet headers_t metadata_t WireParser WireVerifyChecksum WireIngress WireEgress
    WireComputeChecksum WireDeparser HOST_PORT accept reject
""".split())
RESERVED = P4_KEYWORDS | P4_LIBRARY_NAMES

# The control-plane names of the built-in actions (``drop``, ``forward`` ...) stay as they are.
BUILTIN_ACTION_NAMES = ("drop", "forward", "send_to_host", "nop")


def safe(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """``name`` unless P4 or ``taken`` already uses it, else ``name_``, ``name__`` ..."""
    result = name
    while result in RESERVED or result in taken:
        result += "_"
    return result


@dataclass(frozen=True)
class Names:
    """The P4 name of every ``.wire`` object that appears in the output."""

    header_types: dict[str, str]  # wire header type -> P4 header type (``ipv4_t``)
    varlen_types: dict[str, str]  # wire header type with a VarLen -> its options header type
    headers: dict[str, str]  # wire header instance -> member of ``hdr``
    varlen_headers: dict[str, str]  # wire instance with a VarLen -> its options member
    fields: dict[tuple[str, str], str]  # (wire header type, field) -> P4 field
    meta: dict[str, str]  # user metadata field -> member of ``meta``
    varlen_meta: dict[str, str]  # wire instance with a VarLen -> meta field of its length
    states: dict[str, str]  # parser state -> P4 state
    actions: dict[str, str]  # action (program or built-in) -> P4 action
    tables: dict[str, str]  # the P4 table of the first place the control applies it
    # Every P4 copy of a table, one per place the control applies it: bmv2 (p4c-bm2-ss) lets a
    # table be applied once, so a .wire table applied twice becomes `t` and `t_apply2`, and
    # the control plane writes every entry into each copy.
    copies: dict[str, list[str]]
    registers: dict[str, str]
    meters: dict[str, str]
    counters: dict[str, str]  # P4 table (copy) with counters -> its direct_counter
    # bmv2's direct counters count hits only, so a table with counters runs its default
    # action through a wrapper that counts the miss in a one-cell counter.
    misses: dict[str, str]  # P4 table (copy) with counters -> its miss counter
    miss_actions: dict[tuple[str, str], str]  # (P4 table, action) -> default-only wrapper

    def default_action(self, p4_table: str, action: str) -> str:
        """The P4 action the P4 table runs when ``action`` is its default."""
        return self.miss_actions.get((p4_table, action), self.actions[action])

    def field(self, header: str, field: str, program: ir.Program) -> str:
        return self.fields[(program.header(header).type.name, field)]


def assign_names(program: ir.Program, action_names: list[str]) -> Names:
    """Pick P4 names for ``program``; ``action_names`` are the actions the output declares."""
    header_types: dict[str, str] = {}
    varlen_types: dict[str, str] = {}
    type_taken: set[str] = set()
    fields: dict[tuple[str, str], str] = {}
    for htype in program.header_types:
        header_types[htype.name] = safe(f"{htype.name}_t", type_taken)
        type_taken.add(header_types[htype.name])
        field_taken: set[str] = set()
        for f in htype.fields:
            fields[(htype.name, f.name)] = safe(f.name, field_taken)
            field_taken.add(fields[(htype.name, f.name)])
        if htype.varlen is not None:
            varlen_types[htype.name] = safe(f"{htype.name}_{htype.varlen.name}_t", type_taken)
            type_taken.add(varlen_types[htype.name])
            fields[(htype.name, htype.varlen.name)] = safe(htype.varlen.name)

    header_taken: set[str] = set()
    headers: dict[str, str] = {}
    for h in program.headers:
        headers[h.name] = safe(h.name, header_taken)
        header_taken.add(headers[h.name])
    varlen_headers: dict[str, str] = {}
    for h in program.headers:
        if h.type.varlen is not None:
            varlen_headers[h.name] = safe(f"{h.name}_{h.type.varlen.name}", header_taken)
            header_taken.add(varlen_headers[h.name])

    meta_taken: set[str] = {"wire_payload_bytes"}  # the backend's own metadata field
    meta: dict[str, str] = {}
    for m in program.metadata:
        meta[m.name] = safe(m.name, meta_taken)
        meta_taken.add(meta[m.name])
    varlen_meta: dict[str, str] = {}
    for h in program.headers:
        if h.type.varlen is not None:
            varlen_meta[h.name] = safe(f"wire_{h.name}_{h.type.varlen.name}_bytes", meta_taken)
            meta_taken.add(varlen_meta[h.name])

    state_taken = {"start"} if program.start.name != "start" else set()
    states: dict[str, str] = {}
    for s in program.parser:
        if s is program.start and s.name == "start":
            states[s.name] = "start"
        else:
            states[s.name] = safe(s.name, state_taken)
        state_taken.add(states[s.name])

    # Actions, tables and extern instances share the ingress control's namespace.
    control_taken: set[str] = set()

    def take(name: str) -> str:
        result = safe(name, control_taken)
        control_taken.add(result)
        return result

    actions = {a: take(a) for a in action_names}
    sites = apply_sites(program.ingress)
    copies = {t.name: [take(t.name)] + [take(f"{t.name}_apply{k}")
                                        for k in range(2, sites.get(t.name, 1) + 1)]
              for t in program.tables}
    tables = {t.name: copies[t.name][0] for t in program.tables}
    registers = {r.name: take(r.name) for r in program.registers}
    meters = {m.name: take(m.name) for m in program.meters}
    counted = [c for t in program.tables if t.counters for c in copies[t.name]]
    counters = {c: take(f"{c}_counter") for c in counted}
    misses = {c: take(f"{c}_misses") for c in counted}
    miss_actions = {(c, a): take(f"{c}_miss_{a}")
                    for t in program.tables if t.counters for c in copies[t.name]
                    for a in t.actions}
    return Names(header_types, varlen_types, headers, varlen_headers, fields, meta,
                 varlen_meta, states,
                 actions, tables, copies, registers, meters, counters, misses, miss_actions)


def apply_sites(body: tuple[ir.Stmt, ...]) -> dict[str, int]:
    """How many places in the control apply each table."""
    counts: dict[str, int] = {}

    def walk(stmts: tuple[ir.Stmt, ...]) -> None:
        for st in stmts:
            match st:
                case ir.Apply(table):
                    counts[table] = counts.get(table, 0) + 1
                case ir.ApplyHit(table, hit, miss):
                    counts[table] = counts.get(table, 0) + 1
                    walk(hit)
                    walk(miss)
                case ir.ApplySwitch(table, cases, default):
                    counts[table] = counts.get(table, 0) + 1
                    for case in cases:
                        walk(case.body)
                    walk(default)
                case ir.If(_, then, otherwise):
                    walk(then)
                    walk(otherwise)

    walk(body)
    return counts
