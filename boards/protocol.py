"""The control protocol between a host and a wirespeed NIC, byte for byte (host side).

A *record* asks for one 32-bit word of the control address space to be written or read:
``op(1) addr(4, big-endian) data(4, big-endian)``, ``op`` being ``W`` (0x57) or ``R`` (0x52).
Every record is answered by ``status(1) data(4)``: ``status`` echoes the op when it ran, and
``data`` is the word read (0 for a write).

Over a UART a request is ``A5 record sum`` and its answer ``5A status data sum`` (``sum``: the
bytes in between added modulo 256). In-band, records travel in Ethernet frames of EtherType
0x88B5 (IEEE 802 local experimental): after the 14-byte Ethernet header, ``version(1)=01
count(1) record*count``; the NIC answers to the sender's MAC with ``version|80 count
response*count``. Addresses of unit 0xFF (``addr[31:24]``) are the NIC's own registers
(``nic_register``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ETHERTYPE = 0x88B5
FRAME_VERSION = 0x01
REPLY_FLAG = 0x80
OP_WRITE = 0x57  # "W"
OP_READ = 0x52   # "R"
STATUS_BAD_OP = 0x3F   # "?": unknown op, nothing done
STATUS_BAD_SUM = 0x21  # "!": UART request with a wrong sum, nothing done
RECORD_BYTES = 9
FRAME_RESPONSE_BYTES = 5
FRAME_HEADER_BYTES = 16  # Ethernet header, version, count
UART_REQUEST_SYNC = 0xA5
UART_RESPONSE_SYNC = 0x5A
UART_RESPONSE_BYTES = 7
UART_PACKET_SYNC = 0xA6      # host to board: A6 port(2) length(2) data sum
UART_PACKET_OUT_SYNC = 0x5B  # board to host: 5B port(2) length(2) data sum
MAX_RECORDS_PER_FRAME = (1500 - 2) // RECORD_BYTES

# The NIC answers control unit 0xFF itself (``hdl.pipeline.BOARD_UNIT``); every other unit
# is the pipeline's (tables, registers from 0x80, meters from 0xC0).
NIC_BASE = 0xFF00_0000
NIC_PORT_STRIDE = 0x100
# Per-port counters, 32 bits, wrapping: NIC_BASE + port * NIC_PORT_STRIDE + 4 * index.
PORT_COUNTERS = ("rx_frames", "rx_bad_fcs", "rx_runts", "rx_phy_errors", "rx_overflows",
                 "tx_frames", "control_frames")
# NIC_BASE + 0xF000: identification.
NIC_ID_ADDR = NIC_BASE + 0xF000
NIC_ID = 0x57535044  # "WSPD"
NIC_PORTS_ADDR = NIC_BASE + 0xF004


def nic_counter_addr(port: int, name: str) -> int:
    return NIC_BASE + port * NIC_PORT_STRIDE + 4 * PORT_COUNTERS.index(name)


@dataclass(frozen=True)
class Record:
    op: int
    addr: int
    data: int = 0

    def encode(self) -> bytes:
        return bytes([self.op]) + self.addr.to_bytes(4, "big") + self.data.to_bytes(4, "big")


@dataclass(frozen=True)
class Response:
    status: int
    data: int


def write(addr: int, data: int) -> Record:
    return Record(OP_WRITE, addr, data)


def read(addr: int) -> Record:
    return Record(OP_READ, addr)


class ProtocolError(Exception):
    """The NIC answered something that is not a valid response (message for the user)."""


# ------------------------------------------------------------------------------- UART


def uart_request(record: Record) -> bytes:
    body = record.encode()
    return bytes([UART_REQUEST_SYNC]) + body + bytes([sum(body) & 0xFF])


def uart_response(raw: bytes) -> Response:
    if len(raw) != UART_RESPONSE_BYTES or raw[0] != UART_RESPONSE_SYNC:
        raise ProtocolError(f"malformed UART response {raw.hex()}")
    if sum(raw[1:6]) & 0xFF != raw[6]:
        raise ProtocolError(f"UART response with a wrong sum: {raw.hex()}")
    return Response(raw[1], int.from_bytes(raw[2:6], "big"))


# ----------------------------------------------------------------------------- in-band


def mac_bytes(mac: int) -> bytes:
    return mac.to_bytes(6, "big")


def control_frames(records: Sequence[Record], dst: int, src: int,
                   per_frame: int = MAX_RECORDS_PER_FRAME) -> list[bytes]:
    """Ethernet frames (no FCS, unpadded) carrying ``records`` in order."""
    frames = []
    for start in range(0, len(records), per_frame):
        chunk = records[start:start + per_frame]
        frames.append(mac_bytes(dst) + mac_bytes(src) + ETHERTYPE.to_bytes(2, "big")
                      + bytes([FRAME_VERSION, len(chunk)])
                      + b"".join(r.encode() for r in chunk))
    return frames


def is_control_reply(frame: bytes) -> bool:
    return (len(frame) >= FRAME_HEADER_BYTES
            and int.from_bytes(frame[12:14], "big") == ETHERTYPE
            and frame[14] == FRAME_VERSION | REPLY_FLAG)


def parse_reply(frame: bytes) -> list[Response]:
    if not is_control_reply(frame):
        raise ProtocolError(f"not a control reply: {frame[:16].hex()}")
    count = frame[15]
    body = frame[FRAME_HEADER_BYTES:]
    if len(body) < count * FRAME_RESPONSE_BYTES:
        raise ProtocolError(f"control reply announces {count} responses but is too short")
    return [Response(body[i], int.from_bytes(body[i + 1:i + 5], "big"))
            for i in range(0, count * FRAME_RESPONSE_BYTES, FRAME_RESPONSE_BYTES)]


def check_responses(records: Iterable[Record], responses: Iterable[Response]) -> None:
    for record, response in zip(records, responses, strict=True):
        if response.status != record.op:
            raise ProtocolError(
                f"the NIC refused {'write' if record.op == OP_WRITE else 'read'} of "
                f"0x{record.addr:08x} (status 0x{response.status:02x})")


def parse_request(frame: bytes) -> list[Record]:
    """The records of a control request frame (as ``control_frames`` builds them)."""
    count = frame[15]
    body = frame[FRAME_HEADER_BYTES:]
    return [Record(body[i], int.from_bytes(body[i + 1:i + 5], "big"),
                   int.from_bytes(body[i + 5:i + 9], "big"))
            for i in range(0, count * RECORD_BYTES, RECORD_BYTES)]


def uart_packet(port: int, data: bytes) -> bytes:
    """A packet for a UART-only board's pipeline (``UartPacketPort``)."""
    body = port.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data
    return bytes([UART_PACKET_SYNC]) + body + bytes([sum(body) & 0xFF])
