"""The control-plane layer: range expansion, STF nibble patterns, simple_switch_CLI commands and
the STF rewritten for p4c's runner, and `wirespeed compile --target p4`."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys

import pytest
from p4_helpers import EXAMPLES, example
from wirespeed.p4.compile import compile_program
from wirespeed.p4.controlplane import nibble_patterns, range_to_prefixes
from wirespeed.sim.stf import load_stf


@pytest.mark.parametrize("width", [1, 3, 6])
def test_range_prefixes_cover_exactly_the_range(width: int) -> None:
    top = (1 << width) - 1
    for lo, hi in itertools.combinations_with_replacement(range(top + 1), 2):
        prefixes = range_to_prefixes(lo, hi, width)
        covered = [v for v in range(top + 1)
                   if sum(v & m == p & m for p, m in prefixes) > 0]
        assert covered == list(range(lo, hi + 1)), (lo, hi, prefixes)
        # disjoint, so one range never matches twice, and never more than 2w-2 (+1) prefixes
        assert all(sum(v & m == p & m for p, m in prefixes) <= 1 for v in range(top + 1))
        assert len(prefixes) <= max(1, 2 * width - 2)


def test_sixteen_bit_port_range_blow_up() -> None:
    assert len(range_to_prefixes(1024, 65535, 16)) == 6
    assert len(range_to_prefixes(1, 65534, 16)) == 30  # the worst case: 2 * 16 - 2


@pytest.mark.parametrize("width", [8, 9, 13])
def test_nibble_patterns_match_exactly_the_ternary(width: int) -> None:
    rng = random.Random(width)
    top = (1 << width) - 1
    for _ in range(20):
        value, mask = rng.randrange(top + 1), rng.randrange(top + 1)
        patterns = nibble_patterns(value, mask, width)
        keys = range(top + 1) if width <= 9 else rng.sample(range(top + 1), 300)
        for key in keys:
            want = key & mask == value & mask
            digits = f"{key:0{(width + 3) // 4}x}"
            got = sum(all(p == "*" or p == d for p, d in zip(pat, digits, strict=True))
                      for pat in patterns)
            assert got == int(want), (value, mask, key, patterns)


def test_compile_writes_p4_cli_commands_and_rewritten_stf(tmp_path) -> None:
    program = example("acl")
    test = load_stf(program, EXAMPLES / "acl.stf")
    written = compile_program(program, tmp_path, test)
    assert [p.name for p in written] == ["acl.p4", "acl.commands.txt", "acl.stf"]
    commands = (tmp_path / "acl.commands.txt").read_text().splitlines()
    adds = [c for c in commands if c.startswith("table_add WireIngress.acl ")]
    assert adds, commands
    # every acl entry carries its priority last; range keys became value&&&mask
    first = adds[0].split()
    assert first[2] in ("WireIngress.permit", "WireIngress.deny")
    assert first[-1].isdigit()
    assert not any("->" in c for c in commands if c.startswith("table_add"))
    stf = (tmp_path / "acl.stf").read_text()
    assert ".." not in stf and "&&&" not in stf  # p4c's runner knows neither
    assert "packet " in stf and "expect " in stf
    acl_adds = [line for line in stf.splitlines() if line.startswith("add acl ")]
    assert len(acl_adds) >= len([op for op in test.table_ops
                                 if getattr(op, "table", "") == "acl"])


def test_wirespeed_compile_cli(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed.compiler.cli", "compile", str(EXAMPLES / "acl.wire"),
         "--target", "p4", "-o", str(tmp_path), "--entries", str(EXAMPLES / "acl.stf")],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "acl.p4").is_file()
    assert (tmp_path / "acl.commands.txt").is_file()
