"""The generators: programs the checker accepts and that cover the language; packets that
follow the parse graph (and malformed ones the parser rejects); entries that hit."""

from __future__ import annotations

import collections

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wirespeed.compiler import ir
from wirespeed.compiler.frontend import compile_source
from wirespeed.sim.conformance.choices import RandomChoices
from wirespeed.sim.conformance.packets import (
    MIN_FRAME,
    malformed_packet,
    well_formed_packet,
)
from wirespeed.sim.conformance.programs import generate_program, programs
from wirespeed.sim.conformance.runner import build_case
from wirespeed.sim.conformance.strategies import entries, packets
from wirespeed.sim.executor import CounterValue, ReadCounter, SendPacket
from wirespeed.sim.reference import ReferenceExecutor


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(programs())
def test_hypothesis_programs_are_accepted_by_the_checker(source: str) -> None:
    program = compile_source(source, "generated.wire")
    assert program.tables and program.parser


def _walk(stmts, seen: collections.Counter) -> None:
    for stmt in stmts:
        seen[type(stmt).__name__] += 1
        match stmt:
            case ir.If(_, then, otherwise):
                _walk(then, seen)
                _walk(otherwise, seen)
            case ir.ApplyHit(_, hit, miss):
                _walk(hit, seen)
                _walk(miss, seen)
            case ir.ApplySwitch(_, cases, default):
                for case in cases:
                    _walk(case.body, seen)
                _walk(default, seen)


def _exprs(node: object, seen: collections.Counter) -> None:
    """Count expression node types anywhere in the IR."""
    if isinstance(node, tuple):
        for item in node:
            _exprs(item, seen)
        return
    if hasattr(node, "__dataclass_fields__"):
        name = type(node).__name__
        if name in ("BinOp", "UnOp"):
            seen[f"{name} {node.op.value}"] += 1
        elif name in ("Slice", "Concat", "Cast", "IsValid"):
            seen[name] += 1
        for f in node.__dataclass_fields__:
            if f not in ("span", "source"):
                _exprs(getattr(node, f), seen)


def test_generated_programs_cover_the_language() -> None:
    seen: collections.Counter = collections.Counter()
    for seed in range(60):
        program = compile_source(generate_program(RandomChoices(f"cover:{seed}")), "g.wire")
        _walk(program.ingress, seen)
        for action in program.actions:
            _walk(action.body, seen)
        _exprs((program.ingress, tuple(a.body for a in program.actions)), seen)
        for table in program.tables:
            seen.update(f"key {k.kind.value}" for k in table.keys)
            seen["counters"] += table.counters
            seen["const entries"] += bool(table.const_entries)
        for state in program.parser:
            seen.update(f"select {type(m).__name__}" for c in state.cases for m in c.matches)
            seen["select tuple"] += len(state.select_keys) > 1
            seen["to reject"] += state.default == ir.REJECT
        seen["varlen"] += any(h.type.varlen for h in program.headers)
        seen["user header"] += any(h.type.name.startswith("user_h") for h in program.headers)
        seen["register"] += bool(program.registers)
        seen["meter"] += bool(program.meters)
    wanted = [
        "Assign", "SetValid", "SetInvalid", "Forward", "Drop", "SendToHost", "Hash",
        "RegisterRead", "RegisterWrite", "MeterExecute", "Apply", "ApplyHit", "ApplySwitch",
        "If", "Return", "key exact", "key lpm", "key ternary", "key range", "counters",
        "const entries", "select Exact", "select Ternary", "select Range", "select tuple",
        "to reject", "varlen", "user header", "register", "meter", "BinOp +", "BinOp -",
        "BinOp &", "BinOp |", "BinOp ^", "BinOp <<", "BinOp >>", "BinOp ==", "BinOp <",
        "BinOp &&", "BinOp ||", "UnOp ~", "UnOp !", "Slice", "Concat", "Cast", "IsValid",
    ]
    missing = [w for w in wanted if not seen[w]]
    assert not missing, f"never generated: {missing}"


def _forward_everything(source: str) -> str:
    """The same parser with a control that forwards every packet the parser accepts."""
    return source[:source.index("control ingress {")] + "control ingress {\n  forward(1);\n}\n"


def test_packets_follow_the_parse_graph_and_malformed_ones_are_rejected() -> None:
    walks = collections.Counter()
    for seed in range(12):
        source = _forward_everything(generate_program(RandomChoices(f"graph:{seed}")))
        program = compile_source(source, "g.wire")
        c = RandomChoices(f"graph:{seed}:packets")
        reference = ReferenceExecutor(program)
        for _ in range(40):
            data, layout = well_formed_packet(program, c)
            assert len(data) >= MIN_FRAME
            passed = bool(reference.send(0, data))
            walks[(layout.accepted, passed)] += 1
        for _ in range(40):
            data, layout, kind = malformed_packet(program, c)
            assert len(data) >= MIN_FRAME
            if kind == "cut_inside_header" and len(data) > MIN_FRAME:
                assert reference.send(0, data) == [], "a header cut short must be rejected"
    # a walk ends where the generator meant it to unless an earlier select arm also matches
    # the values it chose (a mask of 0, an overlapping range): rare
    to_accept = walks[(True, True)] + walks[(True, False)]
    to_reject = walks[(False, True)] + walks[(False, False)]
    assert to_accept > 250 and to_reject > 20, walks
    assert walks[(True, True)] >= 0.9 * to_accept, walks
    assert walks[(False, False)] >= 0.8 * to_reject, walks


def test_ipv4_with_a_bad_ihl_is_dropped() -> None:
    source = ("import std;\nheaders { ethernet: ethernet; ipv4: ipv4; }\n"
              "parser {\n start { extract ethernet; select ethernet.ethertype "
              "{ 0x0800: v4; _: accept; } }\n v4 { extract ipv4; next accept; }\n}\n"
              "table t { key { ipv4.dst: exact; } actions { nop; } }\n"
              "control ingress {\n  forward(1);\n  t.apply();\n}\n")
    program = compile_source(source, "v4.wire")
    reference = ReferenceExecutor(program)
    c = RandomChoices("ihl")
    kinds = collections.Counter()
    for _ in range(300):
        data, layout, kind = malformed_packet(program, c)
        if kind != "bad_varlen":
            continue
        ipv4 = dict((n, v) for n, v, _ in layout.headers).get("ipv4")
        if ipv4 is None:
            continue
        ihl = data[14] & 0x0F if len(data) > 14 else None
        if ihl is not None and ihl < 5:
            kinds["ihl<5"] += 1
            assert reference.send(0, data) == []
    assert kinds["ihl<5"] > 0


def test_entries_hit_the_packets() -> None:
    """Over a few cases, entries matched packets (counters of entries moved)."""
    hits = 0
    for seed in range(15):
        case = build_case(f"hits:{seed}", 80)
        program = case.compile()
        with ReferenceExecutor(program) as reference:
            results = reference.run_script(case.ops)
        for op, result in zip(case.ops, results, strict=True):
            if isinstance(op, ReadCounter) and op.handle is not None:
                assert isinstance(result, CounterValue)
                hits += result.packets
    assert hits > 50, f"entries matched only {hits} packets"


def test_cases_are_reproducible_from_their_seed() -> None:
    a, b = build_case("same:7", 30), build_case("same:7", 30)
    assert a.source == b.source and a.ops == b.ops
    assert build_case("same:8", 30).source != a.source


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_hypothesis_strategies_give_packets_and_entries_the_model_takes(data) -> None:
    program = compile_source(data.draw(programs()), "p.wire")
    ops = data.draw(entries(program))
    sends = [SendPacket(0, data.draw(packets(program))) for _ in range(5)]
    with ReferenceExecutor(program) as reference:
        results = reference.run_script([*ops, *sends])
    assert len(results) == len(ops) + 5
    assert all(isinstance(r, list) for r in results[len(ops):])
    assert all(len(s.data) >= MIN_FRAME for s in sends)
