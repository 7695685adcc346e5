"""The P4 executor runs the P4 text, not the IR: a deliberately wrong P4 program fails the
STF on the P4 executor while the same STF still passes at the IR level (reference model)."""

from __future__ import annotations

import pytest
from p4_helpers import EXAMPLES, example, failures, program_from, run_on
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from wirespeed.compiler import ir
from wirespeed.p4.compile import p4_text
from wirespeed.sim.p4exec import P4Executor
from wirespeed.sim.reference import ReferenceExecutor


def mutate(text: str, old: str, new: str) -> str:
    assert old in text, f"the generated P4 no longer contains {old!r}"
    return text.replace(old, new)


def check_caught(program: ir.Program, stf: str, mutated: str) -> None:
    reference = run_on(ReferenceExecutor(program), program, stf)
    assert reference.passed, failures(reference)
    faithful = run_on(P4Executor(program), program, stf)
    assert faithful.passed, failures(faithful)
    broken = run_on(P4Executor(program, p4_text=mutated), program, stf)
    assert not broken.passed, "the P4 executor did not notice the broken P4 program"


def test_swapped_deparser_order_is_caught() -> None:
    program = example("l4lb")
    text = p4_text(program)
    mutated = mutate(text, "        packet.emit(hdr.ethernet);\n        packet.emit(hdr.tunnel);",
                     "        packet.emit(hdr.tunnel);\n        packet.emit(hdr.ethernet);")
    check_caught(program, (EXAMPLES / "l4lb.stf").read_text(), mutated)


def test_wrong_hash_field_list_is_caught() -> None:
    # Maglev picks the backend from crc32 of the 5-tuple: src and dst swapped pick others.
    program = example("l4lb")
    text = p4_text(program)
    mutated = mutate(text, "                hdr.ipv4.src,\n                hdr.ipv4.dst,",
                     "                hdr.ipv4.dst,\n                hdr.ipv4.src,")
    check_caught(program, (EXAMPLES / "l4lb.stf").read_text(), mutated)


SMALL = """
import std;
headers { ethernet: ethernet; ipv4: ipv4; udp: udp; tcp: tcp; }
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select ipv4.protocol { 17: l4udp; 6: l4tcp; _: accept; } }
  l4udp { extract udp; next accept; }
  l4tcp { extract tcp; next accept; }
}
control ingress { ipv4.identification = udp.dst_port; ipv4.ttl = ipv4.ttl - 1; forward(1); }
"""


def small_stf() -> str:
    tcp = bytes(Ether() / IP(id=7, ttl=5) / TCP())
    out = Ether(tcp)
    out[IP].id = 0  # udp is invalid: its dst_port reads 0
    out[IP].ttl = 4
    del out[IP].chksum
    options = bytes(Ether() / IP(ttl=5, options=[b"\x94\x04\x00\x00"]) / UDP(dport=99))
    out_options = Ether(options)
    out_options[IP].id = 99
    out_options[IP].ttl = 4
    del out_options[IP].chksum
    bad_ihl = bytearray(tcp)
    bad_ihl[14] = 0x43
    return "\n".join([
        f"packet 0 {tcp.hex()}", f"expect 1 {bytes(out).hex()}$",
        f"packet 0 {options.hex()}", f"expect 1 {bytes(out_options).hex()}$",
        f"packet 0 {bytes(bad_ihl).hex()}", "no_packet",
    ]) + "\n"


@pytest.mark.parametrize("old, new", [
    pytest.param("(hdr.udp.isValid() ? hdr.udp.dst_port : 16w0)", "hdr.udp.dst_port",
                 id="unguarded-read-of-invalid-header"),
    pytest.param("              hdr.ipv4.dst,\n              hdr.ipv4_options.options }",
                 "              hdr.ipv4.dst }", id="checksum-without-options"),
    pytest.param("if (standard_metadata.parser_error != error.NoError)", "if (false)",
                 id="parser-error-not-dropped"),
    pytest.param("((bit<32>)hdr.ipv4.ihl * 32w4 - 32w20) * 32w8",
                 "((bit<32>)hdr.ipv4.ihl * 32w4 - 32w20) * 32w4", id="options-length-in-bytes"),
])
def test_broken_p4_is_caught(old: str, new: str) -> None:
    program = program_from(SMALL, "small")
    check_caught(program, small_stf(), mutate(p4_text(program), old, new))


REJECTING = """
import std;
headers { ethernet: ethernet; }
parser { start { extract ethernet; select ethernet.ethertype { 0x86dd: reject; _: accept; } } }
control ingress { forward(1); }
"""


def test_plain_transition_reject_is_caught() -> None:
    # v1model records no parser error for an explicit `transition reject`, so the packet would
    # go on through ingress and out: the backend must use verify() for .wire's reject.
    program = program_from(REJECTING, "rejecting")
    v6 = bytes(Ether(type=0x86DD)) + bytes(40)
    stf = f"packet 0 {v6.hex()}\nno_packet\n"
    mutated = mutate(p4_text(program), "        verify(false, error.WireReject);\n"
                     "        transition accept;", "        transition reject;")
    check_caught(program, stf, mutated)
