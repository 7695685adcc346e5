"""A 10,000-entry ACL (tuple-space search in the kernel) loads, and every packet gets the same
verdict as from the reference model."""

from __future__ import annotations

import random
import time

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from wirespeed.compiler import ir
from wirespeed.sim.executor import AddEntry, ReadCounter, SendPacket
from wirespeed.sim.xdp import XdpExecutor
from xdp_helpers import needs_kernel, program, run_both

pytestmark = needs_kernel

ACL = """
headers { ethernet: ethernet; ipv4: ipv4; tcp: tcp; udp: udp; }
metadata { dport: bit<16>; }
parser {
  start { extract ethernet; select ethernet.ethertype { 0x0800: v4; _: accept; } }
  v4 { extract ipv4; select ipv4.protocol { 6: t; 17: u; _: accept; } }
  t { extract tcp; next accept; }
  u { extract udp; next accept; }
}
action permit(port: bit<9>) { forward(port); }
action deny() { drop(); }
table acl {
  key { ipv4.src: lpm; ipv4.dst: ternary; ipv4.protocol: exact; meta.dport: range; }
  actions { permit; deny; }
  default deny;
  size 12000;
  counters;
}
control ingress {
  if tcp.valid { meta.dport = tcp.dst_port; }
  if udp.valid { meta.dport = udp.dst_port; }
  acl.apply();
}
"""

ENTRIES = 10_000


def rules(rng: random.Random) -> list[ir.Entry]:
    """Realistic shapes: host and subnet sources, any or a /24 destination, a service port or
    the ephemeral range; priorities overlap on purpose."""
    out = []
    seen = set()
    while len(out) < ENTRIES:
        plen = rng.choice((8, 16, 24, 32, 32))
        src = rng.getrandbits(32) & ~((1 << (32 - plen)) - 1)
        dst, dmask = rng.choice(((0, 0), (0x0A000000 | rng.getrandbits(16) << 8, 0xFFFFFF00)))
        proto = rng.choice((6, 17))
        ports = rng.choice(((22, 22), (53, 53), (80, 80), (443, 443), (1024, 65535),
                            (rng.randrange(1, 60000),) * 2))
        key = (src, plen, dst, dmask, proto, ports)
        if key in seen:
            continue
        seen.add(key)
        action = ir.ActionCall("permit", (rng.randrange(1, 8),)) if rng.random() < 0.6 \
            else ir.ActionCall("deny")
        out.append(ir.Entry((ir.Lpm(src, plen), ir.Ternary(dst, dmask), ir.Exact(proto),
                             ir.Range(*ports)), action, rng.randrange(1, 5000)))
    return out


def packets(rng: random.Random, entries: list[ir.Entry], count: int) -> list[bytes]:
    out = []
    for i in range(count):
        e = entries[rng.randrange(len(entries))]
        src_match, dst_match, proto, ports = e.matches
        assert isinstance(src_match, ir.Lpm) and isinstance(dst_match, ir.Ternary)
        assert isinstance(proto, ir.Exact) and isinstance(ports, ir.Range)
        src = src_match.value | rng.getrandbits(32 - src_match.prefix_len)
        dst = dst_match.value | (rng.getrandbits(32) & ~dst_match.mask & 0xFFFFFFFF)
        if i % 4 == 3:  # some packets that hit nothing in particular
            src, dst = rng.getrandbits(32), rng.getrandbits(32)
        port = rng.randint(ports.lo, ports.hi)
        l4 = TCP(dport=port) if proto.value == 6 else UDP(dport=port)
        out.append(bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / IP(src=_ip(src), dst=_ip(dst)) / l4))
    return out


def _ip(value: int) -> str:
    return ".".join(str(value >> s & 0xFF) for s in (24, 16, 8, 0))


def test_ten_thousand_acl_entries_load_and_match_like_the_model():
    rng = random.Random(10_000)
    prog = program(ACL)
    entries = rules(rng)
    with XdpExecutor(prog) as ex:  # the load itself, timed
        start = time.perf_counter()
        for e in entries:
            ex.add_entry("acl", e)
        seconds = time.perf_counter() - start
    print(f"\n{ENTRIES} ACL entries written into the BPF maps in {seconds:.2f} s")
    assert seconds < 60
    ops = [AddEntry("acl", e) for e in entries]
    ops += [SendPacket(0, p) for p in packets(rng, entries, 60)]
    ops += [ReadCounter("acl", h) for h in range(0, ENTRIES, 997)] + [ReadCounter("acl", None)]
    ref, _ = run_both(prog, ops)
    verdicts = [r for r in ref if isinstance(r, list)]
    assert any(verdicts) and not all(verdicts)  # some permitted, some denied
