"""cocotb: the whole NIC (boards.nic.Nic) at its RGMII pins, driven by a script.

The script (JSON, path in WIRESPEED_NIC_SCRIPT) lists frames to send, one at a time, each on
a port; after each the bench waits for the NIC to fall quiet (for a control frame: for its
reply) and files every frame that came out under that step. Every frame out must carry a
correct FCS. The outputs go to the JSON file named in the script for the host to judge.
"""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer, with_timeout
from cocotbext.eth import GmiiFrame, RgmiiSink, RgmiiSource

TX_PERIOD_PS = 8000
# Each PHY's receive clock runs at its own slightly different rate, as on a board.
RX_PERIODS_PS = (8000, 7992, 8008, 7996, 8004)


class TB:
    def __init__(self, dut, script):
        self.dut = dut
        self.script = script
        self.ports = script["ports"]
        cocotb.start_soon(Clock(dut.clk, script["sync_period_ps"], unit="ps").start())
        cocotb.start_soon(Clock(dut.eth_tx_clk, TX_PERIOD_PS, unit="ps").start())
        cocotb.start_soon(self._shifted_clock())
        self.sources = []
        self.sinks = []
        for n in range(self.ports):
            rx_clk = getattr(dut, f"eth_rx{n}_clk")
            period = RX_PERIODS_PS[n % len(RX_PERIODS_PS)]
            cocotb.start_soon(Clock(rx_clk, period, unit="ps").start())
            self.sources.append(RgmiiSource(getattr(dut, f"rgmii{n}_rx_data"),
                                            getattr(dut, f"rgmii{n}_rx_ctl"), rx_clk,
                                            getattr(dut, f"eth_rx{n}_rst")))
            self.sinks.append(RgmiiSink(getattr(dut, f"rgmii{n}_tx_data"),
                                        getattr(dut, f"rgmii{n}_tx_ctl"),
                                        getattr(dut, f"rgmii{n}_tx_clk"), dut.eth_tx_rst))
        if script["uart_divisor"]:
            dut.uart_rx.value = 1  # idle line from the start, or the receiver sees breaks
        self.outputs = []
        self.step = -1
        self.bad_fcs = []

    async def _shifted_clock(self):
        await Timer(TX_PERIOD_PS // 4, unit="ps")
        await Clock(self.dut.eth_tx90_clk, TX_PERIOD_PS, unit="ps").start()

    def _resets(self):
        return [self.dut.rst, self.dut.eth_tx_rst, self.dut.eth_tx90_rst,
                *(getattr(self.dut, f"eth_rx{n}_rst") for n in range(self.ports))]

    async def reset(self):
        for rst in self._resets():
            rst.value = 1
        await ClockCycles(self.dut.clk, 10)
        for rst in self._resets():
            rst.value = 0
        await ClockCycles(self.dut.clk, 10)
        for n, sink in enumerate(self.sinks):
            cocotb.start_soon(self._collect(n, sink))

    async def _collect(self, port, sink):
        while True:
            frame = await sink.recv()
            if not frame.check_fcs():
                self.bad_fcs.append((port, bytes(frame.get_payload()).hex()))
            self.outputs.append({
                "step": self.step, "port": port,
                "data": bytes(frame.get_payload()).hex(),
                "fcs_ok": bool(frame.check_fcs()),
                "preamble_ok": bytes(frame.get_preamble()) == b"\x55" * 7 + b"\xd5",
            })

    async def quiet(self, settle_ns):
        """Waits until nothing has come out for ``settle_ns`` and no port is mid-frame."""
        while True:
            seen = len(self.outputs)
            await Timer(settle_ns, unit="ns")
            sending = any(int(getattr(self.dut, f"rgmii{n}_tx_ctl").value)
                          for n in range(self.ports))
            if len(self.outputs) == seen and not sending:
                return

    async def reply(self, timeout_ns):
        """Waits for the control reply of the current step."""
        waited = 0
        while not any(o["step"] == self.step and o["data"][24:28] == "88b5"
                      for o in self.outputs):
            await Timer(500, unit="ns")
            waited += 500
            assert waited < timeout_ns, f"no control reply for step {self.step}"


class UartHost:
    """The host end of the NIC's control UART, bit by bit on its pins."""

    def __init__(self, dut, period_ps, divisor):
        self.dut = dut
        self.bit_ps = period_ps * divisor
        dut.uart_rx.value = 1

    async def send(self, data):
        for byte in data:
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                self.dut.uart_rx.value = bit
                await Timer(self.bit_ps, unit="ps")

    async def recv(self, count):
        got = bytearray()
        for _ in range(count):
            while int(self.dut.uart_tx.value):
                await Timer(self.bit_ps // 16, unit="ps")
            await Timer(self.bit_ps * 3 // 2, unit="ps")
            byte = 0
            for i in range(8):
                byte |= int(self.dut.uart_tx.value) << i
                await Timer(self.bit_ps, unit="ps")
            got.append(byte)
        return bytes(got)


@cocotb.test()
async def run_script(dut):
    with open(os.environ["WIRESPEED_NIC_SCRIPT"]) as f:
        script = json.load(f)
    tb = TB(dut, script)
    await tb.reset()
    for index, step in enumerate(script["steps"]):
        tb.step = index
        data = bytes.fromhex(step["frame"])
        if step["kind"] == "uart":
            uart = UartHost(dut, script["sync_period_ps"], script["uart_divisor"])
            await uart.send(data)
            answer = await with_timeout(uart.recv(step["answer_bytes"]), 1000, "us")
            tb.outputs.append({"step": index, "port": -1, "data": answer.hex(),
                               "fcs_ok": True, "preamble_ok": True})
            continue
        await tb.sources[step["port"]].send(GmiiFrame.from_payload(data,
                                                                   min_len=script["pad_to"]))
        await tb.sources[step["port"]].wait()
        if step["kind"] == "control":
            await tb.reply(timeout_ns=200_000)
        # Long enough for the frame to cross both store-and-forward buffers.
        await tb.quiet(script["settle_ns"] + 16 * len(data))
    with open(script["result"], "w") as f:
        json.dump(tb.outputs, f)
    assert not tb.bad_fcs, f"frames with a bad FCS came out: {tb.bad_fcs}"
    assert all(o["preamble_ok"] for o in tb.outputs)
