"""The campaign machinery (comparison, shrinking, reproducers, the command) proven on a target
with a planted bug, and the reproducer STF proven on the reference model."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import pytest
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.conformance.campaign import run_campaign
from wirespeed.sim.conformance.report import stf_text
from wirespeed.sim.conformance.runner import build_case, reference_run
from wirespeed.sim.executor import Output
from wirespeed.sim.reference import ReferenceExecutor
from wirespeed.sim.stf import load_stf, parse_stf, run_stf


class OddLengthBugExecutor(ReferenceExecutor):
    """The reference model with a planted bug: the last byte of every packet of odd length
    that leaves is flipped."""

    target = "odd_length_bug"

    def send(self, port: int, data: bytes) -> list[Output]:
        outputs = super().send(port, data)
        return [Output(o.port, o.data[:-1] + bytes([o.data[-1] ^ 0xFF]))
                if len(o.data) % 2 else o for o in outputs]


@pytest.fixture
def planted_bug_target(monkeypatch: pytest.MonkeyPatch) -> str:
    from wirespeed.sim import targets

    monkeypatch.setitem(targets.TARGETS, "odd_length_bug", f"{__name__}:OddLengthBugExecutor")
    return "odd_length_bug"


def run_cli(argv: list[str]) -> tuple[int, str]:
    from wirespeed.compiler.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(argv)
    return code, out.getvalue()


def test_a_planted_bug_is_found_shrunk_and_reproduced(planted_bug_target: str,
                                                      tmp_path: Path) -> None:
    result = run_campaign(4, 60, [planted_bug_target], seed="planted", out_dir=tmp_path,
                          shrink_seconds=30, reproducers_per_target=1)
    assert result.differences, "the planted bug went unnoticed"
    assert all(d.target == planted_bug_target for d in result.differences)
    assert len(result.reproducers) == 1
    folder = result.reproducers[0]
    stf = (folder / "test.stf").read_text()
    # shrunk to the one packet that shows the bug, and a smaller program
    assert stf.count("\npacket ") == 1, stf
    original = build_case(f"planted:{folder.name.split('_')[-1].split('-')[0]}", 60)
    source = (folder / "program.wire").read_text()
    assert len(source.splitlines()) < len(original.source.splitlines())
    # the reproducer passes on the reference and fails on the buggy target, via the CLI
    wire, test = str(folder / "program.wire"), str(folder / "test.stf")
    assert run_cli(["test", wire, "--stf", test, "--target", "reference"])[0] == 0
    code, output = run_cli(["test", wire, "--stf", test, "--target", planted_bug_target])
    assert code == 1 and "FAIL" in output
    assert "odd_length_bug" in (folder / "difference.txt").read_text()


def test_reproducer_stf_holds_the_reference_results(tmp_path: Path) -> None:
    checked = 0
    for seed in range(10):
        case = build_case(f"stf:{seed}", 40)
        program = case.compile()
        expected = reference_run(case, program)
        text = stf_text(program, case, expected)
        (tmp_path / "t.stf").write_text(text)
        result = run_stf(ReferenceExecutor(program), load_stf(program, tmp_path / "t.stf"))
        assert result.passed, [c.message for c in result.failures]
        packets = [line for line in text.splitlines() if line.startswith("packet ")]
        assert len(packets) == case.packet_count
        # and it is not vacuous: change the first expected byte and it fails
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("expect ") and len(line.split()) == 3:
                port, data = line.split()[1:3]
                lines[i] = f"expect {port} {'%02x' % (int(data[:2], 16) ^ 1)}{data[2:]}"
                broken = parse_stf(program, "\n".join(lines), "broken.stf")
                assert not run_stf(ReferenceExecutor(program), broken).passed
                checked += 1
                break
    assert checked >= 5, "too few generated cases send any packet out"


def test_conformance_command_against_the_reference_itself(tmp_path: Path) -> None:
    code, output = run_cli(["conformance", "--programs", "3", "--packets", "20", "--targets",
                            "reference", "-o", str(tmp_path / "out")])
    assert code == 0, output
    assert "3 programs, 60 packets" in output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_conformance_command_reports_a_difference(planted_bug_target: str,
                                                  tmp_path: Path) -> None:
    code, output = run_cli(["conformance", "--programs", "2", "--packets", "30", "--targets",
                            planted_bug_target, "--seed", "planted", "--shrink-seconds", "5",
                            "-o", str(tmp_path)])
    assert code == 1, output
    assert "difference(s) on odd_length_bug" in output and "reproducer:" in output
    folders = list(tmp_path.iterdir())
    assert folders and (folders[0] / "test.stf").is_file()
    assert load_program(folders[0] / "program.wire")


class HangingExecutor(ReferenceExecutor):
    """A target that never answers a packet."""

    target = "hanging"

    def send(self, port: int, data: bytes) -> list[Output]:
        while True:
            time.sleep(0.05)


def test_a_hanging_target_is_a_difference_not_a_stuck_campaign(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from wirespeed.sim import targets
    from wirespeed.sim.conformance import runner

    monkeypatch.setitem(targets.TARGETS, "hanging", f"{__name__}:HangingExecutor")
    monkeypatch.setattr(runner, "RUN_SECONDS", 1.0)
    started = time.monotonic()
    result = run_campaign(1, 5, ["hanging"], seed="hang")
    assert time.monotonic() - started < 30
    assert [d.where for d in result.differences] == ["target error"]
    assert result.differences[0].got.startswith("hang: no answer after 1 s")


def test_shrinking_keeps_the_kind_of_difference() -> None:
    from wirespeed.sim.conformance.runner import Difference, signature

    refused = Difference("xdp", "c", "target error", "the script runs",
                         "ExecutorError: the kernel refused 1dd405ee4f.o: Permission denied\nR4")
    other = Difference("xdp", "c", "target error", "the script runs",
                       "ExecutorError: the kernel refused 010f2be02f.o: Invalid argument")
    assert signature(refused) != signature(other)
    assert signature(refused) == signature(Difference(
        "xdp", "d", "target error", "", "ExecutorError: the kernel refused 99aa00ff11.o: "
        "Permission denied"))
    packet = Difference("p4", "c", "op 3 (packet)", "dropped", "port 1: ...")
    runt = Difference("p4", "c", "op 9 (malformed packet (runt))", "dropped", "port 1: ...")
    counter = Difference("p4", "c", "op 12 (counter)", "packets 1, bytes 60", "packets 0")
    assert signature(packet) == signature(runt) != signature(counter)
