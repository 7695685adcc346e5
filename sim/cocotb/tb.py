"""A reusable bench for ``wirespeed_top``: clock, reset, a packet source with random idle
cycles, a packet sink with random backpressure and a control-port driver.

Handshakes are decided at the falling edge (every signal settled) and new values are driven
just after the rising edge, so the bench never races the design whatever the simulator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge


@dataclass
class OutPacket:
    tag: int
    port: int
    data: bytearray = field(default_factory=bytearray)


class ProtocolError(Exception):
    pass


class TB:
    def __init__(self, dut, seed: int = 1, idle: float = 0.0, backpressure: float = 0.0) -> None:
        self.dut = dut
        self.rng = random.Random(seed)
        self.idle = idle
        self.backpressure = backpressure
        self.width = len(dut.in_data)
        self.lanes = self.width // 8
        self.cycle = 0
        self.errors: list[str] = []

    async def start(self) -> None:
        Clock(self.dut.clk, 10, unit="ns").start()
        d = self.dut
        for sig in (d.in_valid, d.in_data, d.in_keep, d.in_first, d.in_last, d.in_port,
                    d.in_tag, d.ctl_write, d.ctl_read, d.ctl_addr, d.ctl_wdata):
            sig.value = 0
        d.out_ready.value = 1
        d.rst.value = 1
        for _ in range(3):
            await RisingEdge(d.clk)
        d.rst.value = 0
        await RisingEdge(d.clk)

    # ------------------------------------------------------------------ control port
    async def _request(self, addr: int, data: int, write: bool) -> int:
        d = self.dut
        d.ctl_addr.value = addr
        d.ctl_wdata.value = data
        (d.ctl_write if write else d.ctl_read).value = 1
        await RisingEdge(d.clk)
        d.ctl_write.value = 0
        d.ctl_read.value = 0
        for _ in range(64):
            await FallingEdge(d.clk)
            if d.ctl_ack.value:
                value = int(d.ctl_rdata.value)
                await RisingEdge(d.clk)
                return value
        raise ProtocolError(f"no ack from the control port for address {addr:#010x}")

    async def write(self, addr: int, data: int) -> None:
        await self._request(addr, data, True)

    async def read(self, addr: int) -> int:
        return await self._request(addr, 0, False)

    # ------------------------------------------------------------------ packets
    def _beats(self, tag: int, port: int, data: bytes) -> list[dict]:
        beats = []
        chunks = [data[i:i + self.lanes] for i in range(0, len(data), self.lanes)] or [b""]
        for n, chunk in enumerate(chunks):
            beats.append({
                "data": int.from_bytes(chunk, "little"),
                "keep": (1 << len(chunk)) - 1,
                "first": int(n == 0), "last": int(n == len(chunks) - 1),
                "port": port, "tag": tag,
            })
        return beats

    async def run_packets(self, packets: list[tuple[int, int, bytes]], max_cycles: int,
                          ) -> tuple[dict[int, list[OutPacket]], int]:
        """Stream ``(tag, port, data)`` packets, collect what leaves until the pipeline is
        idle again. Returns the outputs by tag and the cycles it took."""
        d = self.dut
        beats = [b for tag, port, data in packets for b in self._beats(tag, port, data)]
        index = 0
        driving = False
        ready = True
        outputs: dict[int, list[OutPacket]] = {}
        current: OutPacket | None = None
        quiet = 0
        start = self.cycle
        self.stats = stats = {"in_beats": 0, "out_beats": 0}
        while True:
            await FallingEdge(d.clk)
            self.cycle += 1
            if self.cycle - start > max_cycles:
                raise ProtocolError(f"the pipeline did not finish within {max_cycles} cycles "
                                    f"({index}/{len(beats)} input beats accepted)")
            if driving and d.in_ready.value:
                index += 1
                stats.setdefault("first_in", self.cycle)
                stats["last_in"] = self.cycle
                stats["in_beats"] += 1
            if ready and d.out_valid.value:
                current = self._take_beat(current, outputs)
                stats.setdefault("first_out", self.cycle)
                stats["last_out"] = self.cycle
                stats["out_beats"] += 1
            busy = bool(d.busy.value) or bool(d.out_valid.value)
            quiet = quiet + 1 if (index == len(beats) and not busy) else 0
            if quiet > 4:
                break
            await RisingEdge(d.clk)
            driving = index < len(beats) and self.rng.random() >= self.idle
            d.in_valid.value = int(driving)
            if index < len(beats):
                b = beats[index]
                d.in_data.value = b["data"]
                d.in_keep.value = b["keep"]
                d.in_first.value = b["first"]
                d.in_last.value = b["last"]
                d.in_port.value = b["port"]
                d.in_tag.value = b["tag"]
            ready = self.rng.random() >= self.backpressure
            d.out_ready.value = int(ready)
        d.in_valid.value = 0
        d.out_ready.value = 1
        if current is not None:
            self.errors.append(f"packet tag {current.tag} has no last beat")
        return outputs, self.cycle - start

    def _take_beat(self, current: OutPacket | None,
                   outputs: dict[int, list[OutPacket]]) -> OutPacket | None:
        d = self.dut
        keep = int(d.out_keep.value)
        count = 0
        while keep >> count & 1:
            count += 1
        if keep != (1 << count) - 1:
            self.errors.append(f"keep {keep:#x} is not contiguous from lane 0")
        first, last = int(d.out_first.value), int(d.out_last.value)
        tag, port = int(d.out_tag.value), int(d.out_port.value)
        data = int(d.out_data.value).to_bytes(self.lanes, "little")[:count]
        if first != (current is None):
            self.errors.append(f"first={first} on a beat of tag {tag} "
                               f"({'inside' if current else 'outside'} a packet)")
        if current is None:
            current = OutPacket(tag, port)
            outputs.setdefault(tag, []).append(current)
        elif (tag, port) != (current.tag, current.port):
            self.errors.append(f"tag/port changed inside a packet ({current.tag}->{tag})")
        if count < self.lanes and not last:
            self.errors.append(f"a partial beat ({count} bytes) before the last one, tag {tag}")
        current.data += data
        return None if last else current
