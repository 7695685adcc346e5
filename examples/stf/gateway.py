"""Generate examples/gateway.stf: the service gateway's end-to-end packet tests (VXLAN decap ->
ACL -> Maglev L4 LB -> route), every packet built with scapy from the intended behaviour.

A VIP flow's backend is worked out from the definition: bucket = low 8 bits of zlib's CRC-32
over the tenant packet's 5-tuple (source, destination, protocol, ports, big-endian), owner of
the bucket = the Maglev table that the ``add`` lines install.
"""

from __future__ import annotations

import ipaddress
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scapy.layers.inet import IP, TCP, UDP, IPOption_Router_Alert  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Packet, Raw  # noqa: E402
from stfwriter import (  # noqa: E402
    HOST_PORT,
    JUMBO_FRAME,
    StfFile,
    ip_hex,
    mac_hex,
    main,
    masked,
    pad_to,
    payload_of_length,
    port_range,
    prefix,
    set_ihl,
    truncated,
    vxlan_header,
    with_ipv4_field,
)
from wirespeed.compiler import maglev  # noqa: E402

TITLE = """\
End-to-end packet tests of examples/gateway.wire: VXLAN decap -> ACL -> Maglev L4 LB -> route.
Tenant VMs reach the gateway over the VXLAN fabric on port 0 (our VTEP 10.0.0.1), addressing
frames to the gateway's router MAC 02:00:00:00:00:fe in their VNI (100 and 200). VIP 10.10.0.1
serves TCP 80/443 (backends 10.1.0.1-3, via port 1), 10.10.0.2 UDP 53 (backends 10.2.0.1-2,
via port 3), 10.10.0.3 TCP 80 has no backends. 192.168.50.0/24 is routed via port 2, with
192.168.50.100 on a direct link (port 5). A local server in VNI 100 is bridged to port 4."""

FABRIC = 0
NIC_MAC, FABRIC_ROUTER_MAC = "02:aa:00:00:00:01", "02:aa:00:00:00:fe"
OUR_VTEP, REMOTE_VTEP = "10.0.0.1", "10.0.0.2"
GW_MAC = "02:00:00:00:00:fe"          # the gateway's router MAC inside the tenant networks
VM_MAC = "02:00:00:00:09:09"
LOCAL_SERVER = "02:00:00:00:01:01"    # bridged, VNI 100, port 4
UNDERLAY_MAC = "02:1b:00:00:00:01"    # the gateway's own MAC towards its next hops
ROUTER_A, ROUTER_B, SERVICES = "02:0a:00:00:00:01", "02:0b:00:00:00:01", "02:5e:00:00:00:01"
DIRECT = "02:5e:00:00:00:64"

WEB_VIP, DNS_VIP, EMPTY_VIP = "10.10.0.1", "10.10.0.2", "10.10.0.3"
TUNNEL_SRC = "10.200.0.1"
POOLS = {0: ["10.1.0.1", "10.1.0.2", "10.1.0.3"], 1: ["10.2.0.1", "10.2.0.2"]}
ROUTES = [
    ("to_backends_a", "10.1.0.0/16", 1, ROUTER_A),
    ("to_backends_b", "10.2.0.0/16", 3, ROUTER_B),
    ("to_services", "192.168.50.0/24", 2, SERVICES),
    ("to_direct", "192.168.50.100/32", 5, DIRECT),
]
VIPS = {  # (address, protocol, port) -> (entry id, vip id)
    (WEB_VIP, 6, 80): ("vip_web_http", 0),
    (WEB_VIP, 6, 443): ("vip_web_https", 0),
    (DNS_VIP, 17, 53): ("vip_dns", 1),
    (EMPTY_VIP, 6, 80): ("vip_empty", 2),
}
TENANTS = "172.16.0.0/12"
ANY_SRC, ANY_DST = prefix("0.0.0.0/0"), masked("0.0.0.0", "0.0.0.0")
ANY_PORT = port_range(0, 65535)
# (id, priority, src, dst, protocol, src ports, dst ports, action)
RULES = [
    ("quarantine", 5, prefix("172.16.66.0/24"), ANY_DST, 6, ANY_PORT, ANY_PORT, "deny"),
    ("web_vip", 10, prefix(TENANTS), masked(WEB_VIP, "255.255.255.255"), 6, ANY_PORT,
     port_range(80, 80), "permit"),
    ("web_vip_tls", 11, prefix(TENANTS), masked(WEB_VIP, "255.255.255.255"), 6, ANY_PORT,
     port_range(443, 443), "permit"),
    ("empty_vip", 12, prefix(TENANTS), masked(EMPTY_VIP, "255.255.255.255"), 6, ANY_PORT,
     port_range(80, 80), "permit"),
    ("dns_vip", 20, ANY_SRC, masked(DNS_VIP, "255.255.255.255"), 17, ANY_PORT,
     port_range(53, 53), "permit"),
    ("services", 30, prefix(TENANTS), masked("192.168.50.0", "255.255.255.0"), 6, ANY_PORT,
     port_range(1024, 65535), "permit"),
    ("bench_net", 40, prefix(TENANTS), masked("198.18.0.0", "255.254.0.0"), 6, ANY_PORT,
     ANY_PORT, "permit"),
]

# byte offsets in a VXLAN frame without outer IPv4 options
OUTER_IP, OUTER_UDP, VXLAN_HDR, INNER_ETH, INNER_IP, INNER_L4 = 14, 34, 42, 50, 64, 84

_ids = iter(range(500, 1 << 16))


def tenant(src: str, dst: str, proto: int, sport: int, dport: int, *, dst_mac: str = GW_MAC,
           payload: int = 24, ip: dict | None = None) -> Packet:
    """A tenant VM's frame to the gateway (or another MAC)."""
    fields = {"src": src, "dst": dst, "ttl": 64, "id": next(_ids)} | (ip or {})
    l4 = (TCP(sport=sport, dport=dport, flags="PA", seq=11, ack=22) if proto == 6
          else UDP(sport=sport, dport=dport))
    return Ether(src=VM_MAC, dst=dst_mac) / IP(**fields) / l4 / payload_of_length(payload)


def vxlan(vni: int, inner: Packet | bytes, *, dst: str = OUR_VTEP, flags: int = 0x08,
          outer_ip: dict | None = None) -> Packet:
    fields = {"src": REMOTE_VTEP, "dst": dst, "ttl": 62, "id": 0x4321, "flags": "DF"}
    return (Ether(src=FABRIC_ROUTER_MAC, dst=NIC_MAC) / IP(**(fields | (outer_ip or {})))
            / UDP(sport=51515, dport=4789, chksum=0) / vxlan_header(vni, flags)
            / (inner if isinstance(inner, Packet) else Raw(inner)))


def lowered_ttl(inner_frame: bytes) -> tuple[IP, bytes, int, int]:
    """The tenant IPv4 header with TTL - 1 and scapy's fresh checksum; what follows it; the
    packet's total length; its TOS byte."""
    after_ethernet = inner_frame[14:]
    header_len = (after_ethernet[0] & 0x0F) * 4
    header = IP(after_ethernet[:header_len])
    total_len, tos = header.len, header.tos
    header.ttl -= 1
    del header.chksum
    return header, after_ethernet[header_len:], total_len, tos


def routed(inner_frame: Packet | bytes, next_hop: str) -> bytes:
    header, rest, _, _ = lowered_ttl(bytes(inner_frame))
    return bytes(Ether(src=UNDERLAY_MAC, dst=next_hop, type=0x0800)) + bytes(header) + rest


def load_balanced(inner_frame: Packet | bytes, backend: str, next_hop: str) -> bytes:
    header, rest, total_len, tos = lowered_ttl(bytes(inner_frame))
    tunnel = IP(version=4, ihl=5, tos=tos, len=total_len + 20, id=0, flags="DF", frag=0,
                ttl=64, proto=4, src=TUNNEL_SRC, dst=backend)
    return (bytes(Ether(src=UNDERLAY_MAC, dst=next_hop, type=0x0800) / tunnel) + bytes(header)
            + rest)


def route_for(address: str) -> tuple[str, int, str] | None:
    best = None
    for entry_id, net, port, mac in ROUTES:
        network = ipaddress.IPv4Network(net)
        if ipaddress.IPv4Address(address) in network and (
                best is None or network.prefixlen > best[0]):
            best = (network.prefixlen, entry_id, port, mac)
    return None if best is None else best[1:]


def backend_for(vip_id: int, src: str, dst: str, proto: int, sport: int, dport: int) -> str:
    key = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
           + bytes([proto]) + sport.to_bytes(2, "big") + dport.to_bytes(2, "big"))
    pool = POOLS[vip_id]
    return pool[maglev.populate(pool)[zlib.crc32(key) & 0xFF]]


def build() -> StfFile:
    stf = StfFile(TITLE)
    stf.section("VXLAN termination")
    stf.add("local_vtep", [("ipv4.dst", ip_hex(OUR_VTEP))], "nop")
    vtep_entries = [("vtep_gw_100", 100, GW_MAC, "to_gateway", []),
                    ("vtep_gw_200", 200, GW_MAC, "to_gateway", []),
                    ("vtep_server", 100, LOCAL_SERVER, "bridge", [("port", 4)])]
    for entry_id, vni, mac, action, args in vtep_entries:
        stf.add("vtep", [("vxlan.vni", hex(vni)), ("inner_ethernet.dst", mac_hex(mac))],
                action, args, entry_id=entry_id, counted=True)
    stf.track_misses("vtep")
    stf.section("the tenant firewall")
    for rule_id, priority, src, dst, proto, sports, dports, action in RULES:
        stf.add("acl", [("inner_ipv4.src", src), ("inner_ipv4.dst", dst),
                        ("inner_ipv4.protocol", str(proto)), ("meta.l4_src", sports),
                        ("meta.l4_dst", dports)],
                action, priority=priority, entry_id=rule_id, counted=True)
    stf.track_misses("acl")
    stf.section("VIP services")
    for (address, proto, port), (entry_id, vip_id) in VIPS.items():
        stf.add("vips", [("inner_ipv4.dst", ip_hex(address)),
                         ("inner_ipv4.protocol", str(proto)), ("meta.l4_dst", str(port))],
                "to_vip", [("vip_id", vip_id), ("tunnel_src", ip_hex(TUNNEL_SRC))],
                entry_id=entry_id, counted=True)
    stf.track_misses("vips")
    stf.section("routes (on the backend for VIP traffic, on the destination otherwise)")
    for entry_id, net, port, mac in ROUTES:
        stf.add("routes", [("meta.route_to", prefix(net))], "set_next_hop",
                [("port", port), ("src_mac", mac_hex(UNDERLAY_MAC)), ("dst_mac", mac_hex(mac))],
                entry_id=entry_id, counted=True)
    stf.track_misses("routes")
    for vip_id, pool in POOLS.items():
        stf.section(f"Maglev table of vip id {vip_id}: python -m wirespeed.compiler.maglev "
                    f"--backends {','.join(pool)} --vip-id {vip_id}")
        for line in maglev.stf_add_lines(pool, vip_id):
            stf.add_line(line)

    for vip_id in range(3):
        stf.track_register("vip_packets", vip_id)  # vip id 2 has no backends: stays 0
    default_route: tuple[int, str] | None = None

    def through(vni: int, inner: Packet | bytes, note: str, rule: str | None, *,
                malformed: bool = False, frame: Packet | bytes | None = None) -> None:
        """A tenant packet to the gateway MAC that reaches the ACL; work out the rest."""
        parsed = Ether(bytes(inner))
        ip = parsed[IP]
        l4 = parsed[TCP] if TCP in parsed else parsed[UDP]
        vtep_id = {100: "vtep_gw_100", 200: "vtep_gw_200"}[vni]
        counts = [("vtep", vtep_id), ("acl", rule)]
        sent = vxlan(vni, inner) if frame is None else frame
        rule_action = next((r[-1] for r in RULES if r[0] == rule), "deny")
        if rule_action == "deny":
            stf.packet(FABRIC, sent, counts=counts, malformed=malformed,
                       note=note + ": denied by the ACL")
            return
        vip = VIPS.get((ip.dst, ip.proto, l4.dport))
        counts.append(("vips", vip[0] if vip else None))
        if vip is None:
            route = route_for(ip.dst)
            if route is None and default_route is None:
                stf.packet(FABRIC, sent, counts=[*counts, ("routes", None)],
                           malformed=malformed, note=note + ": permitted, no route: dropped")
                return
            route_id, port, mac = route if route else (None, *default_route)
            stf.packet(FABRIC, sent, expect=(port, routed(inner, mac)),
                       counts=[*counts, ("routes", route_id)], malformed=malformed,
                       note=note + f": permitted, routed to port {port}")
            return
        vip_id = vip[1]
        if vip_id not in POOLS:
            stf.packet(FABRIC, sent, counts=counts, malformed=malformed,
                       note=note + ": a VIP without backends: dropped")
            return
        backend = backend_for(vip_id, ip.src, ip.dst, ip.proto, l4.sport, l4.dport)
        route_id, port, mac = route_for(backend)
        stf.packet(FABRIC, sent, expect=(port, load_balanced(inner, backend, mac)),
                   counts=[*counts, ("routes", route_id)],
                   increments=[("vip_packets", vip_id)], malformed=malformed,
                   note=note + f": backend {backend}, IP-in-IP out of port {port}")

    def to_host(frame: Packet | bytes, note: str, counts: list = (), **kw: bool) -> None:
        stf.packet(FABRIC, frame, expect=(HOST_PORT, frame), counts=counts, note=note, **kw)

    stf.section("VIP traffic: decap, permit, Maglev, IP-in-IP")
    backends_seen: set[str] = set()
    sport = 41000
    while backends_seen != set(POOLS[0]):
        src = f"172.16.0.{9 + sport % 5}"
        through(100, tenant(src, WEB_VIP, 6, sport, 80), f"{src}:{sport} -> web VIP:80",
                "web_vip")
        backends_seen.add(backend_for(0, src, WEB_VIP, 6, sport, 80))
        sport += 1
    through(100, tenant("172.16.0.9", WEB_VIP, 6, 41000, 80, payload=200),
            "the first flow again: same backend", "web_vip")
    through(200, tenant("172.20.3.4", WEB_VIP, 6, 41500, 443),
            "tenant 200 (VNI 200) reaches the same VIP on 443", "web_vip_tls")
    through(100, tenant("172.16.0.9", WEB_VIP, 6, 41501, 443, ip={"tos": 0x2A}),
            "DSCP/ECN (tos 0x2a) is copied to the tunnel header", "web_vip_tls")
    dns_seen: set[str] = set()
    sport = 52000
    while dns_seen != set(POOLS[1]):
        backend = backend_for(1, "172.16.0.9", DNS_VIP, 17, sport, 53)
        if backend not in dns_seen:
            dns_seen.add(backend)
            through(100, tenant("172.16.0.9", DNS_VIP, 17, sport, 53),
                    f"DNS from port {sport}", "dns_vip")
        sport += 1

    stf.section("routed (permitted, not a VIP): TTL - 1, next hop's MACs")
    through(100, tenant("172.16.0.9", "192.168.50.10", 6, 41600, 8443),
            "to 192.168.50.10:8443", "services")
    through(200, tenant("172.20.3.4", "192.168.50.100", 6, 41601, 8443),
            "to 192.168.50.100: the /32 beats the /24", "services")
    through(100, tenant("172.16.0.9", "198.18.0.5", 6, 41602, 80), "to 198.18.0.5",
            "bench_net")

    stf.section("the ACL decides before the load balancer")
    through(100, tenant("172.16.66.7", WEB_VIP, 6, 41700, 80),
            "a quarantined VM to the web VIP (quarantine, priority 5, beats web_vip)",
            "quarantine")
    through(100, tenant("172.16.66.7", DNS_VIP, 17, 41701, 53),
            "the quarantine is TCP only: its DNS passes", "dns_vip")
    through(100, tenant("172.16.0.9", WEB_VIP, 6, 41702, 8080), "the web VIP on port 8080",
            None)
    through(100, tenant("172.16.0.9", "192.168.50.10", 6, 41703, 22),
            "SSH to the services network (port 22 < 1024)", None)
    through(100, tenant("10.99.0.1", WEB_VIP, 6, 41704, 80),
            "a source outside the tenant range", None)

    stf.section("a VIP without backends")
    through(100, tenant("172.16.0.9", EMPTY_VIP, 6, 41800, 80), "10.10.0.3:80", "empty_vip")

    stf.section("bridged in the VNI: decapsulated only (no routing, so no TTL change)")
    local = tenant("172.16.0.9", "172.16.0.1", 6, 41900, 22, dst_mac=LOCAL_SERVER)
    stf.packet(FABRIC, vxlan(100, local), expect=(4, local), counts=[("vtep", "vtep_server")],
               note="to the local server on port 4")
    wrong_sum = with_ipv4_field(local, 14, lambda h: h[:10] + b"\x00\x01" + h[12:])
    stf.packet(FABRIC, vxlan(100, wrong_sum), expect=(4, local),
               counts=[("vtep", "vtep_server")],
               note="its inner IPv4 header is parsed, so a wrong checksum leaves repaired")

    stf.section("to the host, still encapsulated")
    frame = vxlan(100, tenant("172.16.0.9", WEB_VIP, 6, 42000, 80,
                              dst_mac="02:00:00:00:0f:0f"))
    to_host(frame, "unknown MAC in VNI 100", [("vtep", None)])
    frame = vxlan(300, tenant("172.16.0.9", WEB_VIP, 6, 42001, 80))
    to_host(frame, "the gateway MAC in a VNI it does not serve", [("vtep", None)])
    arp = Ether(src=VM_MAC, dst=GW_MAC) / ARP(op=1, hwsrc=VM_MAC, psrc="172.16.0.9",
                                              pdst="172.16.0.1")
    to_host(vxlan(100, arp), "unicast ARP to the gateway MAC", [("vtep", "vtep_gw_100")])
    for ttl in (1, 0):
        frame = vxlan(100, tenant("172.16.0.9", WEB_VIP, 6, 42002, 80, ip={"ttl": ttl}))
        to_host(frame, f"inner TTL {ttl}: the host sends ICMP time exceeded",
                [("vtep", "vtep_gw_100")])
    frame = vxlan(100, tenant("172.16.0.9", WEB_VIP, 6, 42003, 80, ip={"flags": "MF"}))
    to_host(frame, "an inner first fragment", [("vtep", "vtep_gw_100")])
    later = (Ether(src=VM_MAC, dst=GW_MAC)
             / IP(src="172.16.0.9", dst=WEB_VIP, proto=6, frag=20, id=99)
             / payload_of_length(16))
    to_host(vxlan(100, later), "an inner later fragment", [("vtep", "vtep_gw_100")])
    to_host(vxlan(100, tenant("172.16.0.9", WEB_VIP, 6, 42004, 80), dst="10.0.0.77"),
            "VXLAN for another VTEP")
    to_host(vxlan(100, tenant("172.16.0.9", WEB_VIP, 6, 42005, 80),
                  outer_ip={"flags": "MF"}), "an outer fragment")
    bgp = (Ether(src=FABRIC_ROUTER_MAC, dst=NIC_MAC) / IP(src=REMOTE_VTEP, dst=OUR_VTEP)
           / TCP(sport=179, dport=40000, flags="A"))
    to_host(bgp, "underlay BGP")
    runt = Ether(src=FABRIC_ROUTER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=FABRIC_ROUTER_MAC, psrc="10.0.0.254", pdst=OUR_VTEP)
    to_host(runt, "underlay ARP, a 42-byte runt", malformed=True)

    stf.section("dropped on the way in")
    stf.packet(FABRIC, vxlan(100, tenant("172.16.0.9", WEB_VIP, 6, 42006, 80), flags=0),
               note="VXLAN without the I flag")

    stf.section("malformed: cut inside each of the eight headers, bad IHL, jumbo")
    whole = vxlan(100, tenant("172.16.0.9", WEB_VIP, 6, 42100, 80))
    whole_udp = vxlan(100, tenant("172.16.0.9", DNS_VIP, 17, 42101, 53))
    cuts = [(whole, 8, "outer Ethernet"), (whole, OUTER_IP + 15, "outer IPv4"),
            (whole, OUTER_UDP + 3, "outer UDP"), (whole, VXLAN_HDR + 4, "VXLAN"),
            (whole, INNER_ETH + 13, "inner Ethernet"), (whole, INNER_IP + 19, "inner IPv4"),
            (whole, INNER_L4 + 10, "inner TCP"), (whole_udp, INNER_L4 + 6, "inner UDP")]
    for pkt, length, where in cuts:
        stf.packet(FABRIC, truncated(pkt, length), malformed=True,
                   note=f"cut inside the {where} header ({length} bytes): dropped")
    stf.packet(FABRIC, with_ipv4_field(whole, OUTER_IP, set_ihl(3)), malformed=True,
               note="outer IHL 3: dropped")
    stf.packet(FABRIC, with_ipv4_field(whole, INNER_IP, set_ihl(4)), malformed=True,
               note="inner IHL 4: dropped")
    stf.packet(FABRIC, with_ipv4_field(truncated(whole, INNER_IP + 40), INNER_IP, set_ihl(15)),
               malformed=True, note="inner IHL 15 past the end of the frame: dropped")
    with_opts = tenant("172.16.0.9", WEB_VIP, 6, 42102, 80,
                       ip={"options": [IPOption_Router_Alert()]})
    through(100, with_opts, "inner IPv4 options ride inside the tunnel", "web_vip",
            malformed=True)
    small = pad_to(tenant("172.16.0.9", DNS_VIP, 17, 42103, 53, payload=2), 60)
    through(100, small, "a VM's short datagram padded to 60: padding rides along", "dns_vip")
    jumbo_inner = tenant("172.16.0.9", WEB_VIP, 6, 42104, 443,
                         payload=JUMBO_FRAME - 50 - 54)
    assert len(bytes(vxlan(100, jumbo_inner))) == JUMBO_FRAME
    through(100, jumbo_inner, f"a {JUMBO_FRAME}-byte jumbo VXLAN frame", "web_vip_tls",
            malformed=True)

    stf.section("a default route appears: unrouted permitted traffic follows it")
    stf.setdefault("routes", "set_next_hop",
                   [("port", 1), ("src_mac", int(mac_hex(UNDERLAY_MAC), 16)),
                    ("dst_mac", int(mac_hex(ROUTER_A), 16))])
    default_route = (1, ROUTER_A)
    through(100, tenant("172.16.0.9", "198.18.0.5", 6, 41602, 80),
            "198.18.0.5 again", "bench_net")

    stf.check_counters()
    stf.check_registers()
    return stf


if __name__ == "__main__":
    sys.exit(main(build, "gateway"))
