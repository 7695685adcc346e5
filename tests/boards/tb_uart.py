"""cocotb: the UART-only NIC (boards.board.UartNic, the iCEBreaker's) with the stand-in
pipeline, driven bit by bit at its UART pins."""

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, with_timeout
from wirespeed.boards import protocol

DIVISOR = 8  # clocks per bit (the test top is built with the same)


class Uart:
    def __init__(self, dut):
        self.dut = dut
        dut.rx_pin.value = 1

    async def send(self, data: bytes):
        for byte in data:
            bits = [0] + [(byte >> i) & 1 for i in range(8)] + [1]
            for bit in bits:
                self.dut.rx_pin.value = bit
                await ClockCycles(self.dut.clk, DIVISOR)

    async def recv(self, count: int) -> bytes:
        got = bytearray()
        for _ in range(count):
            while int(self.dut.tx_pin.value):
                await FallingEdge(self.dut.clk)
            await ClockCycles(self.dut.clk, DIVISOR + DIVISOR // 2)
            byte = 0
            for i in range(8):
                byte |= int(self.dut.tx_pin.value) << i
                await ClockCycles(self.dut.clk, DIVISOR)
            assert int(self.dut.tx_pin.value) == 1, "no stop bit"
            got.append(byte)
        return bytes(got)

    async def record(self, record: protocol.Record) -> protocol.Response:
        await self.send(protocol.uart_request(record))
        raw = await with_timeout(self.recv(protocol.UART_RESPONSE_BYTES), 200, "us")
        return protocol.uart_response(raw)


async def start(dut) -> Uart:
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    uart = Uart(dut)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 5)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 5)
    return uart


def packet_out(port: int, data: bytes) -> bytes:
    body = port.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data
    return bytes([protocol.UART_PACKET_OUT_SYNC]) + body + bytes([sum(body) & 0xFF])


@cocotb.test()
async def records_and_packets_over_the_uart(dut):
    uart = await start(dut)
    ident = await uart.record(protocol.read(protocol.NIC_ID_ADDR))
    assert (ident.status, ident.data) == (protocol.OP_READ, protocol.NIC_ID)

    packet = bytes(range(70))
    await uart.send(protocol.uart_packet(3, packet))
    assert await with_timeout(uart.recv(len(packet) + 6), 500, "us") == packet_out(3, packet)

    # Route everything to port 300, read it back, and a packet follows.
    write = await uart.record(protocol.write(0, 0x8000_0000 | 300))
    assert (write.status, write.data) == (protocol.OP_WRITE, 0)
    back = await uart.record(protocol.read(0))
    assert back.data == 0x8000_0000 | 300
    await uart.send(protocol.uart_packet(1, packet[:9]))
    assert await with_timeout(uart.recv(9 + 6), 500, "us") == packet_out(300, packet[:9])


@cocotb.test()
async def bad_sums_are_refused(dut):
    uart = await start(dut)
    request = bytearray(protocol.uart_request(protocol.write(0, 0x8000_0001)))
    request[-1] ^= 0xFF
    await uart.send(bytes(request))
    raw = await with_timeout(uart.recv(protocol.UART_RESPONSE_BYTES), 200, "us")
    assert protocol.uart_response(raw).status == protocol.STATUS_BAD_SUM
    assert (await uart.record(protocol.read(0))).data == 0  # the write did not happen

    bad_packet = bytearray(protocol.uart_packet(0, bytes(20)))
    bad_packet[-1] ^= 0x01
    await uart.send(bytes(bad_packet))
    await uart.send(protocol.uart_packet(2, b"\x01\x02\x03"))
    # only the good packet comes out
    assert await with_timeout(uart.recv(3 + 6), 500, "us") == packet_out(2, b"\x01\x02\x03")
