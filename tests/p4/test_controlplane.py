"""The control-plane layer: range expansion, STF nibble patterns, simple_switch_CLI commands and
the STF rewritten for p4c's runner, and `wirespeed compile --target p4`."""

from __future__ import annotations

import dataclasses
import itertools
import random
import subprocess
import sys

import pytest
from p4_helpers import EXAMPLES, example, failures, program_from, run_on
from wirespeed.compiler import ir
from wirespeed.p4.compile import compile_program
from wirespeed.p4.controlplane import nibble_patterns, range_to_prefixes
from wirespeed.sim.executor import Output
from wirespeed.sim.p4exec import P4Executor
from wirespeed.sim.p4exec.machine import KeyMatch
from wirespeed.sim.reference import ReferenceExecutor
from wirespeed.sim.stf import load_stf, parse_stf


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


RANGES = """
import std;
headers { ethernet: ethernet; ipv4: ipv4; udp: udp; }
metadata { dport: bit<16>; }
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select ipv4.protocol { 17: l4; _: accept; } }
  l4 { extract udp; next accept; }
}
action mark(id: bit<16>) { ipv4.identification = id; forward(1); }
table acl {
  key { ipv4.src: lpm; ipv4.dst: ternary; meta.dport: range; }
  actions { mark; drop; }
  default drop;
  size 1024;
}
control ingress { if udp.valid { meta.dport = udp.dst_port; } acl.apply(); }
"""
RANGE_ENTRIES = [
    "add acl 20 ipv4.src:10.0.0.0/8 ipv4.dst:0xc0a80001&&&0xffff00ff meta.dport:1024..2047 "
    "mark(id:0x1111)",
    "add acl 10 ipv4.src:10.1.0.0/16 ipv4.dst:0xc0a80000&&&0xfffe0000 meta.dport:1000..1600 "
    "mark(id:0x2222)",
    "add acl 5 ipv4.src:10.1.0.0/16 ipv4.dst:0xc0a80000&&&0xffff0000 meta.dport:0..1023 drop()",
]


def range_packets() -> list[tuple[bytes, bytes | None]]:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    cases = []
    for src, dst, dport, ident in [
        ("10.1.2.3", "192.168.7.1", 1500, 0x2222), ("10.1.2.3", "192.169.7.1", 1500, 0x2222),
        ("10.1.2.3", "192.168.7.1", 80, None), ("10.9.9.9", "192.168.7.1", 2000, 0x1111),
        ("10.9.9.9", "192.168.7.2", 2000, None), ("10.1.2.3", "192.168.7.1", 1601, 0x1111),
        ("10.9.9.9", "192.168.7.1", 2048, None), ("11.0.0.1", "192.168.7.1", 1500, None),
    ]:
        sent = bytes(Ether() / IP(src=src, dst=dst) / UDP(sport=9, dport=dport))
        out = None
        if ident is not None:
            packet = Ether(sent)
            packet[IP].id = ident
            del packet[IP].chksum
            out = bytes(packet)
        cases.append((sent, out))
    return cases


def packet_lines() -> list[str]:
    lines = []
    for sent, out in range_packets():
        lines.append(f"packet 0 {sent.hex()}")
        lines.append(f"expect 1 {out.hex()}$" if out else "no_packet")
    return lines


def test_rewritten_stf_means_the_same(tmp_path) -> None:
    program = program_from(RANGES, "ranges")
    test = parse_stf(program, "\n".join(RANGE_ENTRIES + packet_lines()) + "\n", "ranges.stf")
    compile_program(program, tmp_path, test)
    rewritten = (tmp_path / "ranges.stf").read_text()
    assert "&&&" not in rewritten and ".." not in rewritten
    # The rewritten file speaks to the P4 table, whose range key is ternary: read it against
    # that view of the program, on the reference model.
    p4_view = dataclasses.replace(program, tables=tuple(
        dataclasses.replace(t, keys=tuple(
            dataclasses.replace(k, kind=ir.MatchKind.TERNARY) if k.kind is ir.MatchKind.RANGE
            else k for k in t.keys)) for t in program.tables))
    result = run_on(ReferenceExecutor(p4_view), p4_view, rewritten)
    assert result.passed, failures(result)
    assert sum(line.startswith("add acl") for line in rewritten.splitlines()) > 3


class CliReplay:
    """Just enough of simple_switch_CLI to install `table_add` lines into the P4 executor."""

    def __init__(self, executor: P4Executor) -> None:
        self.machine = executor.machine

    def run(self, line: str) -> None:
        words = line.split()
        assert words[0] == "table_add", line
        table, action = words[1].split(".")[-1], words[2].split(".")[-1]
        arrow = words.index("=>")
        keys, rest = words[3:arrow], words[arrow + 1:]
        state = self.machine.table(table)
        matches = []
        for text, kind, width in zip(keys, state.kinds, state.widths, strict=True):
            if "&&&" in text:
                value, mask = (int(x, 16) for x in text.split("&&&"))
                matches.append(KeyMatch("ternary", value & mask, mask))
            elif "/" in text:
                value, plen = text.split("/")
                pmask = ((1 << width) - 1) ^ ((1 << (width - int(plen))) - 1)
                matches.append(KeyMatch("lpm", int(value, 16) & pmask, pmask,
                                        prefix_len=int(plen)))
            else:
                assert kind == "exact", text
                matches.append(KeyMatch("exact", int(text, 16)))
        params = self.machine.ingress.actions[action].params
        args = tuple(int(x, 16) for x in rest[:len(params)])
        priority = int(rest[len(params)]) if state.uses_priority else None
        self.machine.add_entry(table, tuple(matches), action, args, priority)


def test_cli_commands_install_the_same_table(tmp_path) -> None:
    program = program_from(RANGES, "ranges")
    test = parse_stf(program, "\n".join(RANGE_ENTRIES) + "\n", "ranges.stf")
    compile_program(program, tmp_path, test)
    commands = [c for c in (tmp_path / "ranges.commands.txt").read_text().splitlines()
                if c and not c.startswith("#")]
    executor = P4Executor(program)
    replay = CliReplay(executor)
    for command in commands:
        replay.run(command)
    for sent, out in range_packets():
        got = executor.send(0, sent)
        assert got == ([Output(1, out)] if out else []), sent.hex()
