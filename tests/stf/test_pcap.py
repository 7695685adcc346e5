"""pcap in and out: files written here read back with scapy, files scapy wrote read here."""

from pathlib import Path

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, PcapWriter, rdpcap, wrpcap
from wirespeed.sim.pcap import PcapError, PcapPacket, read_pcap, write_pcap


def test_written_packets_read_back_with_scapy(tmp_path: Path) -> None:
    path = tmp_path / "out.pcap"
    frames = [bytes(Ether() / IP(dst="10.0.0.1")), b"\x01" * 14]
    write_pcap(path, [PcapPacket(10.25, frames[0]), PcapPacket(11.5, frames[1])])
    got = rdpcap(str(path))
    assert [bytes(p) for p in got] == frames
    assert [float(p.time) for p in got] == [10.25, 11.5]


def test_an_empty_capture_is_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    write_pcap(path, [])
    assert read_pcap(path) == []
    assert len(rdpcap(str(path))) == 0


@pytest.mark.parametrize("writer", [PcapWriter, PcapNgWriter])
def test_pcap_and_pcapng_from_scapy_are_read(tmp_path: Path, writer) -> None:
    path = tmp_path / "in.cap"
    packet = Ether() / IP(dst="10.0.0.9")
    packet.time = 99.5
    w = writer(str(path))
    w.write(packet)
    w.close()
    assert read_pcap(path) == [PcapPacket(99.5, bytes(packet))]


def test_bad_files_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(PcapError, match="no such file"):
        read_pcap(tmp_path / "missing.pcap")
    garbage = tmp_path / "garbage.pcap"
    garbage.write_text("this is not a capture at all")
    with pytest.raises(PcapError, match="not a pcap file"):
        read_pcap(garbage)
    raw_ip = tmp_path / "rawip.pcap"
    wrpcap(str(raw_ip), [IP(dst="10.0.0.1")])  # link type 101/228: raw IP, no Ethernet
    with pytest.raises(PcapError, match="is not Ethernet"):
        read_pcap(raw_ip)
    with pytest.raises(PcapError, match="cannot write"):
        write_pcap(tmp_path / "no" / "such" / "dir.pcap", [])
