"""Shared helpers for the example STF generators (``examples/stf/<example>.py``).

Each generator builds every input packet and every expected output packet with scapy, from
what the example is meant to do, and writes them with this module as an STF file
(docs/stf.md). Nothing here runs the program: the expectations are the spec, not a recording.

The writer also keeps the expected direct counters: a packet sent with
``counts=[("acl", "ssh_admin")]`` says "this packet hits entry ``ssh_admin`` of ``acl``" (or
``("acl", None)`` for the table's miss), and ``check_counters`` writes the totals as
``check_counter`` lines (bytes count the frame as it arrived, as bmv2 and the model do).

Running a generator writes ``examples/<example>.stf``; with ``--check`` it only compares
the committed file with what it would write now, and fails when they differ.
"""

from __future__ import annotations

import argparse
import difflib
import ipaddress
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.inet import IP
from scapy.packet import Packet, Raw

EXAMPLES = Path(__file__).resolve().parent.parent

#: the port ``send_to_host()`` sends to (ir.HOST_PORT); written here from docs/language.md
HOST_PORT = 510

#: a jumbo frame as a data centre underlay carries them (MTU 9000 plus the Ethernet header)
JUMBO_FRAME = 9014

Data = bytes | Packet
CounterRef = tuple[str, str | None]  # (table, entry id) or (table, None) for the misses


def raw(data: Data) -> bytes:
    return bytes(data)


def ip_hex(address: str) -> str:
    return f"0x{int(ipaddress.IPv4Address(address)):08x}"


def mac_hex(mac: str) -> str:
    return "0x" + mac.replace(":", "").lower()


def prefix(network: str) -> str:
    """``10.1.0.0/16`` as an lpm key value ``0x0a010000/16``."""
    net = ipaddress.IPv4Network(network)
    return f"{ip_hex(str(net.network_address))}/{net.prefixlen}"


def masked(address: str, mask: str) -> str:
    """A ternary IPv4 key value ``value&&&mask`` in hex."""
    return f"{ip_hex(address)}&&&{ip_hex(mask)}"


def port_range(lo: int, hi: int) -> str:
    return f"{lo}..{hi}"


def truncated(data: Data, length: int) -> bytes:
    """The first ``length`` bytes of a packet: a frame cut inside a header."""
    whole = raw(data)
    assert length < len(whole), "a truncated packet must be shorter than the whole one"
    return whole[:length]


def with_ipv4_field(data: Data, offset: int, patch: Callable[[bytes], bytes]) -> bytes:
    """Patch the IPv4 header that starts at byte ``offset`` (its first 20 bytes) after scapy
    built the packet, for headers scapy would refuse to build (ihl < 5) or would fix up."""
    whole = bytearray(raw(data))
    whole[offset:offset + 20] = patch(bytes(whole[offset:offset + 20]))
    return bytes(whole)


def set_ihl(ihl: int) -> Callable[[bytes], bytes]:
    def patch(header: bytes) -> bytes:
        return bytes([0x40 | ihl]) + header[1:]
    return patch


def ipv4_checksum_ok(header: bytes) -> bool:
    """The RFC 1071 check: the one's complement sum over the header is 0xffff."""
    total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def vxlan_header(vni: int, flags: int = 0x08) -> Raw:
    """The 8-byte VXLAN header of RFC 7348: flags (I = 0x08), 24 reserved bits, the VNI, 8
    reserved bits. Written out by hand: scapy's VXLAN layer switches to the VXLAN-GPE layout
    by itself for some flag values."""
    return Raw(bytes([flags, 0, 0, 0]) + vni.to_bytes(3, "big") + b"\0")


def pad_to(data: Data, length: int) -> bytes:
    """Pad a frame with zero bytes up to ``length`` (what a NIC does to reach 60 bytes)."""
    whole = raw(data)
    return whole + bytes(max(0, length - len(whole)))


def payload_of_length(n: int, seed: int = 0) -> Raw:
    return Raw(bytes((seed + i * 7) & 0xFF for i in range(n)))


def fix_len(packet: Packet) -> Packet:
    """Rebuild so scapy fills every length and checksum now (before bytes are sliced)."""
    return packet.__class__(bytes(packet))


@dataclass
class StfFile:
    """An STF file being written; lines in order."""

    title: str
    lines: list[str] = field(default_factory=list)
    counters: dict[CounterRef, list[int]] = field(default_factory=dict)
    registers: dict[tuple[str, int], int] = field(default_factory=dict)
    packets: int = 0
    drops: int = 0
    entries: int = 0
    malformed: int = 0
    _ids: dict[str, str] = field(default_factory=dict)  # entry id -> table

    # ------------------------------------------------------------------ text

    def section(self, title: str) -> None:
        self.lines += ["", f"# ---- {title}"]

    def comment(self, text: str) -> None:
        self.lines += [f"# {line}".rstrip() for line in text.strip().splitlines()]

    # ------------------------------------------------------------------ control plane

    def add(self, table: str, keys: Iterable[tuple[str, str]], action: str,
            args: Iterable[tuple[str, int | str]] = (), *, priority: int | None = None,
            entry_id: str | None = None, counted: bool = False) -> None:
        """``add TABLE [PRIORITY] key:value ... action(arg:value, ...) [= ID]``.

        ``counted``: the table has direct counters, so the entry's counter starts at zero."""
        head = f"add {table}" + (f" {priority}" if priority is not None else "")
        key_text = " ".join(f"{name}:{value}" for name, value in keys)
        arg_text = ", ".join(
            f"{name}:{value if isinstance(value, str) else hex(value)}" for name, value in args)
        line = f"{head} {key_text} {action}({arg_text})"
        if entry_id:
            assert entry_id not in self._ids, f"entry id {entry_id} used twice"
            self._ids[entry_id] = table
            line += f" = {entry_id}"
            if counted:
                self.counters[(table, entry_id)] = [0, 0]
        self.lines.append(line)
        self.entries += 1

    def add_line(self, line: str) -> None:
        """An ``add`` line written elsewhere (the Maglev helper's output)."""
        assert line.startswith("add ")
        self.lines.append(line)
        self.entries += 1

    def setdefault(self, table: str, action: str, args: Iterable[tuple[str, int]] = ()) -> None:
        arg_text = ", ".join(f"{name}:{hex(value)}" for name, value in args)
        self.lines.append(f"setdefault {table} {action}({arg_text})")

    def track_misses(self, table: str) -> None:
        self.counters.setdefault((table, None), [0, 0])

    def track_register(self, register: str, index: int) -> None:
        """Check this register cell at the end (it starts at 0)."""
        self.registers.setdefault((register, index), 0)

    # ------------------------------------------------------------------ packets

    def packet(self, port: int, data: Data, *, expect: tuple[int, Data] | None = None,
               counts: Iterable[CounterRef] = (), increments: Iterable[tuple[str, int]] = (),
               note: str = "", malformed: bool = False) -> None:
        """Send ``data`` on ``port``; expect exactly ``expect`` = (port, bytes) out, or no
        packet at all when ``expect`` is None. ``increments``: register cells the packet adds
        one to."""
        sent = raw(data)
        if note:
            self.comment(note)
        self.lines.append(f"packet {port} {sent.hex()}")
        self.packets += 1
        self.malformed += malformed
        for ref in counts:
            assert ref in self.counters, f"no counter declared for {ref}"
            self.counters[ref][0] += 1
            self.counters[ref][1] += len(sent)
        for cell in increments:
            assert cell in self.registers, f"register cell {cell} is not tracked"
            self.registers[cell] += 1
        if expect is None:
            self.lines.append("no_packet")
            self.drops += 1
        else:
            out_port, out = expect
            self.lines.append(f"expect {out_port} {raw(out).hex()}$")

    def check_counters(self) -> None:
        self.section("direct counters: packets and bytes (as received) per entry and per miss")
        for (table, entry_id), (packets, nbytes) in self.counters.items():
            ref = entry_id if entry_id is not None else "miss"
            self.lines.append(f"check_counter {table}({ref}) packets == {packets}")
            self.lines.append(f"check_counter {table}({ref}) bytes == {nbytes}")

    def check_registers(self) -> None:
        """``check_register`` lines: read once every packet has run, so they come last."""
        self.section("registers, read after the last packet")
        for (register, index), value in sorted(self.registers.items()):
            self.lines.append(f"check_register {register}[{index}] == {value}")

    def text(self, generator: str) -> str:
        header = [f"# {line}".rstrip() for line in self.title.strip().splitlines()]
        header += [
            "#",
            f"# GENERATED by examples/stf/{generator} from scapy packets built from the",
            "# example's intended behaviour; do not edit: change the generator and run it.",
            f"# {self.packets} packets ({self.malformed} malformed, {self.drops} dropped), "
            f"{self.entries} table entries, {2 * len(self.counters)} counter checks"
            + (f", {len(self.registers)} register checks." if self.registers else "."),
        ]
        return "\n".join([*header, *self.lines]) + "\n"


def main(build: Callable[[], StfFile], example: str, argv: list[str] | None = None) -> int:
    """Write ``examples/<example>.stf``, or with ``--check`` compare it with the file."""
    parser = argparse.ArgumentParser(description=f"Generate examples/{example}.stf")
    parser.add_argument("--check", action="store_true",
                        help="do not write: fail if the committed file differs")
    parser.add_argument("--output", type=Path, default=EXAMPLES / f"{example}.stf")
    args = parser.parse_args(argv)
    text = build().text(f"{example}.py")
    if args.check:
        try:
            current = args.output.read_text()
        except OSError as e:
            print(f"error: cannot read {args.output}: {e.strerror}", file=sys.stderr)
            return 1
        if current != text:
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(),
                                        str(args.output), "generated", lineterm="", n=1)
            print("\n".join(list(diff)[:40]), file=sys.stderr)
            print(f"error: {args.output} is stale: run examples/stf/{example}.py",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


def ipv4(**fields: object) -> IP:
    """An IPv4 header with the fields given and scapy computing length and checksum."""
    return IP(**fields)
