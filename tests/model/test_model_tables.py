"""Table lookup in the reference model: each match kind, longest prefix, the priority rule
(lowest number wins, ties to the entry added first), counters, defaults and entry errors."""

import pytest
from hand_ir import B, c, f, forward_all, meta, table
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from wirespeed.compiler import ir
from wirespeed.compiler.model import ModelError, Pipeline

DST = f("ipv4", "dst", 32)
SRC = f("ipv4", "src", 32)
DPORT = f("udp", "dst_port", 16)
PROTO = f("ipv4", "protocol", 8)


def packet(dst: str = "10.0.0.2", src: str = "10.0.0.1", dport: int = 80) -> bytes:
    return bytes(Ether() / IP(src=src, dst=dst) / UDP(sport=1, dport=dport) / b"data")


def entry(*matches: ir.Match, port: int = 1, priority: int | None = None) -> ir.Entry:
    return ir.Entry(tuple(matches), ir.ActionCall("to_port", (port,)), priority)


def pipeline_with(t: ir.Table, ingress: tuple[ir.Stmt, ...] | None = None) -> Pipeline:
    prog = forward_all(9, ingress=(), tables=(t,))
    prog = ir.Program(**{**prog.__dict__, "ingress": ingress or (ir.Apply(t.name),)})
    return Pipeline(prog)


def port_of(pipeline: Pipeline, data: bytes) -> int | None:
    out = pipeline.process(0, data)
    return out[0][0] if out else None


def test_exact() -> None:
    p = pipeline_with(table("t", [(DST, "exact"), (DPORT, "exact")], ("to_port", "drop")))
    p.add_entry("t", entry(ir.Exact(0x0A000002), ir.Exact(80), port=4))
    assert port_of(p, packet()) == 4
    assert port_of(p, packet(dport=81)) is None  # default drop
    assert port_of(p, packet(dst="10.0.0.3")) is None


def test_lpm_longest_prefix_wins_whatever_the_order() -> None:
    p = pipeline_with(table("routes", [(DST, "lpm")], ("to_port", "drop")))
    p.add_entry("routes", entry(ir.Lpm(0x0A000000, 8), port=1))
    p.add_entry("routes", entry(ir.Lpm(0x0A000200, 24), port=3))
    p.add_entry("routes", entry(ir.Lpm(0x0A000000, 16), port=2))
    p.add_entry("routes", entry(ir.Lpm(0, 0), port=5))
    assert port_of(p, packet(dst="10.0.2.9")) == 3
    assert port_of(p, packet(dst="10.0.3.9")) == 2
    assert port_of(p, packet(dst="10.1.0.0")) == 1
    assert port_of(p, packet(dst="192.168.0.1")) == 5


def test_lpm_with_exact_keys() -> None:
    p = pipeline_with(table("t", [(PROTO, "exact"), (DST, "lpm")], ("to_port",)))
    p.add_entry("t", entry(ir.Exact(6), ir.Lpm(0x0A000000, 24), port=1))
    p.add_entry("t", entry(ir.Exact(17), ir.Lpm(0x0A000000, 8), port=2))
    assert port_of(p, packet()) == 2


def test_ternary_lowest_priority_number_wins() -> None:
    p = pipeline_with(table("acl", [(DST, "ternary")], ("to_port",)))
    p.add_entry("acl", entry(ir.Ternary(0, 0), port=1, priority=10))
    p.add_entry("acl", entry(ir.Ternary(0x0A000000, 0xFF000000), port=2, priority=5))
    p.add_entry("acl", entry(ir.Ternary(0x00000002, 0x000000FF), port=3, priority=7))
    assert port_of(p, packet(dst="10.0.0.2")) == 2   # priorities 10, 5, 7 match: 5 wins
    assert port_of(p, packet(dst="11.0.0.2")) == 3
    assert port_of(p, packet(dst="11.0.0.3")) == 1


def test_ternary_ties_go_to_the_entry_added_first() -> None:
    p = pipeline_with(table("acl", [(DST, "ternary")], ("to_port",)))
    p.add_entry("acl", entry(ir.Ternary(0x0A000000, 0xFF000000), port=2, priority=5))
    p.add_entry("acl", entry(ir.Ternary(0, 0), port=1, priority=5))
    assert port_of(p, packet()) == 2


def test_range_and_ternary_together() -> None:
    p = pipeline_with(table("acl", [(DPORT, "range"), (SRC, "ternary")], ("to_port",)))
    p.add_entry("acl", entry(ir.Range(1000, 2000), ir.Ternary(0, 0), port=2, priority=2))
    p.add_entry("acl", entry(ir.Range(0, 0xFFFF), ir.Ternary(0x0A000001, 0xFFFFFFFF), port=3,
                             priority=3))
    assert port_of(p, packet(dport=1000)) == 2
    assert port_of(p, packet(dport=2000)) == 2
    assert port_of(p, packet(dport=2001)) == 3
    assert port_of(p, packet(dport=999, src="10.0.0.9")) is None


def test_wildcards_are_normalised_per_kind() -> None:
    p = pipeline_with(table("t", [(DST, "lpm")], ("to_port",)))
    p.add_entry("t", entry(ir.Wildcard(), port=6))
    assert port_of(p, packet()) == 6


def test_const_entries_match_in_order_and_make_the_table_read_only() -> None:
    const = (entry(ir.Ternary(0x0A000000, 0xFF000000), port=7, priority=1),
             entry(ir.Ternary(0, 0), port=8, priority=1),
             entry(ir.Ternary(0x0A000002, 0xFFFFFFFF), port=9, priority=2))
    t = table("acl", [(DST, "ternary")], ("to_port",), const_entries=const)
    p = pipeline_with(t)
    assert port_of(p, packet()) == 7          # priority 1 twice: the first written wins
    assert port_of(p, packet("11.0.0.1")) == 8
    with pytest.raises(ModelError, match="has constant entries in the program: it is read-only"):
        p.add_entry("acl", entry(ir.Ternary(0, 0), port=9, priority=0))
    p.set_default("acl", ir.ActionCall("to_port", (5,)))  # the default may still change


def test_a_key_on_an_invalid_header_reads_zero() -> None:
    p = pipeline_with(table("t", [(f("tcp", "dst_port", 16), "exact")], ("to_port",)))
    p.add_entry("t", entry(ir.Exact(0), port=5))
    assert port_of(p, packet()) == 5


def test_default_action_and_set_default() -> None:
    t = table("t", [(DST, "exact")], ("to_port", "drop", "send_to_host"),
              default=ir.ActionCall("to_port", (3,)))
    p = pipeline_with(t)
    assert port_of(p, packet()) == 3
    p.set_default("t", ir.ActionCall("send_to_host"))
    assert port_of(p, packet()) == ir.HOST_PORT
    with pytest.raises(ModelError, match="has no action 'nop'"):
        p.set_default("t", ir.ActionCall("nop"))


def test_counters_count_packets_and_ingress_bytes_per_entry_and_misses() -> None:
    t = table("t", [(DST, "exact")], ("to_port", "drop"), counters=True)
    shrink = ir.Assign(f("ipv4", "ttl", 8), c(1, 8))
    p = pipeline_with(t, (ir.Apply("t"), shrink))
    first = p.add_entry("t", entry(ir.Exact(0x0A000002), port=1))
    second = p.add_entry("t", entry(ir.Exact(0x0A000003), port=2))
    assert (first, second) == (0, 1)
    for _ in range(3):
        p.process(0, packet())
    p.process(0, packet(dst="10.9.9.9"))
    size = len(packet())
    assert (p.read_counter("t", 0).packets, p.read_counter("t", 0).bytes) == (3, 3 * size)
    assert (p.read_counter("t", 1).packets, p.read_counter("t", 1).bytes) == (0, 0)
    assert (p.read_counter("t", None).packets, p.read_counter("t", None).bytes) == (1, size)


def test_parser_rejects_are_not_counted() -> None:
    t = table("t", [(DST, "exact")], ("to_port",), counters=True)
    p = pipeline_with(t)
    p.process(0, packet()[:20])
    assert p.read_counter("t", None).packets == 0


def test_hit_miss_and_switch_on_the_action_run() -> None:
    t = table("t", [(DST, "exact")], ("to_port", "drop", "nop"), default=ir.ActionCall("nop"))
    ingress = (
        ir.ApplySwitch("t", (ir.SwitchCase(("to_port",), (ir.Assign(f("ipv4", "ttl", 8),
                                                                    c(11, 8)),)),),
                       (ir.Assign(f("ipv4", "ttl", 8), c(22, 8)), ir.Forward(c(4, 9)))),
        ir.ApplyHit("t", (ir.Assign(f("ipv4", "dscp", 6), c(1, 6)),), (ir.Assign(f("ipv4", "dscp", 6), c(2, 6)),)),
    )
    p = pipeline_with(t, ingress)
    p.add_entry("t", entry(ir.Exact(0x0A000002), port=1))
    hit = Ether(p.process(0, packet())[0][1])[IP]
    assert (hit.ttl, hit.tos >> 2) == (11, 1)
    miss = Ether(p.process(0, packet(dst="10.0.0.7"))[0][1])[IP]
    assert (miss.ttl, miss.tos >> 2) == (22, 2)


def test_table_key_on_metadata() -> None:
    m = meta("vni", 24)
    t = table("t", [(m, "exact")], ("to_port",))
    prog = forward_all(9, tables=(t,), metadata=(ir.MetaField("meta", "vni", 24),))
    prog = ir.Program(**{**prog.__dict__, "ingress": (
        ir.Assign(m, ir.Cast(f("udp", "dst_port", 16), B(24))), ir.Apply("t"))})
    p = Pipeline(prog)
    p.add_entry("t", entry(ir.Exact(80), port=2))
    assert port_of(p, packet()) == 2


@pytest.mark.parametrize(("keys", "bad", "message"), [
    ([(DST, "exact")], entry(ir.Exact(1 << 32)), "too wide for bit<32>"),
    ([(DST, "exact")], entry(ir.Lpm(0, 8)), "is a exact key, got a prefix"),
    ([(DST, "lpm")], entry(ir.Exact(5)), "is a lpm key, got an exact value"),
    ([(DST, "lpm")], entry(ir.Lpm(0, 33)), "prefix length 33 is longer than the key"),
    ([(DST, "ternary")], entry(ir.Ternary(1, 1)), "needs a priority"),
    ([(DST, "ternary")], entry(ir.Ternary(1, 1 << 40), priority=1), "mask .* too wide"),
    ([(DPORT, "range")], entry(ir.Range(9, 3), priority=1), "empty range 9..3"),
    ([(DST, "exact")], entry(ir.Exact(1), priority=3), "take no priority"),
    ([(DST, "exact")], entry(ir.Exact(1), ir.Exact(2)), "has 1 key"),
    ([(DST, "exact")], entry(ir.Exact(1), port=512), r"port=0x200 .* does not fit in bit<9>"),
    ([(DST, "exact")], ir.Entry((ir.Exact(1),), ir.ActionCall("nop")), "has no action 'nop'"),
    ([(DST, "exact")], ir.Entry((ir.Exact(1),), ir.ActionCall("to_port")), "takes 1 argument"),
    ([(DST, "exact")], entry(ir.Wildcard()), "cannot be a wildcard"),
])
def test_bad_entries_raise_clear_errors(keys, bad: ir.Entry, message: str) -> None:
    p = pipeline_with(table("t", keys, ("to_port", "drop")))
    with pytest.raises(ModelError, match=message):
        p.add_entry("t", bad)


def test_duplicate_exact_keys_are_refused() -> None:
    p = pipeline_with(table("t", [(DST, "exact")], ("to_port",)))
    p.add_entry("t", entry(ir.Exact(1)))
    with pytest.raises(ModelError, match="already has an entry with this key"):
        p.add_entry("t", entry(ir.Exact(1), port=2))


def test_identical_ternary_entries_with_one_priority_are_refused() -> None:
    p = pipeline_with(table("t", [(DST, "ternary")], ("to_port",)))
    p.add_entry("t", entry(ir.Ternary(1, 0xFF), priority=1))
    p.add_entry("t", entry(ir.Ternary(1, 0xFF), priority=2))
    with pytest.raises(ModelError, match="already has an entry with this key"):
        p.add_entry("t", entry(ir.Ternary(1, 0xFF), priority=1))


def test_a_full_table_refuses_entries() -> None:
    p = pipeline_with(table("t", [(DST, "exact")], ("to_port",), size=2))
    p.add_entry("t", entry(ir.Exact(1)))
    p.add_entry("t", entry(ir.Exact(2)))
    with pytest.raises(ModelError, match=r"table 't' is full \(2 entries\)"):
        p.add_entry("t", entry(ir.Exact(3)))


def test_unknown_names() -> None:
    p = pipeline_with(table("t", [(DST, "exact")], ("to_port",)))
    with pytest.raises(ModelError, match="unknown table 'nope'"):
        p.add_entry("nope", entry(ir.Exact(1)))
    with pytest.raises(ModelError, match="has no counters"):
        p.read_counter("t", 0)


def test_the_trace_says_what_happened() -> None:
    t = table("t", [(DST, "exact")], ("to_port", "drop"))
    p = pipeline_with(t)
    p.add_entry("t", entry(ir.Exact(0x0A000002), port=4))
    p.trace = []
    p.process(0, packet())
    assert "table t (ipv4.dst=0xa000002): hit entry 0 -> to_port(0x4)" in p.trace
    assert p.trace[-1].startswith("out on port 4, ")
    p.trace = []
    p.process(0, packet()[:20])
    assert p.trace[-1] == ("parser rejects: ipv4 needs 20 bytes at offset 14, the packet has "
                           "20 -> dropped")
    p.trace = []
    p.process(0, packet(dst="1.2.3.4"))
    assert p.trace[-2:] == ["table t (ipv4.dst=0x1020304): miss -> default drop()",
                            "egress port 511 -> dropped"]
