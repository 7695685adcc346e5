"""The whole language tour compiles, and a broken program gives diagnostics, not a traceback."""

from pathlib import Path

import pytest
from wirespeed.compiler import ir
from wirespeed.compiler.frontend import CompileError, compile_source, load_program

HERE = Path(__file__).parent


def test_tour_compiles() -> None:
    program = load_program(HERE / "tour.wire")
    assert program.name == "tour"
    assert [h.name for h in program.headers] == [
        "ethernet", "ipv4", "udp", "vxlan", "inner_ethernet"]
    assert program.checksums == ("ipv4",)
    assert program.start.name == "start"
    assert {a.name for a in program.actions} == {"to_port", "set_vni", "drop"}
    assert program.source.startswith("import std;")
    assert any(m.name.startswith("wire_tmp") for m in program.metadata)


def test_errors_are_collected() -> None:
    with pytest.raises(CompileError) as err:
        compile_source("control ingress { meta.x = 1; t.apply(); }", "bad.wire")
    codes = [d.code for d in err.value.diagnostics]
    assert codes == ["E0301", "E0105", "E0108"]
    assert isinstance(err.value.diagnostics[0].span, ir.Span)


def test_missing_file_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    from wirespeed.compiler.frontend import check_files, render

    missing = tmp_path / "nope.wire"
    diags = check_files([str(missing), str(HERE / "features.wire")])
    assert [d.code for d in diags] == ["E0009"]
    assert render(diags[0]) == (f"{missing}: error[E0009]: cannot read `{missing}`: "
                                "No such file or directory")
    with pytest.raises(CompileError):
        load_program(missing)
