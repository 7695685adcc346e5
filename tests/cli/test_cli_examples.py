"""The CLI on real .wire programs: the examples check clean and pass their STF tests on the
reference model, and a broken program gives diagnostics and exit 1."""

import subprocess
import sys
from pathlib import Path

import pytest
from wirespeed.compiler import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
WIRESPEED = Path(sys.executable).parent / "wirespeed"
STFS = sorted(p for p in EXAMPLES.glob("*.stf") if p.with_suffix(".wire").is_file())


def test_the_examples_check_clean(capsys) -> None:
    wires = sorted(str(p) for p in EXAMPLES.glob("*.wire"))
    assert wires
    assert cli.main(["check", *wires]) == 0
    assert f"{len(wires)} file(s) checked: no errors" in capsys.readouterr().out


@pytest.mark.parametrize("stf", STFS, ids=[p.stem for p in STFS])
def test_each_example_passes_its_stf_on_the_reference_model(stf: Path, capsys) -> None:
    code = cli.main(["test", str(stf.with_suffix(".wire")), "--stf", str(stf)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reference:" in out and ": PASS in" in out


def test_a_broken_program_gives_diagnostics_and_exit_1(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.wire"
    bad.write_text("import std;\nheaders { ethernet: ethernt; }\n")
    assert cli.main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and "error[" in err and "^" in err
    assert "Traceback" not in err
    assert cli.main(["test", str(bad), "--stf", str(bad)]) == 1
    assert "error[" in capsys.readouterr().err


def test_dump_after_and_list_passes(capsys) -> None:
    assert cli.main(["check", "--list-passes"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert "ipv4_checksums" in names
    assert cli.main(["check", str(EXAMPLES / "acl.wire"), "--dump-after",
                     "ipv4_checksums"]) == 0
    dumped = capsys.readouterr().out
    assert dumped.startswith("(Program :name") and ":checksums (" in dumped
    assert cli.main(["check", str(EXAMPLES / "acl.wire"), "--dump-after", "nope"]) == 1
    assert "error: unknown pass 'nope'" in capsys.readouterr().err


def test_the_console_script_exits_cleanly() -> None:
    ok = subprocess.run([str(WIRESPEED), "check", str(EXAMPLES / "acl.wire")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    usage = subprocess.run([str(WIRESPEED), "frobnicate"], capture_output=True, text=True)
    assert usage.returncode == 2
    assert "error: No such command 'frobnicate'" in usage.stderr
    assert "Traceback" not in usage.stderr
