"""The checker accepts what the language allows and names the right code for what it does not.
(The full rendered messages are in tests/diagnostics; these pin down the rules.)"""

from __future__ import annotations

import pytest
from frontend_helpers import PRELUDE
from wirespeed.compiler.frontend import check_source


def codes(body: str) -> list[str]:
    return [d.code for d in check_source(PRELUDE + body, "c.wire")]


@pytest.mark.parametrize("body", [
    # state names may equal header names; select on a header extracted in the same state
    "control ingress { }",
    # untyped constants take their width where used; typed ones keep theirs
    "const P = 80;\nconst W: bit<8> = 3;\ncontrol ingress { if udp.dst_port == P { "
    "meta.a = W; } }",
    # widening is implicit everywhere a value is stored
    "action f(x: bit<32>) { meta.c = x; }\ncontrol ingress { f(ipv4.ttl); forward(meta.a); "
    "meta.c = ipv4.ttl ++ ipv4.ttl; }",
    # shifts: right operand any width; literals on the left take the context's width
    "control ingress { meta.b = 1 << ipv4.ttl; meta.a = ipv4.ttl >> meta.a; }",
    # compound assignment on fields and registers
    "register<bit<8>>[4] r;\ncontrol ingress { meta.a ^= 0xff; r[1] -= meta.a; }",
    # hit/miss, else-if chains, switch with several labels and default
    "table t { key { ipv4.dst: exact; } actions { drop; nop; } }\n"
    "table u { key { meta.a: exact; } actions { nop; } default drop; }\n"
    "control ingress { if u.apply().miss { return; } else if ipv4.valid { "
    "switch t.apply() { drop, nop: { } default: { } } } }",
    # a keyless table runs its default action
    "action go() { forward(1); }\ntable always { actions { go; } default go; }\n"
    "control ingress { always.apply(); }",
    # comparisons of bool casts, slices of slices of fields
    "control ingress { if (bit<1>) ipv4.valid == 1 && ipv4.dst[31:16][15:8] == 10 { drop(); } }",
    # IPv6 and MAC literals
    "metadata { v6: bit<128>; mac: bit<48>; }\ncontrol ingress { meta.v6 = ::1; "
    "meta.mac = aa:bb:cc:dd:ee:ff; meta.v6 = 2001:db8::ff; }",
])
def test_accepted(body: str) -> None:
    assert codes(body) == []


@pytest.mark.parametrize("body, expected", [
    ("control ingress { meta.a = 1; meta.a = meta.b; }", ["E0209"]),
    ("control ingress { meta.b = meta.a + meta.b; }", ["E0201"]),
    ("control ingress { if meta.a == 256 { } }", ["E0202"]),
    ("control ingress { meta.a = ~1 ++ 1; }", ["E0205", "E0205"]),
    ("action a() { return; }\ncontrol ingress { a(); }", ["E0501"]),
    ("action a() { b(); }\naction b() { a(); }\ncontrol ingress { a(); }", ["E0502"]),
    ("control ingress { std.packet_length = 1; }", ["E0211"]),
    ("control ingress { meta.a = ipv4; }", ["E0111"]),
    ("control ingress { meta.a = udp.dst_port[15:8] + 1 + ipv4.ttl; }", []),
    ("control ingress { meta.c = crc32(ipv4.ttl, ipv4.flags); }", ["E0506"]),
    # an entry using a constant with its own error: no second error, no crash (mutation bench)
    ("const HOST: bit<32> = !1;\ntable t { key { ipv4.dst: exact; } actions { drop; }\n"
     "entries { HOST: drop; HOST: drop; } }\ncontrol ingress { t.apply(); }", ["E0203"]),
    ("action a(ipv4: bit<8>, meta: bit<8>) { }\ncontrol ingress { a(1, 2); }",
     ["E0110", "E0110"]),
    ("table t { key { ipv4.dst: exact; } actions { drop; } }\n"
     "control ingress { switch t.apply() { forward: { } } }", ["E0409"]),
    ("table t { key { ipv4.dst: exact; } actions { drop; } }\n"
     "control ingress { if t.apply().hit { } t.apply(); }", ["E0411"]),
])
def test_rejected(body: str, expected: list[str]) -> None:
    assert codes(body) == expected


def test_unused_warnings_only_without_errors() -> None:
    assert codes("action spare() { }\ncontrol ingress { }") == ["W0502"]
    assert codes("action spare() { }\ncontrol ingress { meta.q = 1; }") == ["E0105"]


def test_diagnostics_are_sorted_by_place() -> None:
    diags = check_source(PRELUDE + "control ingress {\n meta.q = 1;\n meta.a = 300;\n}\n"
                         "const X = ipv4.ttl;\n", "c.wire")
    lines = [d.span.line for d in diags]
    assert lines == sorted(lines) and len(lines) == 3
