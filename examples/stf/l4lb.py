"""Generate examples/l4lb.stf: the Maglev load balancer's packet tests, built with scapy.

Which backend a flow must reach is worked out here from the definition, not from the program:
the bucket is the low 8 bits of zlib's CRC-32 over the 5-tuple as it sits in the packet
(source, destination, protocol, source port, destination port, big-endian), and the Maglev
table that the ``add`` lines install says which backend owns that bucket.
"""

from __future__ import annotations

import ipaddress
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_Router_Alert  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
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
    prefix,
    set_ihl,
    truncated,
    with_ipv4_field,
)
from wirespeed.compiler import maglev  # noqa: E402

TITLE = """\
Packet tests of examples/l4lb.wire (an L4 load balancer: VIP match, Maglev hashing of the
5-tuple, IP-in-IP to the backend). Clients arrive on port 0 from the edge router. VIP
10.10.0.1 serves TCP 80 and 443 (vip id 0, backends 10.1.0.1-3), 10.10.0.2 serves UDP 53
(vip id 1, backends 10.2.0.1, 10.2.0.2 and 10.4.0.9, which has no route), 10.10.0.3 TCP 80
has no backends (vip id 2). Routes: 10.1.0.0/16 via port 1, 10.2.0.0/16 via port 2 and
10.2.0.2/32 on a direct link, port 3."""

EDGE = 0
LB_MAC = "02:1b:00:00:00:01"
EDGE_MAC = "02:ed:00:00:00:01"
ROUTER_A, ROUTER_B, DIRECT_C = "02:0a:00:00:00:01", "02:0b:00:00:00:01", "02:0c:00:00:00:01"
TUNNEL_SRC = {0: "10.200.0.1", 1: "10.200.0.2", 2: "10.200.0.1"}

WEB_VIP, DNS_VIP, EMPTY_VIP = "10.10.0.1", "10.10.0.2", "10.10.0.3"
POOLS = {
    0: ["10.1.0.1", "10.1.0.2", "10.1.0.3"],
    1: ["10.2.0.1", "10.2.0.2", "10.4.0.9"],
}
# (prefix, port, next-hop MAC): the underlay routes to the backends
ROUTES = [
    ("route_backends_a", "10.1.0.0/16", 1, ROUTER_A),
    ("route_backends_b", "10.2.0.0/16", 2, ROUTER_B),
    ("route_direct_c", "10.2.0.2/32", 3, DIRECT_C),
]


def owner_table(vip_id: int) -> list[str]:
    pool = POOLS[vip_id]
    return [pool[i] for i in maglev.populate(pool)]


def five_tuple_bucket(src: str, dst: str, proto: int, sport: int, dport: int) -> int:
    key = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
           + bytes([proto]) + sport.to_bytes(2, "big") + dport.to_bytes(2, "big"))
    return zlib.crc32(key) & 0xFF


def route_for(backend: str) -> tuple[str, int, str] | None:
    """Longest prefix match over ROUTES: (entry id, port, next-hop MAC)."""
    best = None
    for entry_id, net, port, mac in ROUTES:
        network = ipaddress.IPv4Network(net)
        if ipaddress.IPv4Address(backend) in network and (
                best is None or network.prefixlen > best[0]):
            best = (network.prefixlen, entry_id, port, mac)
    return None if best is None else best[1:]


_ids = iter(range(100, 1 << 16))


def client_packet(src: str, dst: str, proto: int, sport: int, dport: int, *,
                  payload: int = 20, ip: dict | None = None) -> Packet:
    fields = {"src": src, "dst": dst, "ttl": 57, "id": next(_ids)} | (ip or {})
    l4 = (TCP(sport=sport, dport=dport, flags="PA", seq=7, ack=9) if proto == 6
          else UDP(sport=sport, dport=dport))
    return Ether(src=EDGE_MAC, dst=LB_MAC) / IP(**fields) / l4 / payload_of_length(payload)


def encapsulated(client: Packet | bytes, backend: str, vip_id: int, next_hop: str) -> bytes:
    """What must leave for ``backend``: the next hop's MACs, a new outer IPv4 header (RFC 2003:
    protocol 4, DF, TTL 64, the client's DSCP/ECN, length = client packet + 20; scapy computes
    its checksum), then the client's IPv4 packet with its TTL one lower and its checksum
    recomputed, then whatever followed it in the frame (Ethernet padding included)."""
    frame = Ether(bytes(client))
    inner = frame[IP]
    inner_len = inner.len
    after_ethernet = bytes(client)[14:]
    inner_header_len = inner.ihl * 4
    lowered = IP(after_ethernet[:inner_header_len])
    lowered.ttl -= 1
    del lowered.chksum
    rest = bytes(lowered) + after_ethernet[inner_header_len:]
    outer = IP(version=4, ihl=5, tos=inner.tos, len=inner_len + 20, id=0, flags="DF", frag=0,
               ttl=64, proto=4, src=TUNNEL_SRC[vip_id], dst=backend)
    return bytes(Ether(src=LB_MAC, dst=next_hop, type=0x0800) / outer) + rest


def build() -> StfFile:
    stf = StfFile(TITLE)
    stf.section("VIP services (counted)")
    vips = [
        ("vip_web_http", WEB_VIP, 6, 80, 0),
        ("vip_web_https", WEB_VIP, 6, 443, 0),
        ("vip_dns", DNS_VIP, 17, 53, 1),
        ("vip_empty", EMPTY_VIP, 6, 80, 2),
    ]
    vip_entry = {}
    for entry_id, address, proto, port, vip_id in vips:
        stf.add("vips", [("ipv4.dst", ip_hex(address)), ("ipv4.protocol", str(proto)),
                         ("meta.l4_dst", str(port))],
                "to_vip", [("vip_id", vip_id), ("tunnel_src", ip_hex(TUNNEL_SRC[vip_id]))],
                entry_id=entry_id, counted=True)
        vip_entry[(address, proto, port)] = (entry_id, vip_id)
    stf.track_misses("vips")
    stf.section("underlay routes to the backends (counted)")
    for entry_id, net, port, mac in ROUTES:
        stf.add("routes", [("tunnel.dst", prefix(net))], "set_next_hop",
                [("port", port), ("src_mac", mac_hex(LB_MAC)), ("dst_mac", mac_hex(mac))],
                entry_id=entry_id, counted=True)
    stf.track_misses("routes")
    for vip_id, pool in POOLS.items():
        stf.section(f"Maglev table of vip id {vip_id} ({', '.join(pool)}), from "
                    f"`python -m wirespeed.compiler.maglev --backends {','.join(pool)} "
                    f"--vip-id {vip_id}`")
        for line in maglev.stf_add_lines(pool, vip_id):
            stf.add_line(line)

    for vip_id in range(4):
        stf.track_register("vip_packets", vip_id)  # 2: no backends, 3: no such VIP
    default_route: tuple[str, int, str] | None = None

    def balanced(client: Packet | bytes, note: str, *, malformed: bool = False,
                 expect_backend: str | None = None) -> str:
        """Send a client packet for a VIP; work out its backend and the packet that must
        leave for it. Returns the backend."""
        frame = Ether(bytes(client))
        ip = frame[IP]
        l4 = frame[TCP] if TCP in frame else frame[UDP]
        entry_id, vip_id = vip_entry[(ip.dst, ip.proto, l4.dport)]
        bucket = five_tuple_bucket(ip.src, ip.dst, ip.proto, l4.sport, l4.dport)
        backend = owner_table(vip_id)[bucket]
        if expect_backend is not None:
            assert backend == expect_backend, (backend, expect_backend)
        route = route_for(backend)
        counts = [("vips", entry_id)]
        # a backend was found: the VIP's packet count goes up, whether or not it is routable
        increments = [("vip_packets", vip_id)]
        text = f"{note}: bucket {bucket:#04x} -> backend {backend}"
        if route is None and default_route is None:
            stf.packet(EDGE, client, counts=[*counts, ("routes", None)], increments=increments,
                       malformed=malformed, note=text + ", which has no route: dropped")
            return backend
        route_id, port, mac = route if route is not None else (None, *default_route[1:])
        stf.packet(EDGE, client, expect=(port, encapsulated(client, backend, vip_id, mac)),
                   counts=[*counts, ("routes", route_id)], increments=increments,
                   malformed=malformed, note=text + f", port {port}")
        return backend

    def to_host(client: Packet | bytes, note: str, counts: list = (), **kw: bool) -> None:
        stf.packet(EDGE, client, expect=(HOST_PORT, client), counts=counts, note=note, **kw)

    stf.section("web VIP: flows spread over the three backends, each flow sticks to one")
    seen: dict[str, int] = {}
    sport = 40000
    clients = ["198.51.100.1", "198.51.100.2", "203.0.113.50", "192.0.2.77"]
    while len(seen) < 3 or sum(seen.values()) < 6:
        client = clients[sport % len(clients)]
        backend = balanced(client_packet(client, WEB_VIP, 6, sport, 80),
                           f"{client}:{sport} -> {WEB_VIP}:80")
        seen[backend] = seen.get(backend, 0) + 1
        if sport == 40000:
            first_backend = backend
        sport += 1
    balanced(client_packet(clients[0], WEB_VIP, 6, 40000, 80, payload=300),
             f"{clients[0]}:40000 again, another segment of the same connection",
             expect_backend=first_backend)
    for sport in (40100, 40101, 40102):
        balanced(client_packet("198.51.100.9", WEB_VIP, 6, sport, 443),
                 f"198.51.100.9:{sport} -> {WEB_VIP}:443 (same pool)")
    balanced(client_packet("198.51.100.9", WEB_VIP, 6, 40100, 443,
                           ip={"tos": 0xB9, "flags": 0}),
             "DSCP EF and ECN ECT(1) (tos 0xb9) are copied out; DF is set on the outer header "
             "even though the client's is clear")

    stf.section("DNS VIP over UDP: the /32 route beats the /16; one backend has no route")
    wanted = set(POOLS[1])
    sport = 53000
    dns_flow_by_backend: dict[str, Packet] = {}
    while wanted:
        pkt = client_packet("198.51.100.3", DNS_VIP, 17, sport, 53)
        bucket = five_tuple_bucket("198.51.100.3", DNS_VIP, 17, sport, 53)
        backend = owner_table(1)[bucket]
        if backend in wanted:
            wanted.discard(backend)
            dns_flow_by_backend[backend] = pkt
            balanced(pkt, f"198.51.100.3:{sport} -> {DNS_VIP}:53")
        sport += 1

    stf.section("a VIP without backends: its Maglev lookup misses and drops")
    stf.packet(EDGE, client_packet("198.51.100.4", EMPTY_VIP, 6, 40200, 80),
               counts=[("vips", "vip_empty")], note="VIP 10.10.0.3:80, empty pool")

    stf.section("not a VIP service: to the host, unchanged")
    to_host(client_packet("198.51.100.4", WEB_VIP, 6, 40201, 22), "the VIP's address, port 22",
            [("vips", None)])
    to_host(client_packet("198.51.100.4", WEB_VIP, 17, 40202, 80),
            "the VIP's address and port, but UDP", [("vips", None)])
    to_host(client_packet("198.51.100.4", DNS_VIP, 6, 40203, 53), "DNS over TCP",
            [("vips", None)])
    to_host(client_packet("198.51.100.4", "10.10.0.9", 6, 40204, 80), "another address",
            [("vips", None)])
    ping = (Ether(src=EDGE_MAC, dst=LB_MAC) / IP(src="198.51.100.4", dst=WEB_VIP, id=5)
            / ICMP(type=8, id=3, seq=1) / payload_of_length(32))
    to_host(ping, "ping to a VIP: no ports, the host answers", [("vips", None)])
    arp = Ether(src=EDGE_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=EDGE_MAC, psrc="10.10.0.254", pdst=WEB_VIP)
    to_host(arp, "ARP for the VIP (a 42-byte runt)", malformed=True)
    v6 = Ether(src=EDGE_MAC, dst=LB_MAC) / IPv6(src="2001:db8::1", dst="2001:db8::10") / TCP(
        dport=80)
    to_host(v6, "IPv6")

    stf.section("TTL: the client's packet is forwarded one hop")
    balanced(client_packet("198.51.100.5", WEB_VIP, 6, 40300, 80, ip={"ttl": 2}),
             "TTL 2 leaves as TTL 1")
    to_host(client_packet("198.51.100.5", WEB_VIP, 6, 40301, 80, ip={"ttl": 1}),
            "TTL 1 would expire: the host sends ICMP time exceeded", [("vips", "vip_web_http")])
    to_host(client_packet("198.51.100.5", WEB_VIP, 6, 40302, 80, ip={"ttl": 0}),
            "TTL 0", [("vips", "vip_web_http")])

    stf.section("fragments cannot be hashed consistently: the host reassembles them")
    to_host(client_packet("198.51.100.6", WEB_VIP, 6, 40400, 80, payload=64,
                          ip={"flags": "MF"}), "first fragment (MF set)")
    later = (Ether(src=EDGE_MAC, dst=LB_MAC)
             / IP(src="198.51.100.6", dst=WEB_VIP, proto=6, frag=9, id=88)
             / payload_of_length(40))
    to_host(later, "a later fragment")

    stf.section("header variations that are still well formed")
    opts = client_packet("198.51.100.8", WEB_VIP, 6, 40500, 80,
                         ip={"options": [IPOption_Router_Alert()]})
    assert bytes(opts)[14] == 0x46
    balanced(opts, "client IPv4 options (ihl 6) stay in the inner header")
    dns_short = pad_to(client_packet("198.51.100.3", DNS_VIP, 17, 53000, 53, payload=2), 60)
    balanced(dns_short, "a 44-byte DNS datagram padded to 60: the padding rides along")

    stf.section("malformed: cut inside each header, bad IHL, runts, jumbo")
    whole_tcp = client_packet("198.51.100.10", WEB_VIP, 6, 40600, 80)
    whole_udp = client_packet("198.51.100.10", DNS_VIP, 17, 40601, 53)
    for pkt, length, where in ((whole_tcp, 12, "Ethernet"), (whole_tcp, 14 + 10, "IPv4"),
                               (whole_tcp, 34 + 12, "TCP"), (whole_udp, 34 + 4, "UDP")):
        stf.packet(EDGE, truncated(pkt, length), malformed=True,
                   note=f"cut inside the {where} header ({length} bytes): dropped")
    stf.packet(EDGE, with_ipv4_field(whole_tcp, 14, set_ihl(4)), malformed=True,
               note="IHL 4: dropped")
    stf.packet(EDGE, with_ipv4_field(whole_tcp, 14, set_ihl(15)), malformed=True,
               note="IHL 15 past the end of a 74-byte frame: dropped")
    syn = (Ether(src=EDGE_MAC, dst=LB_MAC) / IP(src="198.51.100.11", dst=WEB_VIP, ttl=60, id=3)
           / TCP(sport=40700, dport=80, flags="S"))
    assert len(bytes(syn)) == 54
    balanced(syn, "a 54-byte runt SYN", malformed=True)
    jumbo = client_packet("198.51.100.12", WEB_VIP, 6, 40701, 443,
                          payload=JUMBO_FRAME - 54)
    assert len(bytes(jumbo)) == JUMBO_FRAME
    balanced(jumbo, f"a {JUMBO_FRAME}-byte jumbo frame grows by 20 bytes", malformed=True)

    stf.section("a default route: backends without a route of their own go to router A")
    stf.setdefault("routes", "set_next_hop",
                   [("port", 1), ("src_mac", int(mac_hex(LB_MAC), 16)),
                    ("dst_mac", int(mac_hex(ROUTER_A), 16))])
    default_route = ("default", 1, ROUTER_A)
    balanced(dns_flow_by_backend["10.4.0.9"],
             "the flow whose backend had no route", expect_backend="10.4.0.9")

    stf.check_counters()
    stf.check_registers()
    return stf


if __name__ == "__main__":
    sys.exit(main(build, "l4lb"))
