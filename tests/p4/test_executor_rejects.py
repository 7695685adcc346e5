"""The P4 executor rejects what it does not know with a clear message, instead of guessing."""

from __future__ import annotations

import dataclasses
import re

import pytest
from p4_helpers import program_from
from wirespeed.compiler import ir
from wirespeed.p4.compile import p4_text
from wirespeed.sim.executor import ExecutorError
from wirespeed.sim.p4exec import P4Executor

SOURCE = """
import std;
headers { ethernet: ethernet; ipv4: ipv4; }
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; next accept; }
}
control ingress { forward(1); }
"""


def altered(old: str, new: str) -> str:
    text = p4_text(program_from(SOURCE, "tiny"))
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("old, new, message", [
    pytest.param("        standard_metadata.egress_spec = 9w1;",
                 "        exit;", r"tiny\.p4:\d+:\d+: the P4 executor does not know this construct",
                 id="exit-statement"),
    pytest.param("struct headers_t {", "header_union u_t { ethernet_t e; }\nstruct headers_t {",
                 r"does not know this construct", id="header-union"),
    pytest.param("control WireIngress(inout headers_t hdr, inout metadata_t meta,\n"
                 "                    inout standard_metadata_t standard_metadata) {",
                 "control WireIngress(inout headers_t hdr, inout metadata_t meta,\n"
                 "                    inout standard_metadata_t standard_metadata) {\n"
                 "    Random<bit<8>>(8w0, 8w7) rng;",
                 r"extern 'Random' is not one this executor knows", id="unknown-extern"),
    pytest.param("        standard_metadata.egress_spec = 9w1;",
                 "        hash(meta, HashAlgorithm.identity, 8w0, { hdr.ethernet.dst }, 16w256);",
                 r"HashAlgorithm\.identity is not known to this executor", id="unknown-hash"),
    pytest.param("        standard_metadata.egress_spec = 9w1;",
                 "        verify_checksum(true, { hdr.ipv4.src }, hdr.ipv4.checksum, "
                 "HashAlgorithm.csum16);",
                 r"verify_checksum\(\) is not a function or action this executor knows",
                 id="unknown-function"),
    pytest.param("        standard_metadata.egress_spec = 9w1;",
                 "        standard_metadata.egress_spec = 8w1;",
                 r"bit<8> where bit<9> is expected", id="width-mismatch"),
    pytest.param("V1Switch(", "PSA_Switch(", r"only the v1model architecture is known",
                 id="other-architecture"),
])
def test_unknown_construct_is_a_clear_error(old: str, new: str, message: str) -> None:
    program = program_from(SOURCE, "tiny")
    text = altered(old, new)
    packet = bytes.fromhex("020000000002" "020000000001" "0800" "45000014000000004011"
                           "0000" "0a000001" "0a000002")
    with pytest.raises(ExecutorError, match=message):
        with P4Executor(program, p4_text=text) as executor:
            executor.send(0, packet)


def test_error_names_the_line_of_the_construct() -> None:
    program = program_from(SOURCE, "tiny")
    text = altered("        standard_metadata.egress_spec = 9w1;", "        exit;")
    line = text.splitlines().index("        exit;") + 1
    with pytest.raises(ExecutorError, match=re.escape(f"tiny.p4:{line}:")):
        P4Executor(program, p4_text=text)


def test_a_table_applied_twice_is_refused_as_p4c_would() -> None:
    source = SOURCE.replace("control ingress { forward(1); }", """
table t { key { ipv4.dst: exact; } actions { nop; } default nop; size 4; }
control ingress { t.apply(); forward(1); }""")
    once = program_from(source, "twice")
    # the front end refuses a second apply; the IR can still hold one
    program = dataclasses.replace(once, ingress=(ir.Apply("t"), *once.ingress))
    text = p4_text(program)
    assert "t_apply2.apply();" in text  # the backend gives each place its own copy
    with pytest.raises(ExecutorError, match=r"applies table t at 2 places"):
        P4Executor(program, p4_text=text.replace("t_apply2.apply();", "t.apply();"))
