"""cocotb: the MAC on its own (boards.loopback.MacLoopback) at its RGMII pins."""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer
from cocotbext.eth import GmiiFrame, RgmiiSink, RgmiiSource

PERIOD_NS = 8  # 125 MHz: one byte per clock at 1 Gb/s
BYTE_TIMES_PER_MIN_FRAME = 8 + 60 + 4 + 12  # preamble+SFD, data, FCS, gap


class TB:
    def __init__(self, dut):
        self.dut = dut
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
        cocotb.start_soon(self._shifted_clock())
        self.source = RgmiiSource(dut.rx_data, dut.rx_ctl, dut.clk, dut.rst)
        self.sink = RgmiiSink(dut.tx_data, dut.tx_ctl, dut.tx_clk, dut.rst)

    async def _shifted_clock(self):
        await Timer(PERIOD_NS // 4, unit="ns")
        await Clock(self.dut.tx90_clk, PERIOD_NS, unit="ns").start()

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 5)

    async def quiet(self, cycles=200):
        await self.source.wait()
        await ClockCycles(self.dut.clk, cycles)


def frame(length, seed):
    rng = random.Random(seed)
    dst = bytes([0x02, 0, 0, 0, 0, seed & 0xFF])
    return dst + bytes([0x02, 0, 0, 0, 1, 0]) + b"\x08\x00" + rng.randbytes(length - 14)


@cocotb.test()
async def good_frames_loop_back_with_correct_fcs(dut):
    tb = TB(dut)
    await tb.reset()
    sizes = [60, 61, 63, 64, 65, 127, 128, 500, 1514]
    sent = [frame(n, i) for i, n in enumerate(sizes)]
    for data in sent:
        await tb.source.send(GmiiFrame.from_payload(data))
    for data in sent:
        out = await tb.sink.recv()
        assert out.get_preamble() == b"\x55" * 7 + b"\xd5"
        assert out.check_fcs(), f"bad FCS on a {len(data)}-byte frame"
        assert bytes(out.get_payload()) == data
    await tb.quiet()
    assert tb.sink.empty()
    assert int(dut.frames_ok.value) == len(sizes)
    assert int(dut.frames_sent.value) == len(sizes)


@cocotb.test()
async def bad_fcs_frames_are_dropped_and_counted(dut):
    tb = TB(dut)
    await tb.reset()
    good = frame(100, 1)
    bad = bytearray(frame(100, 2))
    fcs = GmiiFrame.from_payload(bytes(bad)).get_fcs()
    corrupt = bytes(bad) + bytes([fcs[0] ^ 0x01]) + bytes(fcs[1:])
    flipped = bytearray(frame(200, 3))
    flipped_fcs = GmiiFrame.from_payload(bytes(flipped)).get_fcs()
    flipped[50] ^= 0x80  # a data bit flipped in flight
    await tb.source.send(GmiiFrame.from_raw_payload(corrupt))
    await tb.source.send(GmiiFrame.from_payload(good))
    await tb.source.send(GmiiFrame.from_raw_payload(bytes(flipped) + bytes(flipped_fcs)))
    out = await tb.sink.recv()
    assert bytes(out.get_payload()) == good
    await tb.quiet()
    assert tb.sink.empty(), "a frame with a bad FCS came out"
    assert int(dut.frames_bad_fcs.value) == 2
    assert int(dut.frames_ok.value) == 1


@cocotb.test()
async def runts_are_dropped_and_counted(dut):
    tb = TB(dut)
    await tb.reset()
    # Correct FCS, but shorter than 64 bytes on the wire.
    for length in (14, 40, 59):
        await tb.source.send(GmiiFrame.from_payload(frame(length, length), min_len=0))
    await tb.source.send(GmiiFrame.from_payload(frame(60, 9)))
    out = await tb.sink.recv()
    assert bytes(out.get_payload()) == frame(60, 9)
    await tb.quiet()
    assert tb.sink.empty()
    assert int(dut.frames_runt.value) == 3
    assert int(dut.frames_ok.value) == 1


@cocotb.test()
async def back_to_back_minimum_frames_at_line_rate(dut):
    tb = TB(dut)
    await tb.reset()
    count = 40
    sent = [frame(60, i) for i in range(count)]
    for data in sent:
        tb.source.send_nowait(GmiiFrame.from_payload(data))
    starts = []
    for data in sent:
        out = await tb.sink.recv()
        assert out.check_fcs()
        assert bytes(out.get_payload()) == data
        starts.append(out.sim_time_start)
    await tb.quiet()
    assert tb.sink.empty()
    # The transmitter keeps pace exactly: one minimum frame per 84 byte times (12-byte gap).
    gaps = {b - a for a, b in zip(starts, starts[1:], strict=False)}
    step_ps = BYTE_TIMES_PER_MIN_FRAME * PERIOD_NS * 1000
    assert gaps == {step_ps}, f"frame spacing {sorted(gaps)} ps, want {step_ps}"
    await Timer(1, unit="ns")
