"""The STF format: parsing against the IR (with file:line errors), p4c-compatible value
forms and the extensions, and the runner's matching of outputs to expect lines."""

import re

import pytest
from hand_ir import c, f, forward_all, meta, table
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from wirespeed.compiler import ir
from wirespeed.sim.executor import AddEntry, ReadCounter, SendPacket, SetDefault
from wirespeed.sim.reference import ReferenceExecutor
from wirespeed.sim.stf import StfError, byte_diff, parse_match, parse_stf, run_stf

DST = f("ipv4", "dst", 32)
DPORT = f("udp", "dst_port", 16)
PROTO = f("ipv4", "protocol", 8)


def program() -> ir.Program:
    """routes (lpm, counters) picks the port; acl (ternary + range) may drop first."""
    routes = table("routes", [(DST, "lpm")], ("to_port", "drop"), counters=True)
    acl = table("acl", [(PROTO, "ternary"), (DPORT, "range")], ("drop", "nop"),
                default=ir.ActionCall("nop"))
    ingress = (
        ir.ApplySwitch("acl", (ir.SwitchCase(("drop",), (ir.Drop(), ir.Return())),), ()),
        ir.Apply("routes"),
    )
    prog = forward_all(1, tables=(routes, acl))
    return ir.Program(**{**prog.__dict__, "ingress": ingress})


def pkt(dst: str = "10.0.0.2", dport: int = 80, ttl: int = 64) -> bytes:
    return bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
                 / IP(src="10.0.0.1", dst=dst, ttl=ttl) / UDP(sport=1, dport=dport) / b"hi")


def run_text(text: str, prog: ir.Program | None = None):
    prog = prog or program()
    test = parse_stf(prog, text, "t.stf")
    with ReferenceExecutor(prog) as executor:
        return run_stf(executor, test)


def test_a_passing_test() -> None:
    text = f"""
    # routes
    add routes ipv4.dst:10.0.0.0/8 to_port(port:3)
    add routes ipv4.dst:0x0a000200/24 to_port(port:4)
    packet 0 {pkt().hex()}
    expect 3 {pkt().hex()}
    packet 1 {pkt("10.0.2.1").hex(" ")}
    expect 4 {pkt("10.0.2.1").hex()}$
    """
    result = run_text(text)
    assert result.passed, result.checks
    assert [c.line for c in result.checks] == [6, 8]


def test_expectations_match_per_port_in_order() -> None:
    text = f"""
    add routes ipv4.dst:10.0.0.0/8 to_port(port:3)
    add routes ipv4.dst:11.0.0.0/8 to_port(port:4)
    packet 0 {pkt("11.0.0.1").hex()}
    packet 0 {pkt("10.0.0.1").hex()}
    packet 0 {pkt("10.0.0.2").hex()}
    expect 3 {pkt("10.0.0.1").hex()}
    expect 3 {pkt("10.0.0.2").hex()}
    expect 4 {pkt("11.0.0.1").hex()}
    """
    assert run_text(text).passed


def test_a_wrong_order_on_one_port_fails_with_a_diff() -> None:
    text = f"""
    add routes ipv4.dst:10.0.0.0/8 to_port(port:3)
    packet 0 {pkt("10.0.0.1").hex()}
    packet 0 {pkt("10.0.0.2").hex()}
    expect 3 {pkt("10.0.0.2").hex()}
    expect 3 {pkt("10.0.0.1").hex()}
    """
    result = run_text(text)
    assert not result.passed
    failure = result.failures[0]
    one, two = pkt("10.0.0.1"), pkt("10.0.0.2")
    differing = [i for i, (a, b) in enumerate(zip(one, two, strict=True)) if a != b]
    assert failure.line == 5 and failure.message == f"differs at byte {differing[0]}"
    rows = [r for r in byte_diff(failure.expected, failure.got) if r[3]]
    assert [r[0] for r in rows] == differing


def test_wildcards_prefix_and_exact_length() -> None:
    data = pkt().hex()
    starred = "*" * 12 + data[12:]
    text = f"""
    add routes ipv4.dst:0x0a******/8 to_port(port:3)
    packet 0 {data}
    expect 3 {starred}
    packet 0 {data}
    expect 3 {data[:40]}
    packet 0 {data}
    expect 3 {data[:40]}$
    """
    result = run_text(text)
    assert [c.passed for c in result.checks] == [True, True, False]
    assert result.failures[0].message == f"length {len(pkt())} bytes, expected exactly 20"


def test_missing_and_unexpected_packets_fail() -> None:
    text = f"""
    add routes ipv4.dst:10.0.0.0/8 to_port(port:3)
    packet 0 {pkt().hex()}
    expect 5 {pkt().hex()}
    """
    result = run_text(text)
    assert [(c.line, c.message) for c in result.failures] == [
        (4, "no packet 1 on port 5"), (None, "unexpected packet on port 3")]


def test_expect_without_data_accepts_anything_on_that_port() -> None:
    text = f"""
    add routes ipv4.dst:10.0.0.0/8 to_port(port:3)
    packet 0 {pkt().hex()}
    packet 0 {pkt().hex()}
    expect 3
    """
    assert run_text(text).passed


def test_no_packet_refers_to_the_packet_before() -> None:
    text = f"""
    add routes ipv4.dst:10.0.0.0/8 to_port(port:3)
    packet 0 {pkt("11.0.0.1").hex()}
    no_packet
    packet 0 {pkt().hex()}
    no_packet
    expect 3 {pkt().hex()}
    """
    result = run_text(text)
    assert [(c.kind, c.passed) for c in result.checks] == [
        ("no_packet", True), ("no_packet", False), ("packet", True)]


def test_ternary_priority_range_and_the_acl_drop() -> None:
    text = f"""
    add routes ipv4.dst:0/0 to_port(port:2)
    add acl 10 ipv4.protocol:0x11 udp.dst_port:1000..2000 drop()
    add acl 5 ipv4.protocol:0x** udp.dst_port:1500..1500 nop()
    packet 0 {pkt(dport=1000).hex()}
    no_packet
    packet 0 {pkt(dport=1500).hex()}
    expect 2 {pkt(dport=1500).hex()}
    packet 0 {pkt(dport=2001).hex()}
    expect 2 {pkt(dport=2001).hex()}
    """
    result = run_text(text)
    assert result.passed, result.failures


def test_check_counter_p4c_syntax_and_entry_ids() -> None:
    size = len(pkt())
    text = f"""
    add routes ipv4.dst:10.0.0.0/8 to_port(port:3) = TEN
    add routes ipv4.dst:11.0.0.0/8 to_port(port:4)
    packet 0 {pkt().hex()}
    packet 0 {pkt().hex()}
    packet 0 {pkt("12.0.0.1").hex()}
    expect 3
    check_counter routes(0) packets == 2
    check_counter routes($TEN) bytes == {2 * size}
    check_counter routes(1)
    check_counter routes(miss) packets == 1
    check_counter routes(0) packets > 2
    """
    result = run_text(text)
    verdicts = [(c.line, c.passed) for c in result.checks if c.kind == "counter"]
    assert verdicts == [(8, True), (9, True), (10, True), (11, True), (12, False)]
    assert result.failures[0].got_text == f"packets=2 bytes={2 * size}"


def test_counters_are_read_where_the_line_is() -> None:
    text = f"""
    add routes ipv4.dst:10.0.0.0/8 to_port(port:3)
    check_counter routes(0) packets == 0
    packet 0 {pkt().hex()}
    expect 3
    check_counter routes(0) packets == 1
    """
    assert run_text(text).passed


def test_setdefault_and_ops() -> None:
    text = f"""
    setdefault routes to_port(port:7)
    packet 0 {pkt().hex()}
    expect 7 {pkt().hex()}
    """
    prog = program()
    test = parse_stf(prog, text, "t.stf")
    assert [type(op) for op in test.ops] == [SetDefault, SendPacket]
    assert run_text(text).passed


def test_ops_carry_resolved_entries() -> None:
    text = """
    add acl 3 ipv4.protocol:0x1* udp.dst_port:80 nop()
    add routes ingress.routes.ipv4.dst:10.1.0.0/16 ingress.to_port(port:0x1ff)
    check_counter routes(0) packets == 0
    """
    test = parse_stf(program(), text)
    assert test.ops == [
        AddEntry("acl", ir.Entry((ir.Ternary(0x10, 0xF0), ir.Range(80, 80)),
                                 ir.ActionCall("nop"), 3)),
        AddEntry("routes", ir.Entry((ir.Lpm(0x0A010000, 16),),
                                    ir.ActionCall("to_port", (511,)))),
        ReadCounter("routes", 0),
    ]


@pytest.mark.parametrize(("kind", "width", "text", "expected"), [
    ("exact", 32, "10.0.0.1", ir.Exact(0x0A000001)),
    ("exact", 48, "02:00:00:00:00:01", ir.Exact(0x020000000001)),
    ("exact", 8, "0b101", ir.Exact(5)),
    ("lpm", 32, "0x0a000000/8", ir.Lpm(0x0A000000, 8)),
    ("lpm", 32, "10.0.0.7", ir.Lpm(0x0A000007, 32)),
    ("lpm", 32, "0x0a0b****", ir.Lpm(0x0A0B0000, 16)),
    ("ternary", 16, "0x**01", ir.Ternary(0x0001, 0x00FF)),
    ("ternary", 32, "0x0101", ir.Ternary(0x0101, 0xFFFF)),  # p4c: the digits written only
    ("ternary", 8, "0b1*0*", ir.Ternary(0b1000, 0b1010)),
    ("ternary", 16, "0x0800&&&0xefff", ir.Ternary(0x0800, 0xEFFF)),
    ("ternary", 16, "2048", ir.Ternary(2048, 0xFFFF)),
    ("ternary", 16, "*", ir.Wildcard()),
    ("range", 16, "1024..65535", ir.Range(1024, 65535)),
    ("range", 16, "22", ir.Range(22, 22)),
])
def test_value_forms(kind: str, width: int, text: str, expected: ir.Match) -> None:
    assert parse_match(text, ir.MatchKind(kind), width) == expected


@pytest.mark.parametrize(("line", "message"), [
    ("add nope ipv4.dst:1/8 drop()", r"unknown table 'nope' \(tables: routes, acl\)"),
    ("add routes ipv4.src:1/8 drop()", r"table 'routes' has no key 'ipv4.src' \(keys: ipv4.dst\)"),
    ("add routes ipv4.dst:1/8 fly()", r"table 'routes' has no action 'fly'"),
    ("add routes ipv4.dst:0x1ffffffff/8 drop()", r"value 0x1ffffffff is too wide for bit<32>"),
    ("add routes ipv4.dst:1/33 drop()", r"prefix length 33 is longer than the key"),
    ("add routes ipv4.dst:1..4 drop()", r"lo..hi is for range keys; this key is lpm"),
    ("add acl ipv4.protocol:0x11 drop()", r"needs a priority"),
    ("add routes 3 ipv4.dst:1/8 drop()", r"take no priority"),
    ("add routes ipv4.dst:1/8 to_port(port:600)", r"port=0x258 does not fit in bit<9>"),
    ("add routes ipv4.dst:1/8 to_port()", r"needs argument 'port'"),
    ("add routes ipv4.dst:1/8 to_port(prt:1)", r"has no parameter 'prt' \(parameters: port\)"),
    ("add routes ipv4.dst:zz/8 drop()", r"bad number 'zz'"),
    ("add routes ipv4.dst:1/8", r"expected: add TABLE"),
    ("packet 0 abc", r"even number of hex digits"),
    ("packet 600 00", r"port 600 does not fit"),
    ("expect 1 0x12", r"hex digits or '\*'"),
    ("expect 1 $", r"'\$' needs packet data"),
    ("check_counter acl(0) packets == 1", r"table 'acl' has no counters"),
    ("check_counter routes(4) packets == 1", r"has no entry 4 yet"),
    ("check_counter routes(X) packets == 1", r"unknown entry 'X'"),
    ("no_packet", r"must follow a packet line"),
    ("frobnicate 1", r"unknown command 'frobnicate'"),
    ("meter m[0] cir:1", r"unknown meter 'm'"),
])
def test_errors_point_at_the_line(line: str, message: str) -> None:
    with pytest.raises(StfError) as info:
        parse_stf(program(), f"# first line\n{line}\n", "bad.stf")
    assert re.fullmatch(r"bad\.stf:2: error: .*" + message + ".*", str(info.value)), \
        str(info.value)


def test_duplicates_and_full_tables_are_found_before_running() -> None:
    text = "add routes ipv4.dst:10.0.0.0/8 drop()\nadd routes ipv4.dst:10.0.0.0/8 drop()\n"
    with pytest.raises(StfError, match=r"t.stf:2: error: .*already has an entry"):
        parse_stf(program(), text, "t.stf")


def _meter_program() -> ir.Program:
    colour = meta("colour", 2)
    ingress = (ir.Forward(c(1, 9)), ir.MeterExecute(colour, "police", c(0, 4)),
               ir.If(ir.BinOp(ir.BinOpKind.EQ, colour, c(2, 2), ir.BOOL), (ir.Drop(),), ()))
    return forward_all(1, ingress=ingress, metadata=(ir.MetaField("meta", "colour", 2),),
                       meters=(ir.Meter("police", ir.MeterUnit.PACKETS, 4),))


def test_meter_extension_configures_before_the_packets() -> None:
    lines = ["meter police[0] cir:1 cburst:1 pir:1 pburst:2"]
    for _ in range(3):
        lines.append(f"packet 0 {pkt().hex()}")
    lines += [f"expect 1 {pkt().hex()}"] * 2 + ["packet 0 " + pkt().hex(), "no_packet"]
    result = run_text("\n".join(lines), _meter_program())
    assert result.passed, result.failures
    with pytest.raises(StfError, match="meter lines must come before the first packet"):
        parse_stf(_meter_program(), "packet 0 00\nmeter police[0] cir:1 cburst:1 pir:1 "
                                    "pburst:1\n")


def _register_program() -> ir.Program:
    count = meta("count", 16)
    index = ir.Cast(f("udp", "dst_port", 16), ir.Bits(16))
    ingress = (ir.Forward(c(1, 9)), ir.RegisterRead(count, "hits", index),
               ir.RegisterWrite("hits", index, ir.BinOp(ir.BinOpKind.ADD, count, c(1, 16),
                                                        ir.Bits(16))))
    return forward_all(1, ingress=ingress, metadata=(ir.MetaField("meta", "count", 16),),
                       registers=(ir.Register("hits", 16, 4),))


def test_check_register_reads_after_the_packets() -> None:
    lines = [f"packet 0 {pkt(dport=2).hex()}"] * 3 + [f"packet 0 {pkt(dport=3).hex()}"]
    lines += ["expect 1", "check_register hits[2] == 3", "check_register hits[3] == 1",
              "check_register hits[0] == 0", "check_register hits[2] > 3"]
    result = run_text("\n".join(lines), _register_program())
    verdicts = [(c.line, c.passed, c.got_text) for c in result.checks if c.kind == "register"]
    assert verdicts == [(6, True, "3"), (7, True, "1"), (8, True, "0"), (9, False, "3")]


@pytest.mark.parametrize(("text", "message"), [
    ("check_register hits[2] == 1\npacket 0 00", "must come after the last packet"),
    ("check_register nope[0] == 1", r"unknown register 'nope' \(registers: hits\)"),
    ("check_register hits[4] == 1", "has 4 cells, no index 4"),
    ("check_register hits[0] == 0x10000", "does not fit in the register's bit<16>"),
    ("check_register hits == 1", r"expected: check_register NAME\[INDEX\] OP VALUE"),
])
def test_check_register_errors(text: str, message: str) -> None:
    with pytest.raises(StfError, match=message):
        parse_stf(_register_program(), text)


def test_format_op_reads_back_to_the_same_op() -> None:
    text = """
    add acl 3 ipv4.protocol:0x1* udp.dst_port:80..90 nop()
    add acl 4 ipv4.protocol:0x06&&&0x0f drop()
    add routes ipv4.dst:10.1.0.0/16 to_port(port:0x1ff)
    add routes ipv4.dst:* to_port(port:2)
    setdefault routes to_port(port:9)
    packet 3 0102030405
    check_counter routes(miss) packets == 0
    """
    prog = program()
    test = parse_stf(prog, text)
    from wirespeed.sim.stf import format_op

    again = parse_stf(prog, "\n".join(format_op(prog, op) for op in test.ops))
    assert again.ops == test.ops


def test_adding_to_a_table_with_constant_entries_is_an_error() -> None:
    const = (ir.Entry((ir.Lpm(0, 0),), ir.ActionCall("to_port", (1,))),)
    routes = table("routes", [(DST, "lpm")], ("to_port",), const_entries=const)
    prog = forward_all(1, tables=(routes,))
    with pytest.raises(StfError, match=r"x.stf:1: error: table 'routes' has constant entries "
                                       r"in the program: it is read-only"):
        parse_stf(prog, "add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n", "x.stf")
