"""The example pipelines: each checks clean, its committed STF is what its scapy generator
writes, and it passes that STF on every target available on this machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from wirespeed.compiler.frontend import Severity, check_files, load_program
from wirespeed.sim.stf import load_stf, run_stf
from wirespeed.sim.targets import TARGETS, open_executor, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NAMES = ["vxlan_decap", "acl", "l4lb", "gateway"]


def test_every_example_is_listed() -> None:
    wire_files = sorted(p.stem for p in EXAMPLES.glob("*.wire"))
    assert wire_files == sorted(NAMES)
    for name in NAMES:
        assert (EXAMPLES / f"{name}.stf").is_file()
        assert (EXAMPLES / "stf" / f"{name}.py").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_example_checks_clean(name: str) -> None:
    diagnostics = check_files([EXAMPLES / f"{name}.wire"])
    assert diagnostics == [], "\n".join(str(d) for d in diagnostics)
    assert not any(d.severity is Severity.ERROR for d in diagnostics)


@pytest.mark.parametrize("name", NAMES)
def test_committed_stf_matches_its_generator(name: str) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "stf" / f"{name}.py"), "--check"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def _target_params() -> list:
    return [pytest.param(target, id=target) for target in TARGETS]


@pytest.mark.parametrize("target", _target_params())
@pytest.mark.parametrize("name", NAMES)
def test_example_passes_its_stf(name: str, target: str) -> None:
    reason = unavailable_reason(target)
    if reason:
        pytest.skip(f"target {target} unavailable: {reason}")
    program = load_program(EXAMPLES / f"{name}.wire")
    test = load_stf(program, EXAMPLES / f"{name}.stf")
    with open_executor(target, program) as executor:
        result = run_stf(executor, test)
    failures = [
        f"line {c.line}: {c.kind} {c.message}"
        + (f" (expected {c.expected}, got {c.got_text or (c.got.hex() if c.got else None)})"
           if c.kind == "counter" else "")
        for c in result.failures
    ]
    assert result.passed, f"{name} on {target}: {len(failures)} failed\n" + "\n".join(
        failures[:20])
    # the test really ran: every packet of the file went through
    assert test.packet_count >= 30


def test_a_stale_stf_is_caught(tmp_path: Path) -> None:
    stale = tmp_path / "acl.stf"
    stale.write_text((EXAMPLES / "acl.stf").read_text().replace("no_packet", "expect 1 00", 1))
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "stf" / "acl.py"), "--check", "--output", str(stale)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 1
    assert f"error: {stale} is stale: run examples/stf/acl.py" in result.stderr


def _expected_packets(name: str) -> list[bytes]:
    lines = (EXAMPLES / f"{name}.stf").read_text().splitlines()
    return [bytes.fromhex(line.split()[2].rstrip("$")) for line in lines
            if line.startswith("expect ")]


@pytest.mark.parametrize("name", NAMES)
def test_every_ipv4_header_that_leaves_is_consistent(name: str) -> None:
    # An independent look at the generators' expectations (scapy dissects them again): every
    # IPv4 header in an expected packet has a correct checksum, and an IP-in-IP header's
    # length covers the packet it carries plus itself.
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether

    headers = 0
    for data in _expected_packets(name):
        layer = Ether(data)
        while layer is not None and layer.name != "NoPayload":
            if isinstance(layer, IP):
                header = bytes(layer)[: layer.ihl * 4]
                total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header), 2))
                while total >> 16:
                    total = (total & 0xFFFF) + (total >> 16)
                assert total == 0xFFFF, f"bad IPv4 checksum in an expected packet: {data.hex()}"
                if layer.proto == 4:
                    assert isinstance(layer.payload, IP)
                    assert layer.len == layer.payload.len + 20
                headers += 1
            layer = layer.payload
    assert headers > 10
