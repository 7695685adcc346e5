"""Generate examples/vxlan_decap.stf: the VTEP's packet tests, every packet built with scapy.

The set-up: port 0 faces the underlay (the fabric's router), tenant ports 1-3 face local
servers. Our VTEP addresses are 10.0.0.1 and 10.0.0.11; the remote VTEP is 10.0.0.2.
Tenant 100 has MACs ...:01:01 on port 1 and ...:01:02 on port 2; tenant 200 reuses
...:01:01 on port 3 (tenants are isolated by VNI) and has a quarantined MAC ...:02:02.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scapy.layers.inet import IP, TCP, UDP, IPOption_Router_Alert  # noqa: E402
from scapy.layers.inet6 import ICMPv6ND_NS, IPv6  # noqa: E402
from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: E402
from scapy.packet import Packet  # noqa: E402
from stfwriter import (  # noqa: E402
    HOST_PORT,
    JUMBO_FRAME,
    StfFile,
    ip_hex,
    mac_hex,
    main,
    pad_to,
    payload_of_length,
    set_ihl,
    truncated,
    vxlan_header,
    with_ipv4_field,
)

TITLE = """\
Packet tests of examples/vxlan_decap.wire (VXLAN tunnel endpoint, receive side).
Port 0 faces the underlay; tenant ports 1-3 face local servers. Our VTEP addresses are
10.0.0.1 and 10.0.0.11. Tenant (VNI) 100 has MAC 02:..:01:01 on port 1 and 02:..:01:02 on
port 2; tenant 200 has another 02:..:01:01 on port 3 and a quarantined 02:..:02:02."""

UPLINK = 0
NIC_MAC = "02:aa:00:00:00:01"
ROUTER_MAC = "02:aa:00:00:00:fe"
OUR_VTEP = "10.0.0.1"
OUR_ANYCAST_VTEP = "10.0.0.11"
REMOTE_VTEP = "10.0.0.2"

WEB_A = "02:00:00:00:01:01"   # in tenant 100 on port 1, and (another machine) tenant 200 port 3
WEB_B = "02:00:00:00:01:02"   # tenant 100, port 2
QUARANTINED = "02:00:00:00:02:02"  # tenant 200: explicitly dropped
CLIENT = "02:00:00:00:09:09"  # a tenant machine behind the remote VTEP
UNKNOWN = "02:00:00:00:0f:0f"

# Byte offsets in an untagged VXLAN frame without outer IPv4 options.
OUTER_IP = 14
OUTER_UDP = 34
VXLAN_HDR = 42
INNER_ETH = 50


def tenant_frame(dst: str, *, payload: int = 32, src: str = CLIENT) -> Packet:
    """A tenant's TCP segment, as the inner frame."""
    return (Ether(dst=dst, src=src) / IP(src="172.16.0.9", dst="172.16.0.1", ttl=64, id=7)
            / TCP(sport=40000, dport=80, flags="PA", seq=1000, ack=2000)
            / payload_of_length(payload))


def vxlan(vni: int, inner: Packet | bytes, *, dst: str = OUR_VTEP, flags: int = 0x08,
          outer_ip: dict | None = None, udp_checksum: bool = False, sport: int = 49152
          ) -> Packet:
    """The remote VTEP's encapsulation of ``inner`` (RFC 7348 layout). The outer UDP checksum
    is zero, as VXLAN senders usually leave it, unless ``udp_checksum``."""
    udp = UDP(sport=sport, dport=4789) if udp_checksum else UDP(sport=sport, dport=4789, chksum=0)
    frame = (Ether(dst=NIC_MAC, src=ROUTER_MAC)
             / IP(**({"src": REMOTE_VTEP, "dst": dst, "ttl": 62, "id": 0x1234, "flags": "DF"}
                     | (outer_ip or {})))
             / udp / vxlan_header(vni, flags) / inner)
    return frame


def build() -> StfFile:
    stf = StfFile(TITLE)
    stf.section("tables: our VTEP addresses and where tenant MACs live")
    stf.add("local_vtep", [("ipv4.dst", ip_hex(OUR_VTEP))], "nop")
    stf.add("local_vtep", [("ipv4.dst", ip_hex(OUR_ANYCAST_VTEP))], "nop")
    l2 = [
        ("t100_web_a", 100, WEB_A, "bridge", 1),
        ("t100_web_b", 100, WEB_B, "bridge", 2),
        ("t200_web_a", 200, WEB_A, "bridge", 3),
        ("t200_quarantined", 200, QUARANTINED, "drop", None),
    ]
    for entry_id, vni, mac, action, port in l2:
        stf.add("l2_fwd", [("vxlan.vni", hex(vni)), ("inner_ethernet.dst", mac_hex(mac))],
                action, [("port", port)] if port is not None else [], entry_id=entry_id,
                counted=True)
    stf.track_misses("l2_fwd")

    def decap_to(port: int, inner: Packet | bytes) -> tuple[int, bytes]:
        return port, bytes(inner)

    # ---------------------------------------------------------------- hits
    stf.section("known unicast: decapsulated and bridged by (VNI, inner MAC)")
    inner = tenant_frame(WEB_A)
    stf.packet(UPLINK, vxlan(100, inner), expect=decap_to(1, inner),
               counts=[("l2_fwd", "t100_web_a")],
               note="tenant 100, WEB_A -> port 1; only the tenant's frame leaves")
    inner = tenant_frame(WEB_B, payload=100)
    stf.packet(UPLINK, vxlan(100, inner, sport=50001), expect=decap_to(2, inner),
               counts=[("l2_fwd", "t100_web_b")], note="tenant 100, WEB_B -> port 2")
    inner = tenant_frame(WEB_A, payload=5)
    stf.packet(UPLINK, vxlan(200, inner), expect=decap_to(3, inner),
               counts=[("l2_fwd", "t200_web_a")],
               note="the same MAC in tenant 200 is another machine: port 3, not port 1")
    inner = tenant_frame(WEB_A)
    stf.packet(UPLINK, vxlan(100, inner, dst=OUR_ANYCAST_VTEP), expect=decap_to(1, inner),
               counts=[("l2_fwd", "t100_web_a")], note="our second VTEP address works too")
    inner = tenant_frame(WEB_A)
    stf.packet(UPLINK, vxlan(100, inner, udp_checksum=True), expect=decap_to(1, inner),
               counts=[("l2_fwd", "t100_web_a")],
               note="a sender that fills in the outer UDP checksum (not verified, removed)")
    inner = tenant_frame(WEB_B)
    stf.packet(UPLINK, vxlan(100, inner, flags=0x0C), expect=decap_to(2, inner),
               counts=[("l2_fwd", "t100_web_b")],
               note="reserved flag bits are ignored on receipt (RFC 7348); only I matters")
    inner = (Ether(dst=WEB_A, src=CLIENT) / Dot1Q(vlan=10)
             / IP(src="172.16.0.9", dst="172.16.0.1") / UDP(sport=5000, dport=5001)
             / payload_of_length(20))
    stf.packet(UPLINK, vxlan(100, inner), expect=decap_to(1, inner),
               counts=[("l2_fwd", "t100_web_a")],
               note="the inner frame is carried as is, here with its own 802.1Q tag")
    inner = tenant_frame(WEB_A, payload=0)
    bad_sum = with_ipv4_field(vxlan(100, inner), OUTER_IP,
                              lambda h: h[:10] + b"\xde\xad" + h[12:])
    stf.packet(UPLINK, bad_sum, expect=decap_to(1, inner), counts=[("l2_fwd", "t100_web_a")],
               note="a wrong outer IPv4 checksum is not checked on arrival; the header goes")
    inner = tenant_frame(WEB_B, payload=12)
    opts = vxlan(100, inner, outer_ip={"options": [IPOption_Router_Alert()]})
    assert bytes(opts)[OUTER_IP] == 0x46
    stf.packet(UPLINK, opts, expect=decap_to(2, inner), counts=[("l2_fwd", "t100_web_b")],
               note="outer IPv4 with options (ihl 6): they go with the outer header")
    bare = Ether(dst=WEB_A, src=CLIENT, type=0x88B5)
    stf.packet(UPLINK, vxlan(100, bare), expect=decap_to(1, bare),
               counts=[("l2_fwd", "t100_web_a")],
               note="an inner frame that is only an Ethernet header: 14 bytes leave")

    # ---------------------------------------------------------------- BUM: const entries
    stf.section("broadcast, multicast, link-local: the bum table's constant entries")
    arp = Ether(dst="ff:ff:ff:ff:ff:ff", src=CLIENT) / ARP(
        op=1, hwsrc=CLIENT, psrc="172.16.0.9", pdst="172.16.0.1")
    frame = vxlan(100, arp)
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame),
               note="ARP broadcast: to the host, still encapsulated (it replicates per VNI)")
    nd = (Ether(dst="33:33:ff:00:00:01", src=CLIENT)
          / IPv6(src="fe80::9", dst="ff02::1:ff00:1") / ICMPv6ND_NS(tgt="fe80::1"))
    frame = vxlan(100, nd)
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame), note="IPv6 neighbour solicitation")
    ospf = (Ether(dst="01:00:5e:00:00:05", src=CLIENT)
            / IP(src="172.16.0.9", dst="224.0.0.5", proto=89, ttl=1) / payload_of_length(24))
    frame = vxlan(100, ospf)
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame), note="IPv4 multicast")
    for mac, what in (("01:80:c2:00:00:00", "STP"), ("01:80:c2:00:00:0e", "LLDP"),
                      ("01:80:c2:00:00:02", "LACP")):
        stf.packet(UPLINK, vxlan(100, Ether(dst=mac, src=CLIENT, type=0x88CC)
                                 / payload_of_length(46)),
                   note=f"{what} ({mac}) must not cross a bridge: dropped, although multicast")
    frame = vxlan(100, Ether(dst="01:80:c2:00:00:10", src=CLIENT, type=0x88CC)
                  / payload_of_length(46))
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame),
               note="01:80:c2:00:00:10 is just past the link-local block: plain multicast")

    # ---------------------------------------------------------------- misses
    stf.section("misses: unknown unicast goes to the host, still encapsulated")
    frame = vxlan(100, tenant_frame(UNKNOWN))
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame), counts=[("l2_fwd", None)],
               note="unknown MAC in a known VNI")
    frame = vxlan(300, tenant_frame(WEB_A))
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame), counts=[("l2_fwd", None)],
               note="a known MAC in a VNI we hold nothing for")
    frame = vxlan(200, tenant_frame(WEB_B))
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame), counts=[("l2_fwd", None)],
               note="WEB_B lives in tenant 100 only")
    stf.packet(UPLINK, vxlan(200, tenant_frame(QUARANTINED)),
               counts=[("l2_fwd", "t200_quarantined")],
               note="an entry whose action is drop")

    # ---------------------------------------------------------------- not for the fast path
    stf.section("not VXLAN for us: the host's own traffic, unchanged")
    frame = vxlan(100, tenant_frame(WEB_A), dst="10.0.0.99")
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame),
               note="VXLAN to an address that is not one of our VTEPs")
    frame = (Ether(dst=NIC_MAC, src=ROUTER_MAC) / IP(src="10.0.0.2", dst=OUR_VTEP)
             / UDP(sport=33000, dport=53) / payload_of_length(30))
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame), note="UDP to another port")
    frame = (Ether(dst=NIC_MAC, src=ROUTER_MAC) / IP(src="10.0.0.2", dst=OUR_VTEP)
             / TCP(sport=179, dport=40001, flags="A"))
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame), note="BGP over TCP")
    frame = Ether(dst=NIC_MAC, src=ROUTER_MAC) / IPv6(src="fd00::2", dst="fd00::1") / UDP(
        sport=1, dport=4789)
    stf.packet(UPLINK, frame, expect=(HOST_PORT, frame),
               note="IPv6 underlay: this VTEP terminates IPv4 only")
    first = vxlan(100, tenant_frame(WEB_A), outer_ip={"flags": "MF"})
    stf.packet(UPLINK, first, expect=(HOST_PORT, first),
               note="first fragment of a VXLAN packet (MF set): the host reassembles")
    later = (Ether(dst=NIC_MAC, src=ROUTER_MAC)
             / IP(src=REMOTE_VTEP, dst=OUR_VTEP, proto=17, frag=185) / payload_of_length(40))
    stf.packet(UPLINK, later, expect=(HOST_PORT, later), note="a later fragment")
    frame = vxlan(100, tenant_frame(WEB_A), flags=0x00)
    stf.packet(UPLINK, frame, note="the I flag is clear: no valid VNI, discarded (RFC 7348)")

    # ---------------------------------------------------------------- malformed
    stf.section("malformed: cut inside each header, bad IHL, runts, jumbo")
    whole = vxlan(100, tenant_frame(WEB_A))
    for length, where in ((10, "Ethernet"), (OUTER_IP + 12, "outer IPv4"),
                          (OUTER_UDP + 5, "outer UDP"), (VXLAN_HDR + 6, "VXLAN"),
                          (INNER_ETH + 9, "inner Ethernet")):
        stf.packet(UPLINK, truncated(whole, length), malformed=True,
                   note=f"cut inside the {where} header ({length} bytes): parser reject, drop")
    stf.packet(UPLINK, with_ipv4_field(whole, OUTER_IP, set_ihl(4)), malformed=True,
               note="outer IHL 4 (< 5): dropped")
    stf.packet(UPLINK, with_ipv4_field(truncated(whole, 60), OUTER_IP, set_ihl(15)),
               malformed=True,
               note="outer IHL 15: 40 bytes of options would run past the end: dropped")
    runt = Ether(dst="ff:ff:ff:ff:ff:ff", src=ROUTER_MAC) / ARP(
        op=1, hwsrc=ROUTER_MAC, psrc="10.0.0.254", pdst=OUR_VTEP)
    assert len(bytes(runt)) == 42
    stf.packet(UPLINK, runt, expect=(HOST_PORT, runt), malformed=True,
               note="a 42-byte runt (ARP without padding) is handled like any frame")
    padded = pad_to(runt, 60)
    stf.packet(UPLINK, padded, expect=(HOST_PORT, padded),
               note="the same ARP padded to 60 bytes: the padding is kept")
    inner = tenant_frame(WEB_B, payload=JUMBO_FRAME - 50 - 54)
    jumbo = vxlan(100, inner)
    assert len(bytes(jumbo)) == JUMBO_FRAME
    stf.packet(UPLINK, jumbo, expect=decap_to(2, inner), counts=[("l2_fwd", "t100_web_b")],
               malformed=True, note=f"a {JUMBO_FRAME}-byte jumbo frame from a 9000-MTU fabric")

    # ---------------------------------------------------------------- setdefault
    stf.section("the operator turns off flooding: unknown unicast is now dropped")
    stf.setdefault("l2_fwd", "drop")
    stf.packet(UPLINK, vxlan(100, tenant_frame(UNKNOWN)), counts=[("l2_fwd", None)],
               note="unknown MAC, after setdefault drop")
    inner = tenant_frame(WEB_A)
    stf.packet(UPLINK, vxlan(100, inner), expect=decap_to(1, inner),
               counts=[("l2_fwd", "t100_web_a")], note="known MACs still pass")
    stf.check_counters()
    return stf


if __name__ == "__main__":
    sys.exit(main(build, "vxlan_decap"))
