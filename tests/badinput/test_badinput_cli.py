"""Bad command lines: every one exits non-zero with an `error: ...` message or a diagnostic,
no traceback, no hang, and leaves no output behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from wirespeed.sim.conformance.badinput import judge, run_cli

ROOT = Path(__file__).resolve().parents[2]
ACL = str(ROOT / "examples" / "acl.wire")
ACL_STF = str(ROOT / "examples" / "acl.stf")
VXLAN_STF = str(ROOT / "examples" / "vxlan_decap.stf")


def bad_command_lines(tmp: Path) -> list[list[str]]:
    garbage = tmp / "garbage.pcap"
    garbage.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(range(40)))
    a_file = tmp / "a_file"
    a_file.write_text("x")
    out = str(tmp / "out")
    return [
        ["nosuchcommand"],
        ["check"],
        ["check", str(tmp / "missing.wire")],
        ["check", str(tmp)],
        ["check", "x" * 5000],
        ["check", "--dump-after", "nosuchpass", ACL],
        ["check", "--no-such-option", ACL],
        ["test", ACL],
        ["test", ACL, "--stf", str(tmp / "missing.stf")],
        ["test", ACL, "--stf", str(tmp)],
        ["test", ACL, "--stf", ACL_STF, "--target", "nope"],
        ["test", ACL, "--stf", ACL_STF, "--target", ""],
        ["test", str(tmp / "missing.wire"), "--stf", ACL_STF],
        ["test", ACL, "--stf", VXLAN_STF],  # a test written for another program
        ["test", ACL, "--stf", ACL],  # a .wire file given as the STF
        ["run", ACL, "--pcap", str(tmp / "missing.pcap"), "--out", f"{out}1.pcap"],
        ["run", ACL, "--pcap", str(garbage), "--out", f"{out}2.pcap"],
        ["run", ACL, "--pcap", ACL_STF, "--out", f"{out}3.pcap"],
        ["run", ACL, "--pcap", str(garbage), "--out", f"{out}4.pcap", "--port", "-1"],
        ["run", ACL, "--pcap", str(garbage), "--out", f"{out}5.pcap", "--port", "999"],
        ["run", ACL, "--pcap", str(garbage), "--out", f"{out}6.pcap", "--port", "abc"],
        ["run", ACL, "--pcap", str(garbage), "--out", f"{out}7.pcap", "--target", "nope"],
        ["run", ACL, "--pcap", str(garbage), "--out", f"{out}8.pcap", "--entries",
         str(tmp / "missing.stf")],
        ["graph", ACL, "-o", str(tmp / "no" / "such" / "dir" / "x.svg")],
        ["graph", ACL, "-o", str(tmp / "x.notaformat")],
        ["graph", str(tmp / "missing.wire"), "-o", str(tmp / "y.svg")],
        ["compile", ACL, "--target", "nope", "-o", f"{out}9"],
        ["compile", ACL, "--target", "ir", "-o", str(a_file / "sub")],
        ["compile", ACL, "--target", "ir", "-o", f"{out}10", "--entries", VXLAN_STF],
        ["compile", ACL, "-o", f"{out}11"],
        ["demo", str(tmp / "missing.wire")],
        ["demo", ACL, "--stf", str(tmp / "missing.stf")],
        ["conformance", "--programs", "-3"],
        ["conformance", "--packets", "x"],
        ["conformance", "--malformed", "2"],
        ["conformance", "--targets", "nope"],
        ["conformance", "--limit", "fpga"],
        ["conformance", "--shrink-seconds", "-1"],
    ]


def test_bad_command_lines_in_process(tmp_path: Path) -> None:
    for argv in bad_command_lines(tmp_path):
        outcome = run_cli(argv)
        assert outcome.exit_code not in (0, 3), (argv, outcome.stderr)
        assert judge(outcome) is None, (argv, judge(outcome), outcome.stderr[-500:])
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out"))
    assert not leftovers, f"failed commands left output: {leftovers}"


@pytest.mark.parametrize("index", [0, 2, 9, 16, 27, 33])
def test_bad_command_lines_as_a_real_process(index: int, tmp_path: Path) -> None:
    argv = bad_command_lines(tmp_path)[index]
    wirespeed = Path(sys.executable).with_name("wirespeed")
    env = {k: v for k, v in os.environ.items() if k != "WIRESPEED_TRACEBACK"}
    done = subprocess.run([str(wirespeed), *argv], capture_output=True, text=True, timeout=60,
                          env=env)
    assert done.returncode not in (0, 3), (argv, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.lstrip().splitlines()[-1].startswith(("error", "Usage")) or \
        "error: " in done.stderr, done.stderr
