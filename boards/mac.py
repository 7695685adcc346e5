"""A gigabit Ethernet MAC, one byte per clock (GMII-style, the RGMII layer sits outside).

Both halves live in their own clock domain, named ``sync`` here and renamed by the NIC top
(the RGMII receive clock for ``MacRx``, the 125 MHz transmit clock for ``MacTx``).
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from wirespeed.boards.crc import Crc32

PREAMBLE = 0x55
SFD = 0xD5
# Shortest legal frame on the wire, FCS included; anything shorter is a runt (802.3 4.2.4.2.2).
MIN_FRAME = 64
MIN_PAYLOAD = MIN_FRAME - 4  # what the transmitter pads to before the FCS
IFG_BYTES = 12
FCS_BYTES = 4


class MacRx(wiring.Component):
    """Strips preamble and SFD, checks and strips the FCS.

    Out: a byte stream (``valid``/``data``/``last``, no backpressure: the receiver cannot
    pause the wire) and ``ok`` with ``last`` (FCS right, no PHY error, not a runt). A frame
    with ``ok`` low must be discarded by whoever stores it. One-cycle pulses count outcomes.
    """

    gmii_dv: In(1)
    gmii_er: In(1)
    gmii_data: In(8)

    valid: Out(1)
    data: Out(8)
    last: Out(1)
    ok: Out(1)

    frame_ok: Out(1)
    bad_fcs: Out(1)
    runt: Out(1)
    phy_error: Out(1)

    def __init__(self, min_frame: int = MIN_FRAME):
        """``min_frame``: shorter frames (FCS included) are runts; 0 only in simulations
        that must carry a packet test's exact lengths."""
        super().__init__()
        self._min_frame = min_frame

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.crc = crc = Crc32()

        # Register the PHY inputs once: the DDR capture is at the pins, this keeps the CRC
        # network off the I/O timing path.
        dv = Signal()
        er = Signal()
        byte = Signal(8)
        m.d.sync += [dv.eq(self.gmii_dv), er.eq(self.gmii_er), byte.eq(self.gmii_data)]

        # The last FCS_BYTES + 1 bytes: the oldest leaves only once 4 newer bytes prove it
        # is not part of the FCS.
        held = [Signal(8, name=f"held{i}") for i in range(FCS_BYTES + 1)]
        count_max = max(self._min_frame, FCS_BYTES + 1) + 1
        count = Signal(range(count_max + 1))  # saturating byte count, FCS included
        error = Signal()

        m.d.sync += [self.valid.eq(0), self.last.eq(0), self.ok.eq(0)]
        m.d.sync += [self.frame_ok.eq(0), self.bad_fcs.eq(0), self.runt.eq(0),
                     self.phy_error.eq(0)]
        m.d.comb += crc.data.eq(byte)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += crc.clear.eq(1)
                with m.If(dv):
                    with m.If(byte == PREAMBLE):
                        m.next = "PREAMBLE"
                    with m.Elif(byte == SFD):
                        m.d.sync += [count.eq(0), error.eq(0)]
                        m.next = "FRAME"
                    with m.Else():
                        m.next = "DISCARD"
            with m.State("PREAMBLE"):
                m.d.comb += crc.clear.eq(1)
                with m.If(~dv):
                    m.next = "IDLE"
                with m.Elif(byte == SFD):
                    m.d.sync += [count.eq(0), error.eq(0)]
                    m.next = "FRAME"
                with m.Elif(byte != PREAMBLE):
                    m.next = "DISCARD"
            with m.State("FRAME"):
                with m.If(dv):
                    m.d.comb += crc.en.eq(1)
                    m.d.sync += [held[i].eq(held[i + 1]) for i in range(FCS_BYTES)]
                    m.d.sync += held[FCS_BYTES].eq(byte)
                    with m.If(count != count_max):
                        m.d.sync += count.eq(count + 1)
                    with m.If(er):
                        m.d.sync += error.eq(1)
                    with m.If(count >= FCS_BYTES + 1):
                        m.d.sync += [self.valid.eq(1), self.data.eq(held[0])]
                with m.Else():
                    with m.If(count >= FCS_BYTES + 1):
                        good = ~error & crc.residue_ok & (count >= self._min_frame)
                        m.d.sync += [self.valid.eq(1), self.data.eq(held[0]),
                                     self.last.eq(1), self.ok.eq(good)]
                    with m.If(count < self._min_frame):
                        m.d.sync += self.runt.eq(1)
                    with m.Elif(error):
                        m.d.sync += self.phy_error.eq(1)
                    with m.Elif(~crc.residue_ok):
                        m.d.sync += self.bad_fcs.eq(1)
                    with m.Else():
                        m.d.sync += self.frame_ok.eq(1)
                    m.next = "IDLE"
            with m.State("DISCARD"):
                with m.If(~dv):
                    m.next = "IDLE"
        return m


class MacTx(wiring.Component):
    """Adds preamble and SFD, pads to 60 bytes, appends the FCS, keeps the 12-byte gap.

    In: a byte stream (``valid``/``ready``/``data``/``last``). A frame must arrive without
    gaps once started (the NIC feeds it from a store-and-forward buffer); a gap mid-frame is
    an underrun and is sent with the PHY error bit set so the far end discards the frame.
    """

    valid: In(1)
    ready: Out(1)
    data: In(8)
    last: In(1)

    gmii_en: Out(1)
    gmii_er: Out(1)
    gmii_data: Out(8)

    frame_sent: Out(1)

    def __init__(self, min_payload: int = MIN_PAYLOAD):
        """``min_payload``: shorter frames are padded with zeros up to it (0: never, only in
        simulations that must carry a packet test's exact lengths)."""
        super().__init__()
        self._min_payload = min_payload

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.crc = crc = Crc32()

        index = Signal(range(max(MIN_PAYLOAD, IFG_BYTES) + 1))
        out_en = Signal()
        out_er = Signal()
        out_data = Signal(8)
        m.d.sync += [self.gmii_en.eq(out_en), self.gmii_er.eq(out_er),
                     self.gmii_data.eq(out_data), self.frame_sent.eq(0)]
        # The CRC takes the input byte (zero while padding), not ``out_data``: behind the
        # state machine's output multiplexer it was the transmit clock's longest path.
        padding = Signal()
        m.d.comb += crc.data.eq(Mux(padding, 0, self.data))
        # ``ready`` (in state DATA) is a flip-flop of its own: it decides, through the width
        # converter, whether the transmit FIFO gives up a word
        in_data = Signal()
        m.d.comb += self.ready.eq(in_data)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += crc.clear.eq(1)
                with m.If(self.valid):
                    m.d.comb += [out_en.eq(1), out_data.eq(PREAMBLE)]
                    m.d.sync += index.eq(1)
                    m.next = "PREAMBLE"
            with m.State("PREAMBLE"):
                m.d.comb += [crc.clear.eq(1), out_en.eq(1)]
                m.d.comb += out_data.eq(PREAMBLE)
                m.d.sync += index.eq(index + 1)
                with m.If(index == 7):
                    m.d.comb += out_data.eq(SFD)
                    m.d.sync += [index.eq(0), in_data.eq(1)]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [out_en.eq(1), out_er.eq(~self.valid),
                             out_data.eq(self.data), crc.en.eq(1)]
                with m.If(index != MIN_PAYLOAD):
                    m.d.sync += index.eq(index + 1)
                with m.If(self.valid & self.last):
                    m.d.sync += in_data.eq(0)
                    # a comparison with a constant, not an adder: this is the transmit
                    # clock's (125 MHz) longest path
                    with m.If(index < self._min_payload - 1):
                        m.next = "PAD"
                    with m.Else():
                        m.d.sync += index.eq(0)
                        m.next = "FCS"
            with m.State("PAD"):
                m.d.comb += [out_en.eq(1), out_data.eq(0), crc.en.eq(1), padding.eq(1)]
                m.d.sync += index.eq(index + 1)
                with m.If(index >= self._min_payload - 1):
                    m.d.sync += index.eq(0)
                    m.next = "FCS"
            with m.State("FCS"):
                m.d.comb += [out_en.eq(1), out_data.eq(crc.crc.word_select(index[:2], 8))]
                m.d.sync += index.eq(index + 1)
                with m.If(index == FCS_BYTES - 1):
                    m.d.sync += [index.eq(0), self.frame_sent.eq(1)]
                    m.next = "GAP"
            with m.State("GAP"):
                m.d.sync += index.eq(index + 1)
                # IDLE starts the next preamble in the very cycle it sees data, so the whole
                # gap is spent here.
                with m.If(index == IFG_BYTES - 1):
                    m.next = "IDLE"
        return m
