"""Broken .wire sources through the real commands: a diagnostic and exit 1 (or, when the
mutant happens to be valid, success), never a traceback, never a hang, and a failed
``compile -o DIR`` leaves no DIR behind.

CI runs 1,000 mutants; ``bench/conformance_long.py`` runs 10,000."""

from __future__ import annotations

from pathlib import Path

import pytest
from wirespeed.sim.conformance.badinput import (
    corpus_sources,
    judge,
    mutate_source,
    random_source,
    run_cli,
)
from wirespeed.sim.conformance.choices import RandomChoices

ROOT = Path(__file__).resolve().parents[2]
CHUNKS = 4
PER_CHUNK = 250


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return corpus_sources(ROOT, generated=20)


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_mutated_sources_give_diagnostics(chunk: int, corpus: list[str],
                                          tmp_path: Path) -> None:
    c = RandomChoices(f"mutants:{chunk}")
    problems: list[str] = []
    errors = 0
    for n in range(PER_CHUNK):
        # one in ten: random token soup rather than a mutant
        source = random_source(c) if n % 10 == 9 else mutate_source(c.choice(corpus), c)
        path = tmp_path / f"mutant{n}.wire"
        path.write_bytes(source.encode("utf-8", "surrogateescape"))
        outcome = run_cli(["check", str(path)], seconds=20)
        errors += outcome.exit_code == 1
        verdict = judge(outcome, may_succeed=True)
        if verdict:
            problems.append(f"{verdict}: {path}\n{outcome.stderr[-800:]}")
            (tmp_path / f"kept{n}.wire").write_text(source)
    assert not problems, f"{len(problems)} bad outcomes; first:\n{problems[0]}"
    assert errors > PER_CHUNK // 2  # the mutations do break most programs


def test_invalid_utf8_and_binary_files(tmp_path: Path) -> None:
    cases = {
        "latin1.wire": "header h { f: bit<8>; } # caf\xe9\n".encode("latin-1"),
        "binary.wire": bytes(range(256)) * 4,
        "empty.wire": b"",
        "nul.wire": b"import std;\x00\n",
        "bom.wire": "\ufeffimport std;\n".encode(),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        outcome = run_cli(["check", str(path)])
        assert judge(outcome) is None, f"{name}: {outcome.stderr}"


@pytest.mark.parametrize("backend", ["ir", "p4", "xdp"])
def test_failed_compile_leaves_no_output(backend: str, corpus: list[str],
                                         tmp_path: Path) -> None:
    c = RandomChoices(f"compile:{backend}")
    failed = 0
    for n in range(40):
        source = mutate_source(c.choice(corpus), c)
        path = tmp_path / f"m{n}.wire"
        path.write_text(source, errors="surrogateescape")
        out = tmp_path / f"out{n}"
        outcome = run_cli(["compile", str(path), "--target", backend, "-o", str(out)])
        assert judge(outcome, may_succeed=True) is None, outcome.stderr
        if outcome.exit_code != 0:
            failed += 1
            assert not out.exists() or not any(out.iterdir()), \
                f"compile failed but left {sorted(p.name for p in out.iterdir())} in {out}"
    assert failed > 20


EXTREME = """import std;
header h {{ f: {W}; }}
headers {{ ethernet: ethernet; x: h; }}
metadata {{ m: {W}; }}
register<{W}>[{N}] r;
meter<packets>[{N}] mt;
const C: {W} = {V};
parser {{ start {{ extract ethernet; select ethernet.ethertype {{ {V}: accept; _: accept; }} }} }}
action a(p: {W}) {{ meta.m = ({W}) {V}; }}
table t {{ key {{ ethernet.ethertype: exact; }} actions {{ a; }} default a({V}); size {N}; }}
control ingress {{ t.apply(); ethernet.dst = ethernet.dst[{N}:0]; }}
"""
HUGE = "1" * 60
EXTREME_CASES = {
    "width 0": dict(W="bit<0>", N=4, V=1),
    "width 129": dict(W="bit<129>", N=4, V=1),
    "width 10^60": dict(W=f"bit<{HUGE}>", N=4, V=1),
    "width -1": dict(W="bit<-1>", N=4, V=1),
    "size 0": dict(W="bit<8>", N=0, V=1),
    "size 10^60": dict(W="bit<8>", N=HUGE, V=1),
    "value of 5000 digits": dict(W="bit<8>", N=4, V="9" * 5000),
    "hex value of 2000 digits": dict(W="bit<8>", N=4, V="0x" + "f" * 2000),
}


@pytest.mark.parametrize("name", list(EXTREME_CASES))
def test_extreme_numbers_in_every_position(name: str, tmp_path: Path) -> None:
    path = tmp_path / "extreme.wire"
    path.write_text(EXTREME.format(**EXTREME_CASES[name]))
    outcome = run_cli(["check", str(path)])
    assert outcome.exit_code == 1
    assert judge(outcome) is None, outcome.stderr[-600:]
