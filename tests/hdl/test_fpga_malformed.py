"""Malformed frames on the RTL under Verilator: 2,000 truncated, runt and oversized frames
mixed at random among good ones, with random idle cycles and backpressure, must neither stall
the pipeline nor corrupt the packets around them. The expected outputs come from the
reference model running the same script."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.executor import SendPacket
from wirespeed.sim.fpga import FpgaExecutor
from wirespeed.sim.reference import ReferenceExecutor
from wirespeed.sim.stf import load_stf

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _good(rng: random.Random) -> bytes:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether

    l4 = TCP(dport=rng.choice([22, 80, 443, 8080])) if rng.random() < 0.5 else \
        UDP(dport=rng.choice([53, 5500, 5001, 33434]))
    src = rng.choice(["10.20.5.5", "198.51.100.7", "192.168.10.20", "203.0.113.9"])
    dst = rng.choice(["192.168.10.10", "192.168.10.20", "192.168.11.20", "8.8.8.53"])
    payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 6, 40, 300])))
    return bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") /
                 IP(src=src, dst=dst) / l4 / payload)


def _malformed(rng: random.Random) -> bytes:
    good = _good(rng)
    kind = rng.randrange(3)
    if kind == 0:  # truncated inside a header
        return good[:rng.randrange(1, min(len(good), 54))]
    if kind == 1:  # a runt that still parses
        return good[:rng.randrange(54, 60)] if len(good) >= 60 else good
    size = rng.choice([1519, 1600, 2048, 2049]) if rng.random() < 0.97 else 9018
    return good + bytes(rng.randrange(256) for _ in range(size - len(good)))


def test_malformed_frames_neither_stall_nor_corrupt() -> None:
    reason = FpgaExecutor.unavailable_reason()
    if reason:
        pytest.skip(reason)

    program = load_program(EXAMPLES / "acl.wire")
    entries = load_stf(program, EXAMPLES / "acl.stf").table_ops
    rng = random.Random(2000)
    sends = []
    bad = 0
    while bad < 2000:
        if rng.random() < 0.5:
            sends.append(SendPacket(rng.randrange(4), _malformed(rng)))
            bad += 1
        else:
            sends.append(SendPacket(rng.randrange(4), _good(rng)))
    ops = [*entries, *sends]
    expected = ReferenceExecutor(program).run_script(ops)
    with FpgaExecutor(program) as fpga:
        got = fpga.run_script(ops)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert wrong == [], f"{len(wrong)} of {len(ops)} results differ, first at op {wrong[0]}"
    forwarded = sum(1 for e in expected[len(entries):] if e)
    assert forwarded > 500  # the good packets really went through
