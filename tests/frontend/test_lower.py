"""Lowering: the IR that small programs turn into, compared as s-expression text."""

from __future__ import annotations

from frontend_helpers import compile_program, ingress
from wirespeed.compiler import ir

F8 = "(FieldRef :header ipv4 :field ttl :type bit<8>)"
M8 = "(MetaRef :scope meta :name a :type bit<8>)"
M16 = "(MetaRef :scope meta :name b :type bit<16>)"


def test_literal_takes_the_width_of_the_other_side() -> None:
    assert ingress("meta.a = ipv4.ttl + 1;") == [
        f"(Assign :target {M8} :value (BinOp :op + :left {F8} "
        f":right (Const :value 1 :type bit<8>) :type bit<8>))"
    ]


def test_widening_assignment_gets_an_explicit_cast() -> None:
    assert ingress("meta.b = ipv4.ttl;") == [
        f"(Assign :target {M16} :value (Cast :value {F8} :type bit<16>))"
    ]


def test_cast_to_the_same_width_disappears_and_narrowing_cast_stays() -> None:
    assert ingress("meta.a = (bit<8>) ipv4.ttl;") == [f"(Assign :target {M8} :value {F8})"]
    assert ingress("meta.a = (bit<8>) ipv4.total_len;") == [
        f"(Assign :target {M8} :value (Cast :value (FieldRef :header ipv4 :field total_len "
        f":type bit<16>) :type bit<8>))"
    ]


def test_constants_are_folded_with_their_width() -> None:
    decls = "const BASE = 0x10;\nconst MASK: bit<16> = 0xff00;\n"
    assert ingress("meta.b = MASK + 1;", decls) == [
        f"(Assign :target {M16} :value (Const :value 65281 :type bit<16>))"
    ]
    assert ingress("meta.a = BASE + 1;", decls) == [
        f"(Assign :target {M8} :value (Const :value 17 :type bit<8>))"
    ]
    assert ingress("meta.a = ~0;", decls) == [
        f"(Assign :target {M8} :value (Const :value 255 :type bit<8>))"
    ]


def test_slices_concat_and_shifts() -> None:
    assert ingress("meta.b = ipv4.ttl ++ ipv4.protocol;") == [
        f"(Assign :target {M16} :value (Concat :left {F8} :right (FieldRef :header ipv4 "
        f":field protocol :type bit<8>) :type bit<16>))"
    ]
    assert ingress("meta.a = ipv4.dst[31:24];") == [
        f"(Assign :target {M8} :value (Slice :value (FieldRef :header ipv4 :field dst "
        f":type bit<32>) :hi 31 :lo 24 :type bit<8>))"
    ]
    assert ingress("meta.a = ipv4.ttl << 1;") == [
        f"(Assign :target {M8} :value (BinOp :op << :left {F8} "
        f":right (Const :value 1 :type bit<1>) :type bit<8>))"
    ]


def test_conditions_and_compound_assignment() -> None:
    assert ingress("if ipv4.valid && ipv4.ttl == 0 { drop(); } else { meta.a += 1; }") == [
        f"(If :cond (BinOp :op && :left (IsValid :header ipv4 :type bool) :right (BinOp :op == "
        f":left {F8} :right (Const :value 0 :type bit<8>) :type bool) :type bool) "
        f":then ((Drop)) :otherwise ((Assign :target {M8} :value (BinOp :op + :left {M8} "
        f":right (Const :value 1 :type bit<8>) :type bit<8>))))"
    ]


def test_action_call_is_inlined_with_its_arguments() -> None:
    decls = "action set(v: bit<16>, p: bit<9>) { meta.b = v; forward(p); }\n"
    assert ingress("set(ipv4.ttl, 3);", decls) == [
        f"(Assign :target {M16} :value (Cast :value {F8} :type bit<16>))",
        "(Forward :port (Const :value 3 :type bit<9>))",
    ]


def test_argument_the_action_overwrites_is_copied_in_first() -> None:
    decls = "action swap(v: bit<8>) { ipv4.ttl = 1; meta.a = v; }\n"
    program = compile_program(decls + "control ingress { swap(ipv4.ttl); }\n")
    tmp = "(MetaRef :scope meta :name wire_tmp0 :type bit<8>)"
    assert [ir.sexpr(s) for s in program.ingress] == [
        f"(Assign :target {tmp} :value {F8})",
        f"(Assign :target {F8} :value (Const :value 1 :type bit<8>))",
        f"(Assign :target {M8} :value {tmp})",
    ]
    assert program.metadata[-1] == ir.MetaField("meta", "wire_tmp0", 8)


def test_register_increment_reads_into_a_temporary() -> None:
    decls = "register<bit<32>>[64] hits;\n"
    tmp = "(MetaRef :scope meta :name wire_tmp0 :type bit<32>)"
    idx = "(Slice :value (FieldRef :header ipv4 :field dst :type bit<32>) :hi 5 :lo 0 :type bit<6>)"
    assert ingress("hits[ipv4.dst[5:0]] += 1;", decls) == [
        f"(RegisterRead :target {tmp} :register hits :index {idx})",
        f"(RegisterWrite :register hits :index {idx} :value (BinOp :op + :left {tmp} "
        f":right (Const :value 1 :type bit<32>) :type bit<32>))",
    ]


def test_hash_meter_and_register_read() -> None:
    decls = "register<bit<32>>[4] r;\nmeter<bytes>[4] m;\n"
    out = ingress("meta.c = crc32(ipv4.src, ipv4.dst);\nmeta.c = r[2];\n"
                  "meta.colour = m.execute(1);", decls)
    assert out[0].startswith("(Hash :target (MetaRef :scope meta :name c :type bit<32>) "
                             ":algo crc32 :fields ((FieldRef :header ipv4 :field src")
    assert out[1] == ("(RegisterRead :target (MetaRef :scope meta :name c :type bit<32>) "
                      ":register r :index (Const :value 2 :type bit<2>))")
    assert out[2] == ("(MeterExecute :target (MetaRef :scope meta :name colour :type bit<2>) "
                      ":meter m :index (Const :value 1 :type bit<1>))")


def test_table_entries_are_normalised_per_key_kind() -> None:
    program = compile_program("""
action fwd(p: bit<9>) { forward(p); }
table acl {
  key { ipv4.src: lpm; ipv4.dst: ternary; ipv4.protocol: exact; udp.dst_port: range; }
  actions { fwd; drop; }
  default fwd(7);
  size 16;
  counters;
  entries {
    (10.1.2.3/8, _, 6, 22): drop priority 5;
    (_, 192.168.0.0/16, 17, 1000..2000): fwd(2) priority 1;
    (1.2.3.4, 0x0a000000 &&& 0xff000000, 1, _): drop priority 3;
  }
}
control ingress { acl.apply(); }
""")
    table = program.table("acl")
    assert ir.sexpr(table.const_entries) == (
        "((Entry :matches ((Lpm :value 167772160 :prefix_len 8) (Ternary :value 0 :mask 0) "
        "(Exact :value 6) (Range :lo 22 :hi 22)) :action (ActionCall :action drop) :priority 5) "
        "(Entry :matches ((Lpm :value 0 :prefix_len 0) (Ternary :value 3232235520 "
        ":mask 4294901760) (Exact :value 17) (Range :lo 1000 :hi 2000)) "
        ":action (ActionCall :action fwd :args (2)) :priority 1) "
        "(Entry :matches ((Lpm :value 16909060 :prefix_len 32) (Ternary :value 167772160 "
        ":mask 4278190080) (Exact :value 1) (Range :lo 0 :hi 65535)) "
        ":action (ActionCall :action drop) :priority 3))"
    )
    assert table.default_action == ir.ActionCall("fwd", (7,))
    assert table.actions == ("fwd", "drop") and table.counters and table.size == 16
    assert [a.name for a in program.actions] == ["fwd", "drop"]
    assert ir.sexpr(program.action("drop")) == "(Action :name drop :body ((Drop)))"


def test_exact_table_entries_have_no_priority_and_default_is_nop() -> None:
    program = compile_program("""
table t { key { ipv4.dst: exact; } actions { drop; } entries { 10.0.0.1: drop; } }
control ingress { t.apply(); }
""")
    table = program.table("t")
    assert table.const_entries[0].priority is None
    assert table.default_action == ir.ActionCall("nop")
    assert table.actions == ("drop", "nop")
    assert [a.name for a in program.actions] == ["nop", "drop"]


def test_apply_forms() -> None:
    decls = ("table t { key { ipv4.dst: exact; } actions { drop; nop; } }\n"
             "table u { key { meta.a: exact; } actions { nop; } }\n")
    out = ingress("switch t.apply() { drop: { return; } default: { meta.a = 1; } }\n"
                  "if u.apply().miss { send_to_host(); }", decls)
    assert out == [
        "(ApplySwitch :table t :cases ((SwitchCase :actions (drop) :body ((Return)))) "
        f":default ((Assign :target {M8} :value (Const :value 1 :type bit<8>))))",
        "(ApplyHit :table u :miss ((SendToHost)))",
    ]


def test_parser_states_and_select_lowering() -> None:
    program = compile_program("control ingress { }")
    assert ir.sexpr(program.parser[0]) == (
        "(ParserState :name start :extracts (ethernet) :select_keys ((FieldRef :header ethernet "
        ":field ethertype :type bit<16>)) :cases ((SelectCase :matches ((Exact :value 2048)) "
        ":next_state v4)) :default accept)"
    )
    assert program.state("l4").default == "accept"
    assert [h.name for h in program.headers] == ["ethernet", "ipv4", "udp"]


def test_select_without_catch_all_rejects_and_masks() -> None:
    src = """import std;
headers { ethernet: ethernet; }
parser { start { extract ethernet; select ethernet.ethertype { 0x8100 &&& 0xefff: accept;
  0x0800/12: accept; } } }
control ingress { }
"""
    from wirespeed.compiler.frontend import compile_source
    state = compile_source(src, "sel.wire").start
    assert state.default == "reject"
    assert ir.sexpr(state.cases) == (
        "((SelectCase :matches ((Ternary :value 33024 :mask 61439)) :next_state accept) "
        "(SelectCase :matches ((Ternary :value 2048 :mask 65520)) :next_state accept))"
    )


def test_ipv4_varlen_and_checksum_pass() -> None:
    program = compile_program("control ingress { }", passes=True)
    ipv4 = program.header("ipv4").type
    assert ipv4.varlen == ir.VarLen("options", "ihl", 4, -20, 40)
    assert ipv4.fixed_bytes == 20
    assert program.checksums == ("ipv4",)


def test_user_header_named_ipv4_gets_no_checksum() -> None:
    from wirespeed.compiler.frontend import compile_source
    src = """header ipv4 { a: bit<8>; }
headers { ipv4: ipv4; }
parser { start { extract ipv4; next accept; } }
control ingress { }
"""
    assert compile_source(src, "own.wire").checksums == ()


def test_operator_precedence_and_left_associativity() -> None:
    def shape(e: ir.Expr) -> str:
        match e:
            case ir.BinOp(op, left, right, _):
                return f"({shape(left)} {op} {shape(right)})"
            case ir.Concat(left, right, _):
                return f"({shape(left)} ++ {shape(right)})"
            case ir.MetaRef(_, name, _):
                return name
            case ir.Const(value, _):
                return str(value)
        return "?"

    program = compile_program(
        "control ingress {\n"
        "  if meta.a & 15 == 1 || meta.b > 2 && meta.a ^ 1 | 2 == 0 { drop(); }\n"
        "  meta.b = meta.b - 1 - 2 << 3 + 4;\n"
        "  meta.c = meta.b ++ meta.a ++ meta.a + 1;\n"
        "}\n")
    cond, shift, concat = program.ingress
    assert isinstance(cond, ir.If) and isinstance(shift, ir.Assign)
    assert isinstance(concat, ir.Assign)
    assert shape(cond.cond) == "(((a & 15) == 1) || ((b > 2) && (((a ^ 1) | 2) == 0)))"
    assert shape(shift.value) == "(((b - 1) - 2) << 7)"  # 3 + 4 folded
    assert shape(concat.value) == "((b ++ a) ++ (a + 1))"
