"""Packet streams inside the NIC: width conversion, store-and-forward buffers, arbitration.

A packet stream beat carries ``data`` (W bits, byte ``i`` of the beat in ``data[8i:8i+8]``,
the first byte on the wire in lane 0), ``keep`` (one bit per lane, contiguous from lane 0),
``first``/``last`` and a ``port`` sideband (ingress port into the pipeline, egress port out
of it), with ``valid``/``ready``.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

PORT_WIDTH = 9


def packet_stream(width: int) -> wiring.Signature:
    return wiring.Signature({
        "data": Out(width),
        "keep": Out(width // 8),
        "first": Out(1),
        "last": Out(1),
        "port": Out(PORT_WIDTH),
        "valid": Out(1),
        "ready": In(1),
    })


def byte_stream() -> wiring.Signature:
    return wiring.Signature({
        "data": Out(8),
        "last": Out(1),
        "valid": Out(1),
        "ready": In(1),
    })


class ByteToWide(wiring.Component):
    """Packs bytes into W-bit beats. The input is never stalled (it comes off the wire) and
    the output must accept every beat it is offered: at most one per W/8 bytes, plus the
    short last beat. ``ok`` travels with ``last`` (the MAC's FCS verdict)."""

    def __init__(self, width: int):
        self._lanes = width // 8
        super().__init__({
            "i_valid": In(1), "i_data": In(8), "i_last": In(1), "i_ok": In(1),
            "o_valid": Out(1), "o_data": Out(width), "o_keep": Out(self._lanes),
            "o_last": Out(1), "o_ok": Out(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        lane = Signal(range(self._lanes))
        m.d.sync += [self.o_valid.eq(0), self.o_last.eq(0), self.o_ok.eq(0)]
        with m.If(self.i_valid):
            m.d.sync += self.o_data.word_select(lane, 8).eq(self.i_data)
            m.d.sync += self.o_keep.eq(Mux(lane == 0, 1, self.o_keep | (1 << lane)))
            m.d.sync += lane.eq(lane + 1)
            with m.If(self.i_last | (lane == self._lanes - 1)):
                m.d.sync += [self.o_valid.eq(1), self.o_last.eq(self.i_last),
                             self.o_ok.eq(self.i_ok), lane.eq(0)]
        return m


class WideToByte(wiring.Component):
    """Unpacks W-bit beats into bytes, one per clock with no gap between beats."""

    def __init__(self, width: int):
        self._lanes = width // 8
        super().__init__({"i": In(packet_stream(width)), "o": Out(byte_stream())})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        data = Signal(self._lanes * 8)
        last = Signal()
        have = Signal()
        lane = Signal(range(self._lanes))
        final = Signal(range(self._lanes))  # the beat's last kept lane (keep is contiguous)
        # ``at_final`` is a register, so taking the next beat (``i.ready``, the read side of
        # the transmit FIFO at 125 MHz) waits on one flip-flop rather than on a lane index into
        # ``keep``: that path held the transmit clock to 115.6 MHz (120.4 MHz with this)
        at_final = Signal()
        beat_done = Signal()
        # ``data`` shifts down a byte per byte sent, so the byte out comes straight from
        # flip-flops into the MAC's CRC (a lane multiplexer there held the transmit clock)
        m.d.comb += [
            self.o.valid.eq(have),
            self.o.data.eq(data[:8]),
            self.o.last.eq(last & at_final),
            beat_done.eq(have & self.o.ready & at_final),
            self.i.ready.eq(~have | beat_done),
        ]
        with m.If(have & self.o.ready):
            m.d.sync += [lane.eq(lane + 1), at_final.eq(lane + 1 == final), data.eq(data >> 8)]
        with m.If(beat_done):
            m.d.sync += [have.eq(0), lane.eq(0)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [data.eq(self.i.data), last.eq(self.i.last), have.eq(1), lane.eq(0),
                         final.eq(_last_lane(self.i.keep)), at_final.eq(~self.i.keep[1:].any())]
        return m


def _last_lane(keep: Value) -> Value:
    """The index of the last kept lane (0 when none is), for ``keep`` contiguous from lane 0:
    where lane ``k`` is kept and lane ``k + 1`` is not, each index bit an OR of those edges.
    Two LUT levels where a count of the kept lanes is an adder chain (the transmit FIFO's
    read into ``WideToByte`` at 125 MHz)."""
    lanes = len(keep)
    edges = [keep[k] & ~keep[k + 1] if k + 1 < lanes else keep[k] for k in range(lanes)]
    return Cat(*[Cat(*[edges[k] for k in range(lanes) if k >> b & 1]).any()
                 for b in range(max(1, (lanes - 1).bit_length()))])


class PacketFifo(wiring.Component):
    """Store and forward: a frame becomes visible to the reader only once its last beat is
    written with ``w_ok`` high; a frame with ``w_ok`` low, or one that does not fit, is
    rolled back as if it never came (``dropped``/``overflow`` pulse once per frame).

    With ``backpressure=False`` the writer is never stalled (frames off the wire): a full
    buffer drops the frame being written. With ``backpressure=True`` the writer waits while
    the buffer is full of complete frames, and only a frame bigger than the whole buffer is
    dropped (waiting for it would deadlock).
    """

    def __init__(self, width: int, depth: int, backpressure: bool):
        assert depth & (depth - 1) == 0, "depth must be a power of two"
        self._width = width
        self._depth = depth
        self._backpressure = backpressure
        super().__init__({
            "w_valid": In(1), "w_ready": Out(1), "w_data": In(width), "w_keep": In(width // 8),
            "w_last": In(1), "w_ok": In(1),
            "r": Out(packet_stream(width)),
            "dropped": Out(1), "overflow": Out(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        lanes = self._width // 8
        row = self._width + lanes + 1
        m.submodules.mem = mem = Memory(shape=row, depth=self._depth, init=[])
        wport = mem.write_port()
        rport = mem.read_port()

        wp = Signal(range(self._depth))        # next row to write (speculative)
        committed = Signal(range(self._depth))  # end of the last complete frame
        rp = Signal(range(self._depth))         # next row to read
        discarding = Signal()                   # rest of a frame that no longer fits
        full = Signal()
        m.d.comb += full.eq((wp + 1)[:len(wp)] == rp)
        whole_buffer_is_one_frame = Signal()
        m.d.comb += whole_buffer_is_one_frame.eq(full & (committed == rp))

        m.d.sync += [self.dropped.eq(0), self.overflow.eq(0)]
        if self._backpressure:
            m.d.comb += self.w_ready.eq(~full | discarding | whole_buffer_is_one_frame)
        else:
            m.d.comb += self.w_ready.eq(1)
        take = Signal()
        m.d.comb += take.eq(self.w_valid & self.w_ready)
        m.d.comb += [
            wport.addr.eq(wp),
            wport.data.eq(Cat(self.w_data, self.w_keep, self.w_last)),
        ]
        no_room = whole_buffer_is_one_frame if self._backpressure else full
        with m.If(take):
            with m.If(discarding | no_room):
                m.d.sync += wp.eq(committed)
                with m.If(self.w_last):
                    m.d.sync += [discarding.eq(0), self.overflow.eq(1)]
                with m.Else():
                    m.d.sync += discarding.eq(1)
            with m.Else():
                m.d.comb += wport.en.eq(1)
                with m.If(self.w_last):
                    with m.If(self.w_ok):
                        m.d.sync += [wp.eq(wp + 1), committed.eq(wp + 1)]
                    with m.Else():
                        m.d.sync += [wp.eq(committed), self.dropped.eq(1)]
                with m.Else():
                    m.d.sync += wp.eq(wp + 1)

        # Read side: a registered output stage fed by the synchronous read port.
        advance = Signal()
        at_start = Signal(init=1)
        m.d.comb += [advance.eq(~self.r.valid | self.r.ready), rport.addr.eq(rp),
                     rport.en.eq(advance)]
        with m.If(advance):
            m.d.sync += self.r.valid.eq(rp != committed)
            with m.If(rp != committed):
                m.d.sync += rp.eq(rp + 1)
        m.d.comb += [
            self.r.data.eq(rport.data[:self._width]),
            self.r.keep.eq(rport.data[self._width:self._width + lanes]),
            self.r.last.eq(rport.data[-1]),
            self.r.first.eq(at_start),
        ]
        with m.If(self.r.valid & self.r.ready):
            m.d.sync += at_start.eq(self.r.last)
        return m


class PacketArbiter(wiring.Component):
    """Merges packet streams, one whole packet at a time, taking turns."""

    def __init__(self, width: int, count: int):
        self._count = count
        super().__init__({
            **{f"i{n}": In(packet_stream(width)) for n in range(count)},
            "o": Out(packet_stream(width)),
        })

    def inputs(self) -> list[wiring.PureInterface]:
        return [getattr(self, f"i{n}") for n in range(self._count)]

    def elaborate(self, platform: object) -> Module:
        m = Module()
        inputs = self.inputs()
        grant = Signal(range(max(self._count, 2)))
        busy = Signal()
        chosen = Signal.like(grant)
        # The first waiting input after the one served last wins.
        m.d.comb += chosen.eq(grant)
        for offset in reversed(range(1, self._count + 1)):
            candidate = Signal.like(grant, name=f"candidate{offset}")
            m.d.comb += candidate.eq(Mux(grant + offset >= self._count,
                                         grant + offset - self._count, grant + offset))
            valid_here = Const(0)
            for n, port in enumerate(inputs):
                valid_here = valid_here | ((candidate == n) & port.valid)
            with m.If(valid_here):
                m.d.comb += chosen.eq(candidate)
        current = Signal.like(grant)
        m.d.comb += current.eq(Mux(busy, grant, chosen))
        for n, port in enumerate(inputs):
            with m.If(current == n):
                m.d.comb += [
                    self.o.data.eq(port.data), self.o.keep.eq(port.keep),
                    self.o.first.eq(port.first), self.o.last.eq(port.last),
                    self.o.port.eq(port.port), self.o.valid.eq(port.valid),
                    port.ready.eq(self.o.ready),
                ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [grant.eq(current), busy.eq(~self.o.last)]
        return m
