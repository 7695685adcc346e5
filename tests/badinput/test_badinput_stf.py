"""Broken STF and entry files through `wirespeed test`, `run --entries` and `compile --entries`:
a `file:line: error: ...` (or a test report when the mutant is still a valid test), exit 1,
never a traceback or a hang, and no output file left behind by a failed run or compile.

CI runs 200 broken files per command; ``bench/conformance_long.py`` runs 1,000."""

from __future__ import annotations

from pathlib import Path

import pytest
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.conformance.badinput import STF_BREAKAGE, judge, mutate_stf, run_cli
from wirespeed.sim.conformance.choices import RandomChoices
from wirespeed.sim.conformance.report import stf_text
from wirespeed.sim.conformance.runner import build_case, reference_run
from wirespeed.sim.pcap import PcapPacket, write_pcap

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["acl", "vxlan_decap", "l4lb", "gateway"]


def names_of(program) -> list[str]:
    """Names a mutation may put in the wrong place: tables, keys, actions, params."""
    names = [t.name for t in program.tables] + [a.name for a in program.actions]
    names += [k.name for t in program.tables for k in t.keys]
    names += [p.name for a in program.actions for p in a.params]
    return names + ["packets", "bytes", "miss"]


@pytest.fixture(scope="module")
def subjects(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, list[str]]]:
    """(program path, valid STF text, names): the examples and two generated cases."""
    out = []
    for name in EXAMPLES:
        wire = ROOT / "examples" / f"{name}.wire"
        text = (ROOT / "examples" / f"{name}.stf").read_text()
        # the big examples have hundreds of lines: keep a slice so each run stays quick
        lines = text.splitlines()
        out.append((str(wire), "\n".join(lines[:120]) + "\n", names_of(load_program(wire))))
    folder = tmp_path_factory.mktemp("generated")
    for seed in range(2):
        case = build_case(f"badstf:{seed}", 20)
        program = case.compile()
        wire = folder / f"g{seed}.wire"
        wire.write_text(case.source)
        out.append((str(wire), stf_text(program, case, reference_run(case, program)),
                    names_of(program)))
    return out


def judge_stf(outcome) -> str | None:
    """Exit 0 (still valid), or 1 with an error message or a test report."""
    verdict = judge(outcome, may_succeed=True)
    if verdict == "no error message" and outcome.exit_code == 1 and (
            "packet checks" in outcome.stdout):
        return None  # a valid test that fails: its report was printed
    return verdict


@pytest.mark.parametrize("command", ["test", "run", "compile"])
def test_broken_stf_files(command: str, subjects, tmp_path: Path) -> None:
    c = RandomChoices(f"badstf:{command}")
    pcap = tmp_path / "in.pcap"
    write_pcap(pcap, [PcapPacket(0.0, bytes(range(64)))])
    problems: list[str] = []
    refused = 0
    for n in range(200 if command == "test" else 100):
        wire, text, names = c.choice(subjects)
        bad = tmp_path / f"bad{n}.stf"
        bad.write_text(mutate_stf(text, names, c), errors="surrogateescape")
        out = tmp_path / f"out{n}"
        if command == "test":
            argv = ["test", wire, "--stf", str(bad)]
        elif command == "run":
            argv = ["run", wire, "--pcap", str(pcap), "--out", f"{out}.pcap", "--entries",
                    str(bad)]
        else:
            argv = ["compile", wire, "--target", "ir", "-o", str(out), "--entries", str(bad)]
        outcome = run_cli(argv, seconds=30)
        verdict = judge_stf(outcome)
        if verdict:
            problems.append(f"{verdict}: {' '.join(argv)}\n{outcome.stderr[-600:]}")
        if outcome.exit_code != 0 and "packet checks" not in outcome.stdout:
            refused += 1
            assert not Path(f"{out}.pcap").exists(), "a failed run left its output pcap"
            assert not out.exists() or not any(out.iterdir()), "a failed compile left files"
    assert not problems, f"{len(problems)} bad outcomes; first:\n{problems[0]}"
    assert refused > 30


def test_every_listed_breakage_is_refused_with_a_line_number(subjects, tmp_path: Path) -> None:
    wire, text, names = subjects[0]
    for n, line in enumerate(STF_BREAKAGE):
        bad = tmp_path / f"b{n}.stf"
        bad.write_text(f"{line}\n{text}", errors="surrogateescape")
        outcome = run_cli(["test", wire, "--stf", str(bad)])
        assert outcome.exit_code == 1 and judge_stf(outcome) is None, (line, outcome.stderr)
        assert f"{bad}:1: error: " in outcome.stderr, (line, outcome.stderr)
