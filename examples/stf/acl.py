"""Generate examples/acl.stf: the transparent firewall's packet tests, built with scapy."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_NOP, IPOption_Router_Alert  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Packet  # noqa: E402
from stfwriter import (  # noqa: E402
    JUMBO_FRAME,
    StfFile,
    main,
    masked,
    pad_to,
    payload_of_length,
    port_range,
    prefix,
    set_ihl,
    truncated,
    with_ipv4_field,
)

TITLE = """\
Packet tests of examples/acl.wire (a transparent IPv4 firewall between port pairs 0<->1 and
2<->3). Port 0 faces the outside, port 1 the server network 192.168.10.0/24; 10.20.0.0/16 is
the administrators' network and 203.0.113.0/24 a blocked one. The rules overlap on purpose:
the lowest priority number among the matching rules decides; no match is denied."""

OUTSIDE, INSIDE = 0, 1
OUTSIDE_MAC, INSIDE_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"

WEB = "192.168.10.10"
SERVER = "192.168.10.20"
CLIENT = "198.51.100.7"
ADMIN = "10.20.5.5"
BLOCKED = "203.0.113.9"

ANY_SRC = prefix("0.0.0.0/0")
ANY_DST = masked("0.0.0.0", "0.0.0.0")
ANY_PORT = port_range(0, 65535)

# (id, priority, src, dst, protocol, src ports, dst ports, action)
RULES = [
    ("block_bad_net", 5, prefix("203.0.113.0/24"), ANY_DST, 6, ANY_PORT, ANY_PORT, "deny"),
    ("ssh_admin", 10, prefix("10.20.0.0/16"), masked("192.168.10.0", "255.255.255.0"), 6,
     ANY_PORT, port_range(22, 22), "permit"),
    ("ssh_others", 20, ANY_SRC, ANY_DST, 6, ANY_PORT, port_range(22, 22), "deny"),
    ("web_http", 30, ANY_SRC, masked(WEB, "255.255.255.255"), 6, ANY_PORT, port_range(80, 80),
     "permit"),
    ("web_https", 31, ANY_SRC, masked(WEB, "255.255.255.255"), 6, ANY_PORT,
     port_range(443, 443), "permit"),
    # every host numbered .53 in any subnet is a DNS resolver: a mask no prefix can express
    ("dns_resolvers", 40, ANY_SRC, masked("0.0.0.53", "0.0.0.255"), 17, ANY_PORT,
     port_range(53, 53), "permit"),
    ("media_5500", 45, ANY_SRC, ANY_DST, 17, ANY_PORT, port_range(5500, 5500), "permit"),
    ("udp_5000s", 50, ANY_SRC, ANY_DST, 17, ANY_PORT, port_range(5000, 5999), "deny"),
    ("traceroute", 60, ANY_SRC, ANY_DST, 17, port_range(1024, 65535),
     port_range(33434, 33534), "permit"),
    ("inside_out_tcp", 70, prefix("192.168.10.0/24"), ANY_DST, 6, port_range(1024, 65535),
     ANY_PORT, "permit"),
    ("inside_replies", 71, prefix("192.168.10.0/24"), ANY_DST, 6, port_range(0, 1023),
     ANY_PORT, "permit"),
    ("icmp", 80, ANY_SRC, ANY_DST, 1, ANY_PORT, ANY_PORT, "permit"),
]

_ids = iter(range(1, 1 << 16))


def frame(port: int) -> Ether:
    # the firewall is a bridge: frames keep their MAC addresses
    return (Ether(src=OUTSIDE_MAC, dst=INSIDE_MAC) if port % 2 == 0
            else Ether(src=INSIDE_MAC, dst=OUTSIDE_MAC))


def tcp(src: str, dst: str, sport: int, dport: int, *, port: int = OUTSIDE, payload: int = 0,
        flags: str = "S", ip: dict | None = None) -> Packet:
    return (frame(port) / IP(**({"src": src, "dst": dst, "id": next(_ids)} | (ip or {})))
            / TCP(sport=sport, dport=dport, flags=flags, seq=1) / payload_of_length(payload))


def udp(src: str, dst: str, sport: int, dport: int, *, port: int = OUTSIDE,
        payload: int = 20) -> Packet:
    return (frame(port) / IP(src=src, dst=dst, id=next(_ids))
            / UDP(sport=sport, dport=dport) / payload_of_length(payload))


def build() -> StfFile:
    stf = StfFile(TITLE)
    stf.section("the access list (counted per rule); the bogon table has constant entries")
    for rule_id, priority, src, dst, proto, sports, dports, action in RULES:
        stf.add("acl", [("ipv4.src", src), ("ipv4.dst", dst), ("ipv4.protocol", str(proto)),
                        ("meta.l4_src", sports), ("meta.l4_dst", dports)],
                action, priority=priority, entry_id=rule_id, counted=True)
    stf.track_misses("acl")

    def permitted(port: int, pkt: Packet | bytes, rule: str | None, note: str,
                  out: Packet | bytes | None = None, malformed: bool = False) -> None:
        stf.packet(port, pkt, expect=(port ^ 1, pkt if out is None else out),
                   counts=[("acl", rule)], note=note, malformed=malformed)

    def denied(port: int, pkt: Packet | bytes, rule: str | None, note: str) -> None:
        stf.packet(port, pkt, counts=[("acl", rule)], note=note)

    stf.section("overlapping SSH rules: the administrators' permit beats the general deny")
    permitted(OUTSIDE, tcp(ADMIN, SERVER, 51000, 22), "ssh_admin",
              "admin -> server:22 matches ssh_admin (10) and ssh_others (20): permitted")
    denied(OUTSIDE, tcp(CLIENT, SERVER, 51000, 22), "ssh_others", "anyone else: denied")
    denied(OUTSIDE, tcp(ADMIN, "192.168.11.20", 51000, 22), "ssh_others",
           "admin to a host outside 192.168.10.0/24 (the ternary mask): denied")
    denied(OUTSIDE, tcp(CLIENT, WEB, 51000, 21), None, "port 21: no rule, default deny")
    denied(OUTSIDE, tcp(CLIENT, WEB, 51000, 23), None, "port 23: no rule, default deny")

    stf.section("the web server")
    permitted(OUTSIDE, tcp(CLIENT, WEB, 51001, 80, payload=64, flags="PA"), "web_http",
              "HTTP to the web server")
    permitted(OUTSIDE, tcp(CLIENT, WEB, 51002, 443), "web_https", "HTTPS to the web server")
    denied(OUTSIDE, tcp(CLIENT, "192.168.10.11", 51001, 80), None,
           "HTTP to the host next to it: the dst mask is the whole address")
    denied(OUTSIDE, tcp(BLOCKED, WEB, 51003, 80), "block_bad_net",
           "the blocked network matches web_http too, but its deny has priority 5")
    denied(OUTSIDE, tcp(CLIENT, WEB, 51004, 81), None, "port 81: just past the 80..80 range")
    denied(OUTSIDE, tcp(CLIENT, WEB, 51004, 79), None, "port 79: just before it")

    stf.section("DNS resolvers: any host numbered .53 (a non-prefix ternary mask)")
    permitted(OUTSIDE, udp(CLIENT, "192.168.10.53", 40000, 53), "dns_resolvers",
              "DNS to 192.168.10.53")
    permitted(OUTSIDE, udp(CLIENT, "172.16.99.53", 40001, 53), "dns_resolvers",
              "DNS to 172.16.99.53: another subnet, same last octet")
    permitted(OUTSIDE, udp(BLOCKED, "192.168.10.53", 40002, 53), "dns_resolvers",
              "the blocked network's rule is TCP only (exact protocol 6): its UDP passes")
    denied(OUTSIDE, udp(CLIENT, "192.168.10.54", 40003, 53), None, "DNS to .54: no rule")
    denied(OUTSIDE, tcp(CLIENT, "192.168.10.53", 40004, 53), None,
           "DNS over TCP: the rule is for protocol 17 only")

    stf.section("nested port ranges: 5500 is permitted inside a denied 5000..5999")
    permitted(OUTSIDE, udp(CLIENT, SERVER, 7000, 5500), "media_5500", "UDP 5500")
    denied(OUTSIDE, udp(CLIENT, SERVER, 7000, 5000), "udp_5000s", "UDP 5000, the low bound")
    denied(OUTSIDE, udp(CLIENT, SERVER, 7000, 5999), "udp_5000s", "UDP 5999, the high bound")
    denied(OUTSIDE, udp(CLIENT, SERVER, 7000, 5501), "udp_5000s", "UDP 5501")
    denied(OUTSIDE, udp(CLIENT, SERVER, 7000, 6000), None, "UDP 6000: outside every range")
    denied(OUTSIDE, udp(CLIENT, SERVER, 7000, 4999), None, "UDP 4999")

    stf.section("source port ranges: traceroute probes come from ephemeral ports")
    permitted(OUTSIDE, udp(CLIENT, SERVER, 40000, 33434), "traceroute", "first probe port")
    permitted(OUTSIDE, udp(CLIENT, SERVER, 65535, 33534), "traceroute",
              "last probe port, highest source port")
    denied(OUTSIDE, udp(CLIENT, SERVER, 40000, 33535), None, "one past the probe range")
    denied(OUTSIDE, udp(CLIENT, SERVER, 1023, 33434), None, "a privileged source port")
    permitted(OUTSIDE, udp(CLIENT, SERVER, 1024, 33500), "traceroute", "source port 1024")

    stf.section("from the inside (port 1 -> port 0)")
    permitted(INSIDE, tcp(WEB, CLIENT, 40000, 443, port=INSIDE), "inside_out_tcp",
              "a server opens a connection out")
    permitted(INSIDE, tcp(WEB, CLIENT, 80, 51001, port=INSIDE, flags="SA"), "inside_replies",
              "the web server's reply (source port 80)")
    denied(INSIDE, tcp(WEB, CLIENT, 40001, 22, port=INSIDE), "ssh_others",
           "SSH out is denied too: ssh_others (20) beats inside_out_tcp (70)")
    denied(INSIDE, udp("192.168.10.30", CLIENT, 40000, 123, port=INSIDE), None,
           "NTP out: no UDP rule from the inside")

    stf.section("ICMP and other protocols: no L4 ports, so the port keys see 0")
    ping = frame(OUTSIDE) / IP(src=CLIENT, dst=WEB, id=9) / ICMP(type=8, id=1, seq=1) \
        / payload_of_length(32)
    permitted(OUTSIDE, ping, "icmp", "echo request")
    gre = frame(OUTSIDE) / IP(src=ADMIN, dst=SERVER, proto=47, id=10) / payload_of_length(24)
    denied(OUTSIDE, gre, None, "GRE (protocol 47): no rule")

    stf.section("the second port pair: 2 <-> 3")
    permitted(2, tcp(CLIENT, WEB, 51005, 80, port=2), "web_http", "port 2 -> port 3")
    permitted(3, tcp(WEB, CLIENT, 80, 51005, port=3, flags="SA"), "inside_replies",
              "port 3 -> port 2")

    stf.section("bogon sources: the constant entries drop them before the ACL")
    for src, why in (("127.0.0.1", "loopback"), ("0.0.0.0", "this network"),
                     ("224.0.0.5", "multicast source"), ("239.255.255.250", "multicast"),
                     ("255.255.255.255", "limited broadcast (240/4)"),
                     ("240.0.0.1", "reserved")):
        stf.packet(OUTSIDE, tcp(src, WEB, 51006, 80), note=f"source {src}: {why}")
    permitted(OUTSIDE, tcp("126.255.255.255", WEB, 51007, 80), "web_http",
              "126.255.255.255 is just below 127/8: an ordinary source")
    permitted(OUTSIDE, tcp("223.255.255.255", WEB, 51008, 80), "web_http",
              "223.255.255.255 is just below 224/4")

    stf.section("fragments: only the first one carries the ports")
    first = tcp(CLIENT, WEB, 51009, 80, payload=40, flags="PA", ip={"flags": "MF"})
    permitted(OUTSIDE, first, "web_http", "first fragment (MF, offset 0): matched on its ports")
    later = frame(OUTSIDE) / IP(src=CLIENT, dst=WEB, proto=6, frag=7, id=77) \
        / payload_of_length(40)
    denied(OUTSIDE, later, None, "a later fragment has no ports (0): no rule matches")

    stf.section("not IPv4")
    arp = Ether(src=OUTSIDE_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=OUTSIDE_MAC, psrc="192.168.10.1", pdst=WEB)
    stf.packet(OUTSIDE, arp, expect=(INSIDE, arp),
               note="ARP crosses the bridge unfiltered (42 bytes: a runt, kept as it is)",
               malformed=True)
    arp3 = Ether(src=INSIDE_MAC, dst=OUTSIDE_MAC) / ARP(
        op=2, hwsrc=INSIDE_MAC, psrc=WEB, hwdst=OUTSIDE_MAC, pdst="192.168.10.1")
    arp3 = pad_to(arp3, 60)
    stf.packet(3, arp3, expect=(2, arp3), note="an ARP reply from port 3, padded to 60 bytes")
    v6 = frame(OUTSIDE) / IPv6(src="2001:db8::7", dst="2001:db8:10::10") / TCP(dport=80)
    stf.packet(OUTSIDE, v6, note="IPv6: no rules for it, so it is dropped, not let through")

    stf.section("header variations that are still well formed")
    with_options = tcp(CLIENT, WEB, 51010, 80, ip={"options": [IPOption_Router_Alert()]})
    assert bytes(with_options)[14] == 0x46
    permitted(OUTSIDE, with_options, "web_http",
              "IPv4 options (ihl 6): TCP is found after them; they are carried through")
    long_options = tcp(CLIENT, WEB, 51011, 80,
                       ip={"options": [IPOption_NOP()] * 36 + [IPOption_Router_Alert()]})
    long_options = Ether(bytes(long_options))
    assert long_options[IP].ihl == 15 and len(long_options[IP].options) > 1
    permitted(OUTSIDE, long_options, "web_http", "the longest header: ihl 15, 40 option bytes")
    tcp_options = (frame(OUTSIDE) / IP(src=CLIENT, dst=WEB, id=11)
                   / TCP(sport=51012, dport=443, flags="S",
                         options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)]))
    permitted(OUTSIDE, tcp_options, "web_https", "TCP options ride along as payload")
    good = tcp(CLIENT, WEB, 51013, 80)
    bad_sum = with_ipv4_field(good, 14, lambda h: h[:10] + b"\xbe\xef" + h[12:])
    permitted(OUTSIDE, bad_sum, "web_http",
              "a wrong IPv4 checksum is not checked on arrival, and every IPv4 header that "
              "leaves has a correct one: it comes out repaired", out=good)
    dns_padded = pad_to(udp(CLIENT, "192.168.10.53", 40005, 53, payload=4), 60)
    permitted(OUTSIDE, dns_padded, "dns_resolvers",
              "a short datagram padded to 60 bytes: padding kept")

    stf.section("malformed: cut inside each header, bad IHL, runts, jumbo")
    whole = tcp(CLIENT, WEB, 51014, 80)
    for length, where in ((13, "Ethernet"), (14 + 19, "IPv4"), (34 + 19, "TCP")):
        stf.packet(OUTSIDE, truncated(whole, length), malformed=True,
                   note=f"cut inside the {where} header ({length} bytes): dropped")
    whole_udp = udp(CLIENT, "192.168.10.53", 40006, 53)
    stf.packet(OUTSIDE, truncated(whole_udp, 34 + 7), malformed=True,
               note="cut inside the UDP header (41 bytes): dropped")
    stf.packet(OUTSIDE, with_ipv4_field(whole, 14, set_ihl(4)), malformed=True,
               note="IHL 4: dropped")
    stf.packet(OUTSIDE, with_ipv4_field(whole, 14, set_ihl(0)), malformed=True,
               note="IHL 0: dropped")
    stf.packet(OUTSIDE, with_ipv4_field(whole, 14, set_ihl(15)), malformed=True,
               note="IHL 15 in a 54-byte frame: the options would run past the end: dropped")
    syn = tcp(CLIENT, WEB, 51015, 80)
    assert len(bytes(syn)) == 54
    permitted(OUTSIDE, syn, "web_http", "a 54-byte runt SYN: processed, not padded",
              malformed=True)
    jumbo = udp(CLIENT, "192.168.10.53", 40007, 53, payload=JUMBO_FRAME - 42)
    assert len(bytes(jumbo)) == JUMBO_FRAME
    permitted(OUTSIDE, jumbo, "dns_resolvers", f"a {JUMBO_FRAME}-byte jumbo frame",
              malformed=True)

    stf.section("maintenance window: the operator switches the default to permit")
    stf.setdefault("acl", "permit")
    permitted(OUTSIDE, tcp(CLIENT, WEB, 51016, 8080), None,
              "no rule matches, and the default now permits")
    denied(OUTSIDE, tcp(CLIENT, SERVER, 51017, 22), "ssh_others", "rules still apply")
    stf.check_counters()
    return stf


if __name__ == "__main__":
    sys.exit(main(build, "acl"))
