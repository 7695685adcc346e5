"""The frontend's tour of the whole language, run packet by packet on the reference model and
on the P4 executor: well-formed, malformed and random packets must leave the same way."""

from __future__ import annotations

import random

from p4_helpers import ROOT
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.p4exec import P4Executor
from wirespeed.sim.reference import ReferenceExecutor


def random_packet(rng: random.Random) -> bytes:
    kind = rng.random()
    payload = Raw(bytes(rng.randrange(256) for _ in range(rng.randrange(40))))
    if kind < 0.4:
        return bytes(Ether() / IP(src=f"10.0.0.{rng.randrange(256)}",
                                  dst=f"192.168.{rng.randrange(3)}.{rng.randrange(256)}")
                     / UDP(sport=rng.randrange(65536),
                           dport=rng.choice([4789, 53, 22, rng.randrange(65536)])) / payload)
    if kind < 0.7:
        return bytes(Ether() / IP(src="10.1.1.1", ttl=rng.randrange(256))
                     / TCP(dport=rng.choice([22, 80, 443])) / payload)
    if kind < 0.85:
        whole = bytes(Ether() / IP() / UDP(dport=4789) / payload)
        return whole[:rng.randrange(1, len(whole))]  # truncated anywhere
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 100)))


def test_tour_behaves_the_same_on_the_p4_executor() -> None:
    program = load_program(ROOT / "tests" / "frontend" / "tour.wire")
    reference, p4 = ReferenceExecutor(program), P4Executor(program)
    rng = random.Random(2026)
    for _ in range(250):
        port, packet = rng.randrange(4), random_packet(rng)
        assert p4.send(port, packet) == reference.send(port, packet), packet.hex()
