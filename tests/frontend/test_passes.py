"""The pass driver and each pass on small programs."""

from __future__ import annotations

import pytest
from frontend_helpers import PRELUDE, compile_program
from wirespeed.compiler import ir
from wirespeed.compiler.frontend import compile_source
from wirespeed.compiler.passes import (
    PASSES,
    dead_code_after_return,
    drop_unreachable_states,
    fold_constants,
    ipv4_checksums,
    list_passes,
    run_passes,
)


def test_list_passes_names_every_pass_in_order_with_a_summary() -> None:
    listed = list_passes()
    assert [name for name, _ in listed] == [p.name for p in PASSES]
    assert "ipv4_checksums" in dict(listed)
    assert all(summary.endswith(".") and "\n" not in summary for _, summary in listed)


def test_dump_after_prints_the_program_once() -> None:
    program = compile_program("control ingress { }")
    dumps: list[str] = []
    run_passes(program, dump_after="fold_constants", dump=dumps.append)
    assert len(dumps) == 1 and dumps[0].startswith("(Program :name unit")
    dumps.clear()
    run_passes(program, dump_after="lower", dump=dumps.append)
    assert "checksums" not in dumps[0]
    with pytest.raises(ValueError, match="unknown pass"):
        run_passes(program, dump_after="nope")


def test_fold_constants_takes_the_branch_of_a_constant_condition() -> None:
    program = compile_program("const DEBUG = 0;\ncontrol ingress {\n"
                              "  if DEBUG == 1 { send_to_host(); } else { drop(); }\n"
                              "  if ipv4.valid && 1 == 1 { meta.a = (bit<8>) 0x1ff; }\n}\n")
    assert [ir.sexpr(s) for s in program.ingress][0].startswith("(If :cond (Const :value 0")
    folded = fold_constants(program)
    assert [ir.sexpr(s) for s in folded.ingress] == [
        "(Drop)",
        "(If :cond (IsValid :header ipv4 :type bool) :then ((Assign :target (MetaRef :scope "
        "meta :name a :type bit<8>) :value (Const :value 255 :type bit<8>))))",
    ]


def test_fold_constants_folds_operators_on_constants() -> None:
    expr = ir.BinOp(ir.BinOpKind.SUB, ir.Const(1, ir.Bits(8)), ir.Const(2, ir.Bits(8)),
                    ir.Bits(8))
    program = compile_program("control ingress { }")
    program = ir.Program(**{**program.__dict__,
                            "ingress": (ir.Assign(ir.MetaRef("meta", "a", ir.Bits(8)), expr),)})
    assert fold_constants(program).ingress[0].value == ir.Const(255, ir.Bits(8))


def test_dead_code_after_return_is_removed() -> None:
    program = compile_program("control ingress { drop(); if ipv4.valid { return; "
                              "meta.a = 1; } return; forward(1); }")
    out = [ir.sexpr(s) for s in dead_code_after_return(program).ingress]
    assert out == ["(Drop)", "(If :cond (IsValid :header ipv4 :type bool) :then ((Return)))",
                   "(Return)"]


def test_unreachable_states_are_dropped_and_start_stays_first() -> None:
    src = PRELUDE.replace("  l4 { extract udp; next accept; }\n",
                          "  l4 { extract udp; next accept; }\n  lost { next l4; }\n")
    program = compile_source(src + "control ingress { }", "u.wire", passes=False)
    assert [s.name for s in program.parser] == ["start", "v4", "l4", "lost"]
    assert [s.name for s in drop_unreachable_states(program).parser] == ["start", "v4", "l4"]


def test_ipv4_checksums_lists_every_std_ipv4_instance_in_deparse_order() -> None:
    src = """import std;
headers { ethernet: ethernet; outer: ipv4; udp: udp; inner: ipv4; }
parser { start { extract ethernet; next accept; } }
control ingress { }
"""
    program = compile_source(src, "c.wire", passes=False)
    assert program.checksums == ()
    assert ipv4_checksums(program).checksums == ("outer", "inner")
