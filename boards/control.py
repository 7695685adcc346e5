"""The NIC's control path: 9-byte records that write and read 32-bit words of the control
address space, carried over a UART or inside Ethernet frames (EtherType 0x88B5).

The byte formats are specified in docs/boards.md and implemented for the host in
``boards.protocol``; this module is the hardware side.
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.hdl import Value
from amaranth.hdl._ast import Assign
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out
from wirespeed.boards import protocol
from wirespeed.boards.streams import ByteToWide, PacketFifo, WideToByte, packet_stream


def control_bus() -> wiring.Signature:
    """Master's view: hold ``req`` (with ``we``/``addr``/``wdata``) until ``ack``; ``rdata``
    is valid with ``ack`` for a read."""
    return wiring.Signature({
        "req": Out(1), "we": Out(1), "addr": Out(32), "wdata": Out(32),
        "ack": In(1), "rdata": In(32),
    })


class RecordExecutor(wiring.Component):
    """Runs one request record (op, addr, data) on the bus and gives the response record."""

    start: In(1)
    op: In(8)
    addr: In(32)
    wdata: In(32)
    done: Out(1)
    status: Out(8)
    rdata: Out(32)
    bus: Out(control_bus())

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.d.sync += self.done.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    with m.If((self.op == protocol.OP_WRITE) | (self.op == protocol.OP_READ)):
                        m.d.sync += [self.bus.addr.eq(self.addr), self.bus.wdata.eq(self.wdata),
                                     self.bus.we.eq(self.op == protocol.OP_WRITE),
                                     self.status.eq(self.op)]
                        m.next = "BUS"
                    with m.Else():
                        m.d.sync += [self.status.eq(protocol.STATUS_BAD_OP),
                                     self.rdata.eq(0), self.done.eq(1)]
            with m.State("BUS"):
                m.d.comb += self.bus.req.eq(1)
                with m.If(self.bus.ack):
                    m.d.sync += [self.rdata.eq(Mux(self.bus.we, 0, self.bus.rdata)),
                                 self.done.eq(1)]
                    m.next = "IDLE"
        return m


class UartRx(wiring.Component):
    """8N1 receiver; ``valid`` pulses with each byte."""

    pin: In(1, init=1)
    valid: Out(1)
    data: Out(8)

    def __init__(self, divisor: int):
        super().__init__()
        self._divisor = divisor

    def elaborate(self, platform: object) -> Module:
        m = Module()
        pin = Signal(init=1)
        pin_sync = Signal(init=1)
        m.d.sync += [pin_sync.eq(self.pin), pin.eq(pin_sync)]
        timer = Signal(range(self._divisor * 3 // 2 + 1))
        bit = Signal(range(9))
        shift = Signal(8)
        m.d.sync += self.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~pin):
                    # First sample in the middle of data bit 0.
                    m.d.sync += [timer.eq(self._divisor * 3 // 2 - 1), bit.eq(0)]
                    m.next = "BITS"
            with m.State("BITS"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self._divisor - 1), shift.eq(Cat(shift[1:], pin)),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(pin):
                        m.d.sync += [self.valid.eq(1), self.data.eq(shift)]
                    m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    """8N1 transmitter with valid/ready."""

    valid: In(1)
    ready: Out(1)
    data: In(8)
    pin: Out(1, init=1)

    def __init__(self, divisor: int):
        super().__init__()
        self._divisor = divisor

    def elaborate(self, platform: object) -> Module:
        m = Module()
        timer = Signal(range(self._divisor))
        shift = Signal(10, init=0x3FF)
        bits_left = Signal(range(11))
        m.d.comb += self.ready.eq(bits_left == 0)
        m.d.sync += self.pin.eq(shift[0])
        with m.If(self.valid & self.ready):
            m.d.sync += [shift.eq(Cat(0, self.data, 1)), bits_left.eq(10),
                         timer.eq(self._divisor - 1)]
        with m.Elif(bits_left != 0):
            m.d.sync += timer.eq(timer - 1)
            with m.If(timer == 0):
                m.d.sync += [timer.eq(self._divisor - 1), shift.eq(Cat(shift[1:], 1)),
                             bits_left.eq(bits_left - 1)]
        return m


class UartControl(wiring.Component):
    """Control records over a UART: ``A5 record(9) sum`` in, ``5A status data(4) sum`` out
    (``sum``: the bytes between, added modulo 256). A request with a wrong sum is answered
    with status ``STATUS_BAD_SUM`` and not executed; bytes outside a request are ignored."""

    rx_pin: In(1, init=1)
    tx_pin: Out(1, init=1)
    bus: Out(control_bus())

    def __init__(self, divisor: int):
        super().__init__()
        self._divisor = divisor

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.rx = rx = UartRx(self._divisor)
        m.submodules.tx = tx = UartTx(self._divisor)
        m.submodules.executor = executor = RecordExecutor()
        wiring.connect(m, wiring.flipped(self.bus), executor.bus)
        m.d.comb += [rx.pin.eq(self.rx_pin), self.tx_pin.eq(tx.pin)]

        request = Signal(protocol.RECORD_BYTES * 8)
        count = Signal(range(protocol.RECORD_BYTES + 1))
        checksum = Signal(8)
        response = Signal(protocol.UART_RESPONSE_BYTES * 8)
        to_send = Signal(range(protocol.UART_RESPONSE_BYTES + 1))

        # The record travels big-endian: the first byte received is the op.
        m.d.comb += [
            executor.op.eq(request[64:72]),
            executor.addr.eq(request[32:64]),
            executor.wdata.eq(request[0:32]),
        ]
        m.d.comb += [tx.data.eq(response[-8:]), tx.valid.eq(to_send != 0)]
        with m.If(tx.valid & tx.ready):
            m.d.sync += [response.eq(response << 8), to_send.eq(to_send - 1)]

        def respond(status: Value, data: Value) -> list[Assign]:
            checksum = (status + data[0:8] + data[8:16] + data[16:24] + data[24:32])[:8]
            # Sent MSB first: sync, status, data big-endian, sum.
            return [response.eq(Cat(checksum, data, status,
                                    Const(protocol.UART_RESPONSE_SYNC, 8))),
                    to_send.eq(protocol.UART_RESPONSE_BYTES)]

        with m.FSM():
            with m.State("SYNC"):
                with m.If(rx.valid & (rx.data == protocol.UART_REQUEST_SYNC)):
                    m.d.sync += [count.eq(0), checksum.eq(0)]
                    m.next = "RECORD"
            with m.State("RECORD"):
                with m.If(rx.valid):
                    m.d.sync += [request.eq(Cat(rx.data, request[:-8])),
                                 checksum.eq(checksum + rx.data), count.eq(count + 1)]
                    with m.If(count == protocol.RECORD_BYTES - 1):
                        m.next = "SUM"
            with m.State("SUM"):
                with m.If(rx.valid):
                    with m.If(rx.data == checksum):
                        m.d.comb += executor.start.eq(1)
                        m.next = "EXECUTE"
                    with m.Else():
                        m.d.sync += respond(Const(protocol.STATUS_BAD_SUM, 8), Const(0, 32))
                        m.next = "SYNC"
            with m.State("EXECUTE"):
                with m.If(executor.done):
                    m.d.sync += respond(executor.status, executor.rdata)
                    m.next = "SYNC"
        return m


class FrameControl(wiring.Component):
    """Control records inside Ethernet frames of EtherType 0x88B5.

    In: whole control frames (FCS already checked), ``port`` = where they came in. Out: one
    reply frame per request, sent back out of the same port to the requester's MAC address,
    carrying one 5-byte response per record. The payload layout is in docs/boards.md.
    """

    def __init__(self, width: int, board_mac: int, reply_depth: int = 128):
        self._width = width
        self._board_mac = board_mac
        self._reply_depth = reply_depth
        super().__init__({
            "i": In(packet_stream(width)),
            "o": Out(packet_stream(width)),
            "bus": Out(control_bus()),
            "frames": Out(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.unpack = unpack = WideToByte(self._width)
        m.submodules.executor = executor = RecordExecutor()
        m.submodules.pack = pack = ByteToWide(self._width)
        m.submodules.replies = replies = PacketFifo(self._width, self._reply_depth,
                                                    backpressure=False)
        wiring.connect(m, wiring.flipped(self.bus), executor.bus)
        wiring.connect(m, wiring.flipped(self.i), unpack.i)
        m.d.comb += [
            replies.w_valid.eq(pack.o_valid), replies.w_data.eq(pack.o_data),
            replies.w_keep.eq(pack.o_keep), replies.w_last.eq(pack.o_last),
            replies.w_ok.eq(pack.o_ok),
        ]
        reply_port = Signal.like(self.i.port)
        m.d.comb += [
            self.o.data.eq(replies.r.data), self.o.keep.eq(replies.r.keep),
            self.o.first.eq(replies.r.first), self.o.last.eq(replies.r.last),
            self.o.valid.eq(replies.r.valid), replies.r.ready.eq(self.o.ready),
            self.o.port.eq(reply_port),
        ]
        with m.If(self.i.valid & self.i.ready & self.i.first):
            m.d.sync += reply_port.eq(self.i.port)

        # The reply is written one byte behind, so the final byte can carry ``last`` once the
        # request is known to be over.
        pending = Signal(8)
        has_pending = Signal()
        emit = Signal()
        emit_byte = Signal(8)
        finish = Signal()
        m.d.comb += [pack.i_valid.eq((emit | finish) & has_pending), pack.i_data.eq(pending),
                     pack.i_last.eq(finish), pack.i_ok.eq(1)]
        with m.If(emit):
            m.d.sync += [pending.eq(emit_byte), has_pending.eq(1)]
        with m.If(finish):
            m.d.sync += has_pending.eq(0)

        index = Signal(range(protocol.FRAME_HEADER_BYTES + 1))
        requester = Signal(48)
        records_left = Signal(8)
        header = Signal(protocol.FRAME_HEADER_BYTES * 8)  # reply header, sent MSB first
        request = Signal(protocol.RECORD_BYTES * 8)
        response = Signal(protocol.FRAME_RESPONSE_BYTES * 8)
        request_ok = Signal()
        frame_over = Signal()
        byte = unpack.o
        m.d.comb += [
            executor.op.eq(request[64:72]),
            executor.addr.eq(request[32:64]),
            executor.wdata.eq(request[0:32]),
        ]
        m.d.sync += self.frames.eq(0)

        with m.FSM():
            with m.State("HEADER"):
                m.d.comb += byte.ready.eq(1)
                with m.If(byte.valid):
                    m.d.sync += index.eq(index + 1)
                    with m.If((index >= 6) & (index < 12)):
                        m.d.sync += requester.eq(Cat(byte.data, requester[:-8]))
                    with m.If(index == protocol.FRAME_HEADER_BYTES - 2):
                        m.d.sync += request_ok.eq(byte.data == protocol.FRAME_VERSION)
                    with m.If(byte.last):
                        m.d.sync += index.eq(0)
                        with m.If(has_pending):
                            m.d.comb += finish.eq(1)
                    with m.Elif(index == protocol.FRAME_HEADER_BYTES - 1):
                        m.d.sync += [records_left.eq(byte.data), index.eq(0)]
                        m.d.sync += header.eq(Cat(
                            byte.data, Const(protocol.FRAME_VERSION | protocol.REPLY_FLAG, 8),
                            Const(protocol.ETHERTYPE, 16), Const(self._board_mac, 48),
                            requester))
                        with m.If(request_ok):
                            m.d.sync += self.frames.eq(1)
                            m.next = "REPLY_HEADER"
                        with m.Else():
                            m.next = "SKIP"
            with m.State("REPLY_HEADER"):
                m.d.comb += [emit.eq(1), emit_byte.eq(header[-8:])]
                m.d.sync += [header.eq(header << 8), index.eq(index + 1)]
                with m.If(index == protocol.FRAME_HEADER_BYTES - 1):
                    m.d.sync += index.eq(0)
                    m.next = "RECORD"
            with m.State("RECORD"):
                with m.If(records_left == 0):
                    with m.If(frame_over):
                        m.d.comb += finish.eq(1)
                        m.d.sync += frame_over.eq(0)
                        m.next = "HEADER"
                    with m.Else():
                        m.next = "SKIP"
                with m.Elif(frame_over):
                    # The frame ended before the announced records did.
                    m.d.comb += finish.eq(1)
                    m.d.sync += frame_over.eq(0)
                    m.next = "HEADER"
                with m.Else():
                    m.d.comb += byte.ready.eq(1)
                    with m.If(byte.valid):
                        m.d.sync += [request.eq(Cat(byte.data, request[:-8])),
                                     index.eq(index + 1)]
                        with m.If(index == protocol.RECORD_BYTES - 1):
                            m.d.sync += [index.eq(0), frame_over.eq(byte.last)]
                            m.next = "EXECUTE"
                        with m.Elif(byte.last):
                            # A record cut short by the end of the frame is not executed.
                            m.d.comb += finish.eq(1)
                            m.d.sync += index.eq(0)
                            m.next = "HEADER"
            with m.State("EXECUTE"):
                m.d.comb += executor.start.eq(index == 0)
                m.d.sync += index.eq(1)
                with m.If(executor.done):
                    m.d.sync += [
                        response.eq(Cat(executor.rdata, executor.status)),
                        index.eq(0), records_left.eq(records_left - 1),
                    ]
                    m.next = "RESPONSE"
            with m.State("RESPONSE"):
                m.d.comb += [emit.eq(1), emit_byte.eq(response[-8:])]
                m.d.sync += [response.eq(response << 8), index.eq(index + 1)]
                with m.If(index == protocol.FRAME_RESPONSE_BYTES - 1):
                    m.d.sync += index.eq(0)
                    m.next = "RECORD"
            with m.State("SKIP"):
                # Padding and anything after the announced records.
                m.d.comb += byte.ready.eq(1)
                with m.If(byte.valid & byte.last):
                    with m.If(has_pending):
                        m.d.comb += finish.eq(1)
                    m.d.sync += index.eq(0)
                    m.next = "HEADER"
        return m


class UartPacketPort(wiring.Component):
    """A whole NIC over one UART, for boards without Ethernet: control records as in
    ``UartControl``, and packets both ways.

    In: ``A6 port(2) length(2) data sum`` (``sum`` over everything after ``A6``), a packet
    for the pipeline arriving on ``port``; a wrong sum drops it. Out: the pipeline's packets
    as ``5B port(2) length(2) data sum``, and control answers as ``5A status data(4) sum``.
    Packets are stored whole in both directions, so the UART never waits on the pipeline.
    """

    def __init__(self, divisor: int, width: int, buffer_bytes: int = 2048):
        self._divisor = divisor
        self._width = width
        self._rows = buffer_bytes // (width // 8)
        super().__init__({
            "rx_pin": In(1, init=1), "tx_pin": Out(1, init=1),
            "bus": Out(control_bus()),
            "to_pipeline": Out(packet_stream(width)),
            "from_pipeline": In(packet_stream(width)),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.rx = rx = UartRx(self._divisor)
        m.submodules.tx = tx = UartTx(self._divisor)
        m.submodules.executor = executor = RecordExecutor()
        m.submodules.pack = pack = ByteToWide(self._width)
        m.submodules.inbound = inbound = PacketFifo(self._width, self._rows,
                                                    backpressure=False)
        m.submodules.outbound = outbound = PacketFifo(self._width, self._rows,
                                                      backpressure=True)
        m.submodules.unpack = unpack = WideToByte(self._width)
        wiring.connect(m, wiring.flipped(self.bus), executor.bus)
        m.d.comb += [rx.pin.eq(self.rx_pin), self.tx_pin.eq(tx.pin)]

        # ---- receive: requests and packets
        request = Signal(protocol.RECORD_BYTES * 8)
        count = Signal(16)
        length = Signal(16)
        in_port = Signal(16)
        checksum = Signal(8)
        m.d.comb += [
            executor.op.eq(request[64:72]), executor.addr.eq(request[32:64]),
            executor.wdata.eq(request[0:32]),
            inbound.w_valid.eq(pack.o_valid), inbound.w_data.eq(pack.o_data),
            inbound.w_keep.eq(pack.o_keep), inbound.w_last.eq(pack.o_last),
            inbound.w_ok.eq(pack.o_ok),
        ]
        # The UART delivers a byte per ~87 us at 115200 baud; a stored packet reaches the
        # pipeline in a few clocks, long before the next packet's header is complete, so one
        # register holds the port of the packet being read out.
        ready_port = Signal(9)
        with m.If(pack.o_valid & pack.o_last & pack.o_ok):
            m.d.sync += ready_port.eq(in_port)
        m.d.comb += [
            self.to_pipeline.data.eq(inbound.r.data), self.to_pipeline.keep.eq(inbound.r.keep),
            self.to_pipeline.first.eq(inbound.r.first), self.to_pipeline.last.eq(inbound.r.last),
            self.to_pipeline.port.eq(ready_port), self.to_pipeline.valid.eq(inbound.r.valid),
            inbound.r.ready.eq(self.to_pipeline.ready),
        ]

        response = Signal(protocol.UART_RESPONSE_BYTES * 8)
        response_left = Signal(range(protocol.UART_RESPONSE_BYTES + 1))

        def respond(status: Value, data: Value) -> list[Assign]:
            checksum = (status + data[0:8] + data[8:16] + data[16:24] + data[24:32])[:8]
            return [response.eq(Cat(checksum, data, status,
                                    Const(protocol.UART_RESPONSE_SYNC, 8))),
                    response_left.eq(protocol.UART_RESPONSE_BYTES)]

        last_byte = Signal(8)
        have_byte = Signal()
        with m.FSM(name="receive"):
            with m.State("SYNC"):
                with m.If(rx.valid):
                    m.d.sync += [count.eq(0), checksum.eq(0)]
                    with m.If(rx.data == protocol.UART_REQUEST_SYNC):
                        m.next = "RECORD"
                    with m.Elif(rx.data == protocol.UART_PACKET_SYNC):
                        m.next = "PACKET_HEADER"
            with m.State("RECORD"):
                with m.If(rx.valid):
                    m.d.sync += [request.eq(Cat(rx.data, request[:-8])),
                                 checksum.eq(checksum + rx.data), count.eq(count + 1)]
                    with m.If(count == protocol.RECORD_BYTES - 1):
                        m.next = "RECORD_SUM"
            with m.State("RECORD_SUM"):
                with m.If(rx.valid):
                    with m.If(rx.data == checksum):
                        m.d.comb += executor.start.eq(1)
                        m.next = "EXECUTE"
                    with m.Else():
                        m.d.sync += respond(Const(protocol.STATUS_BAD_SUM, 8), Const(0, 32))
                        m.next = "SYNC"
            with m.State("EXECUTE"):
                with m.If(executor.done):
                    m.d.sync += respond(executor.status, executor.rdata)
                    m.next = "SYNC"
            with m.State("PACKET_HEADER"):
                with m.If(rx.valid):
                    m.d.sync += [checksum.eq(checksum + rx.data), count.eq(count + 1)]
                    with m.Switch(count):
                        with m.Case(0):
                            m.d.sync += in_port[8:].eq(rx.data)
                        with m.Case(1):
                            m.d.sync += in_port[:8].eq(rx.data)
                        with m.Case(2):
                            m.d.sync += length[8:].eq(rx.data)
                        with m.Case(3):
                            m.d.sync += [length[:8].eq(rx.data), count.eq(0), have_byte.eq(0)]
                            m.next = "PACKET_DATA"
            with m.State("PACKET_DATA"):
                # Each byte is handed on when the next arrives, so the last data byte can be
                # marked once the sum has been checked.
                with m.If(rx.valid):
                    with m.If(count == length):
                        m.d.comb += [pack.i_valid.eq(have_byte), pack.i_data.eq(last_byte),
                                     pack.i_last.eq(1), pack.i_ok.eq(rx.data == checksum)]
                        m.next = "SYNC"
                    with m.Else():
                        m.d.comb += [pack.i_valid.eq(have_byte), pack.i_data.eq(last_byte)]
                        m.d.sync += [last_byte.eq(rx.data), have_byte.eq(1),
                                     checksum.eq(checksum + rx.data), count.eq(count + 1)]

        # ---- transmit: control answers first, then whole packets with their length
        counting = Signal(16)
        lanes = self._width // 8
        m.d.comb += [
            outbound.w_valid.eq(self.from_pipeline.valid),
            self.from_pipeline.ready.eq(outbound.w_ready),
            outbound.w_data.eq(self.from_pipeline.data),
            outbound.w_keep.eq(self.from_pipeline.keep),
            outbound.w_last.eq(self.from_pipeline.last), outbound.w_ok.eq(1),
        ]
        beat_bytes = sum(self.from_pipeline.keep[i] for i in range(lanes))
        # Lengths of the stored packets, in order (the buffer holds at most this many).
        m.submodules.lengths = lengths = SyncFIFO(width=25, depth=16)
        with m.If(self.from_pipeline.valid & self.from_pipeline.ready):
            with m.If(self.from_pipeline.last):
                m.d.sync += counting.eq(0)
            with m.Else():
                m.d.sync += counting.eq(counting + beat_bytes)
        m.d.comb += [
            lengths.w_en.eq(self.from_pipeline.valid & self.from_pipeline.ready
                            & self.from_pipeline.last),
            lengths.w_data.eq(Cat((counting + beat_bytes)[:16], self.from_pipeline.port)),
        ]
        wiring.connect(m, outbound.r, unpack.i)
        header = Signal(40)
        header_left = Signal(range(6))
        out_sum = Signal(8)
        with m.FSM(name="transmit"):
            with m.State("IDLE"):
                with m.If(response_left != 0):
                    m.next = "RESPONSE"
                with m.Elif(lengths.r_rdy):
                    m.d.comb += lengths.r_en.eq(1)
                    m.d.sync += [
                        # Sent MSB first: 5B, port (2 bytes), length (2 bytes).
                        header.eq(Cat(lengths.r_data[0:8], lengths.r_data[8:16],
                                      lengths.r_data[16:24], lengths.r_data[24], Const(0, 7),
                                      Const(protocol.UART_PACKET_OUT_SYNC, 8))),
                        header_left.eq(5), out_sum.eq(0),
                    ]
                    m.next = "PACKET_HEADER"
            with m.State("RESPONSE"):
                m.d.comb += [tx.data.eq(response[-8:]), tx.valid.eq(1)]
                with m.If(tx.ready):
                    m.d.sync += [response.eq(response << 8), response_left.eq(response_left - 1)]
                    with m.If(response_left == 1):
                        m.next = "IDLE"
            with m.State("PACKET_HEADER"):
                byte = Signal(8)
                m.d.comb += [byte.eq(header[32:40]), tx.data.eq(byte), tx.valid.eq(1)]
                with m.If(tx.ready):
                    m.d.sync += [header.eq(header << 8), header_left.eq(header_left - 1)]
                    with m.If(header_left != 5):
                        m.d.sync += out_sum.eq(out_sum + byte)
                    with m.If(header_left == 1):
                        m.next = "PACKET_DATA"
            with m.State("PACKET_DATA"):
                m.d.comb += [tx.data.eq(unpack.o.data), tx.valid.eq(unpack.o.valid),
                             unpack.o.ready.eq(tx.ready)]
                with m.If(unpack.o.valid & tx.ready):
                    m.d.sync += out_sum.eq(out_sum + unpack.o.data)
                    with m.If(unpack.o.last):
                        m.next = "PACKET_SUM"
            with m.State("PACKET_SUM"):
                m.d.comb += [tx.data.eq(out_sum), tx.valid.eq(1)]
                with m.If(tx.ready):
                    m.next = "IDLE"
        return m
