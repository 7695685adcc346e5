"""v1model semantics of the executor that the backend's own output does not reach: a native
`range` key with priorities, and const entries with ranges (P4 text edited by hand)."""

from __future__ import annotations

from p4_helpers import program_from
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from wirespeed.p4.compile import p4_text
from wirespeed.sim.p4exec import V1Machine, parse_p4
from wirespeed.sim.p4exec.machine import KeyMatch

SOURCE = """
import std;
headers { ethernet: ethernet; ipv4: ipv4; udp: udp; }
metadata { dport: bit<16>; }
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select ipv4.protocol { 17: l4; _: accept; } }
  l4 { extract udp; next accept; }
}
action mark(id: bit<16>) { ipv4.identification = id; forward(1); }
table ports {
  key { meta.dport: range; }
  actions { mark; drop; }
  default drop;
  size 16;
}
control ingress { if udp.valid { meta.dport = udp.dst_port; } ports.apply(); }
"""


def native_range_machine(const_entries: str = "") -> V1Machine:
    text = p4_text(program_from(SOURCE, "ports"))
    old = 'meta.dport: ternary @name("meta.dport");'
    assert old in text
    text = text.replace(old, 'meta.dport: range @name("meta.dport");')
    if const_entries:
        text = text.replace("        size = 1024;", "        size = 1024;\n" + const_entries)
    return V1Machine(parse_p4(text, "ports.p4"))


def identification(machine: V1Machine, dport: int) -> int | None:
    out = machine.process(0, bytes(Ether() / IP() / UDP(dport=dport)))
    return Ether(out[0][1])[IP].id if out else None


def test_range_keys_with_priorities() -> None:
    machine = native_range_machine()
    machine.add_entry("ports", (KeyMatch("range", 1000, hi=2000),), "mark", (0x10,), 20)
    machine.add_entry("ports", (KeyMatch("range", 1500, hi=1600),), "mark", (0x20,), 10)
    assert identification(machine, 999) is None          # default: drop
    assert identification(machine, 1000) == 0x10         # bounds are inclusive
    assert identification(machine, 1550) == 0x20         # both match: priority 10 wins
    assert identification(machine, 1601) == 0x10
    assert identification(machine, 2000) == 0x10
    assert identification(machine, 2001) is None


def test_const_entries_with_ranges_first_listed_wins() -> None:
    machine = native_range_machine(
        "        const entries = {\n"
        "            16w100 .. 16w200: mark(16w1);\n"
        "            16w150 .. 16w300: mark(16w2);\n"
        "        }")
    assert identification(machine, 120) == 1
    assert identification(machine, 160) == 1   # listed first
    assert identification(machine, 250) == 2
    assert identification(machine, 301) is None
