"""Raw Ethernet frames in and out of an interface, for the veth test (run inside a network
namespace with ``ip netns exec``): ``send IFACE HEX...`` and ``capture IFACE SECONDS``, which
prints "ready", then every frame it sees as hex, one a line, until a line arrives on its
standard input (or SECONDS pass)."""

from __future__ import annotations

import select
import socket
import sys
import time

ETH_P_ALL = 0x0003


def send(iface: str, frames: list[str]) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((iface, 0))
        for frame in frames:
            s.send(bytes.fromhex(frame))
            time.sleep(0.01)


def capture(iface: str, seconds: float) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)) as s:
        s.bind((iface, 0))
        print("ready", flush=True)
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            readable, _, _ = select.select([s, sys.stdin], [], [], left)
            if sys.stdin in readable:
                break  # the sender is done and the frames had time to arrive
            if s in readable:
                data, addr = s.recvfrom(65535)
                if addr[2] != socket.PACKET_OUTGOING:
                    print(data.hex(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3:])
    else:
        capture(sys.argv[2], float(sys.argv[3]))
