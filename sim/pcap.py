"""pcap files in and out of ``wirespeed run`` (Ethernet link type, no FCS).

Reading and writing go through scapy's raw pcap reader and writer, so packets stay bytes and
are never dissected (a malformed frame reaches the program exactly as it was captured).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scapy.error import Scapy_Exception
from scapy.utils import RawPcapReader, RawPcapWriter

LINKTYPE_ETHERNET = 1


class PcapError(Exception):
    """A pcap file that cannot be read or written; the message is for the user."""


@dataclass(frozen=True)
class PcapPacket:
    time: float  # seconds since the epoch, as captured
    data: bytes


def read_pcap(path: str | Path) -> list[PcapPacket]:
    packets = []
    try:
        with RawPcapReader(str(path)) as reader:
            linktype = getattr(reader, "linktype", LINKTYPE_ETHERNET)
            if linktype != LINKTYPE_ETHERNET:
                raise PcapError(f"{path}: link type {linktype} is not Ethernet (1)")
            for data, meta in reader:
                seconds = getattr(meta, "sec", None)
                if seconds is None:  # pcapng metadata
                    stamp = (meta.tshigh << 32 | meta.tslow) / meta.tsresol
                else:
                    stamp = seconds + meta.usec / 1e6
                packets.append(PcapPacket(stamp, bytes(data)))
    except FileNotFoundError:
        raise PcapError(f"{path}: no such file") from None
    except (Scapy_Exception, OSError, EOFError, ValueError) as e:
        raise PcapError(f"{path}: not a pcap file ({e})") from None
    return packets


def write_pcap(path: str | Path, packets: list[PcapPacket]) -> None:
    try:
        with RawPcapWriter(str(path), linktype=LINKTYPE_ETHERNET, sync=True) as writer:
            writer._write_header(None)  # an empty capture is still a valid pcap file
            for packet in packets:
                seconds = int(packet.time)
                micros = int(round((packet.time - seconds) * 1e6))
                writer.write_packet(packet.data, sec=seconds, usec=micros)
    except OSError as e:
        raise PcapError(f"{path}: cannot write ({e.strerror})") from None
