"""The NIC: RGMII ports, MACs, clock-domain crossings, the pipeline and the control path.

Clock domains (created by whoever instantiates ``Nic``: a board top or the simulation top):

* ``sync``: the pipeline clock.
* ``eth_tx``: the 125 MHz transmit clock shared by every port (and, in simulation only,
  ``eth_tx90``: the same clock 90 degrees later, forwarded as RGMII TXC).
* ``eth_rx<n>``: the receive clock of port ``n``, from its PHY.

Per port::

    RX pins -> RgmiiRx -> MacRx -> ByteToWide -> PacketFifo (drops bad FCS) -> AsyncFIFO
        -> control splitter -> { pipeline arbiter | control frames }
    pipeline out / control replies -> arbiter -> AsyncFIFO -> PacketFifo (store and forward)
        -> WideToByte -> MacTx -> RgmiiTx -> TX pins

The control bus (records from the UART or from in-band frames) reaches the NIC's counters in
control unit 0xFF (``NIC_BASE``) and the pipeline's control port in every other unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amaranth import Cat, Const, DomainRenamer, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import PulseSynchronizer
from amaranth.lib.fifo import AsyncFIFO
from amaranth.lib.wiring import In, Out
from wirespeed.boards import protocol
from wirespeed.boards.cdc import FallThroughAsyncFIFO
from wirespeed.boards.control import FrameControl, UartControl, control_bus
from wirespeed.boards.mac import MIN_FRAME, MIN_PAYLOAD, MacRx, MacTx
from wirespeed.boards.rgmii import Primitives, RgmiiRx, RgmiiTx
from wirespeed.boards.streams import (
    ByteToWide,
    PacketArbiter,
    PacketFifo,
    WideToByte,
    packet_stream,
)

CDC_DEPTH = 16


@dataclass(frozen=True)
class NicConfig:
    width: int = 64
    ports: tuple[int, ...] = (0, 1)   # the pipeline's port number of each Ethernet port
    primitives: Primitives = "sim"
    board_mac: int = 0x02_57_53_00_00_01
    uart_divisor: int | None = None   # clocks of ``sync`` per UART bit; None: no UART
    rx_delay_s: float = 0.0
    tx_clk_delay_s: float = 0.0
    # Frames up to this many bytes fit the per-port buffers (bigger ones are dropped and
    # counted as overflows). Boards keep 2 KB to save block RAM; simulations of packet tests
    # use more, for their jumbo frames.
    max_frame_bytes: int = 2048
    # Simulation of packet tests only: no runt filter and no padding, so that frames keep the
    # exact lengths an STF file asks for (Ethernet itself cannot carry frames under 64 bytes).
    exact_lengths: bool = False

    def buffer_rows(self) -> int:
        """Rows of a frame buffer, a power of two; one row stays empty, so the largest frame
        is one row short of ``max_frame_bytes`` (2040 bytes at 64 bits)."""
        rows = -(-self.max_frame_bytes // (self.width // 8))
        return 1 << (rows - 1).bit_length()


def pipeline_signature(width: int) -> wiring.Signature:
    """The shape every pipeline takes inside the NIC (``boards.pipeline`` adapts the real
    one): packets in and out, and the slave side of a control bus."""
    return wiring.Signature({
        "i": In(packet_stream(width)),
        "o": Out(packet_stream(width)),
        "ctrl": In(control_bus()),
    })


def _cross(m: Module, name: str, width: int, src: wiring.PureInterface,
           dst: wiring.PureInterface, w_domain: str, r_domain: str) -> None:
    """Moves a packet stream between clock domains (the port sideband is not carried). The
    read side is the transmit clock's: its data comes straight from the storage
    (``FallThroughAsyncFIFO``)."""
    lanes = width // 8
    fifo = FallThroughAsyncFIFO(width + lanes + 2, CDC_DEPTH, w_domain, r_domain)
    m.submodules[name] = fifo
    m.d.comb += [
        fifo.w_data.eq(Cat(src.data, src.keep, src.first, src.last)),
        fifo.w_en.eq(src.valid), src.ready.eq(fifo.w_rdy),
        Cat(dst.data, dst.keep, dst.first, dst.last).eq(fifo.r_data),
        dst.valid.eq(fifo.r_rdy), fifo.r_en.eq(dst.ready),
    ]


class ControlSplitter(wiring.Component):
    """Sends frames of the control EtherType one way and all others the other way.

    The first beat is held until the EtherType (bytes 12 and 13) has been seen, which at 64
    bits is in the second beat.
    """

    def __init__(self, width: int):
        self._width = width
        super().__init__({
            "i": In(packet_stream(width)),
            "data": Out(packet_stream(width)),
            "control": Out(packet_stream(width)),
        })

    def _is_control(self, beat: Signal, first_lane: int) -> Signal:
        ethertype = Cat(beat.word_select(first_lane + 1, 8), beat.word_select(first_lane, 8))
        return ethertype == protocol.ETHERTYPE

    def elaborate(self, platform: object) -> Module:
        m = Module()
        lanes = self._width // 8
        held_data = Signal(self._width)
        held_keep = Signal(lanes)
        held_last = Signal()
        held_port = Signal.like(self.i.port)
        to_control = Signal()
        outputs = (self.data, self.control)

        def drive(route: Signal, data: object, keep: object, first: object, last: object,
                  port: object, valid: object) -> None:
            for n, out in enumerate(outputs):
                m.d.comb += [out.data.eq(data), out.keep.eq(keep), out.first.eq(first),
                             out.last.eq(last), out.port.eq(port),
                             out.valid.eq(valid & (route == n))]

        with m.FSM():
            with m.State("EMPTY"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += [held_data.eq(self.i.data), held_keep.eq(self.i.keep),
                                 held_last.eq(self.i.last), held_port.eq(self.i.port)]
                    m.next = "HELD"
            with m.State("HELD"):
                if lanes >= 14:
                    m.d.sync += to_control.eq(self._is_control(held_data, 12) & held_keep[13])
                    m.next = "FLUSH"
                else:
                    with m.If(held_last):
                        m.d.sync += to_control.eq(0)
                        m.next = "FLUSH"
                    with m.Elif(self.i.valid):
                        m.d.sync += to_control.eq(self._is_control(self.i.data, 12 - lanes)
                                                  & self.i.keep[13 - lanes])
                        m.next = "FLUSH"
            with m.State("FLUSH"):
                drive(to_control, held_data, held_keep, 1, held_last, held_port, 1)
                with m.If(Mux(to_control, self.control.ready, self.data.ready)):
                    with m.If(held_last):
                        m.next = "EMPTY"
                    with m.Else():
                        m.next = "PASS"
            with m.State("PASS"):
                drive(to_control, self.i.data, self.i.keep, 0, self.i.last, held_port,
                      self.i.valid)
                m.d.comb += self.i.ready.eq(Mux(to_control, self.control.ready,
                                                self.data.ready))
                with m.If(self.i.valid & self.i.ready & self.i.last):
                    m.next = "EMPTY"
        return m


class BusArbiter(wiring.Component):
    """Several control-bus masters, one bus: a request runs to its ``ack`` undisturbed."""

    def __init__(self, count: int):
        self._count = count
        super().__init__({
            **{f"m{n}": In(control_bus()) for n in range(count)},
            "bus": Out(control_bus()),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        masters = [getattr(self, f"m{n}") for n in range(self._count)]
        owner = Signal(range(max(self._count, 2)))
        busy = Signal()
        with m.If(~busy):
            for n in reversed(range(self._count)):
                with m.If(masters[n].req):
                    m.d.sync += [owner.eq(n), busy.eq(1)]
        for n, master in enumerate(masters):
            with m.If(busy & (owner == n)):
                m.d.comb += [self.bus.req.eq(master.req), self.bus.we.eq(master.we),
                             self.bus.addr.eq(master.addr), self.bus.wdata.eq(master.wdata),
                             master.ack.eq(self.bus.ack), master.rdata.eq(self.bus.rdata)]
        with m.If(self.bus.req & self.bus.ack):
            m.d.sync += busy.eq(0)
        return m


class Nic(wiring.Component):
    """The whole NIC around ``pipeline`` (a component of ``pipeline_signature(width)``)."""

    def __init__(self, config: NicConfig, pipeline: wiring.Component):
        self.config = config
        self._pipeline = pipeline
        members: dict[str, wiring.Member] = {}
        for n in range(len(config.ports)):
            members[f"rgmii{n}_rx_ctl"] = In(1)
            members[f"rgmii{n}_rx_data"] = In(4)
            members[f"rgmii{n}_tx_clk"] = Out(1)
            members[f"rgmii{n}_tx_ctl"] = Out(1)
            members[f"rgmii{n}_tx_data"] = Out(4)
        if config.uart_divisor is not None:
            members["uart_rx"] = In(1, init=1)
            members["uart_tx"] = Out(1, init=1)
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        cfg = self.config
        width = cfg.width
        lanes = width // 8
        count = len(cfg.ports)
        m.submodules.pipeline = pipeline = self._pipeline
        m.submodules.rx_arbiter = rx_arbiter = PacketArbiter(width, count)
        m.submodules.control_arbiter = control_arbiter = PacketArbiter(width, count)
        m.submodules.frame_control = frame_control = FrameControl(
            width, cfg.board_mac, reply_depth=max(16, 1024 // lanes))
        wiring.connect(m, rx_arbiter.o, pipeline.i)
        wiring.connect(m, control_arbiter.o, frame_control.i)

        counters: dict[tuple[int, str], Signal] = {}

        def counter(port: int, name: str, pulse: Signal, domain: str) -> None:
            value = Signal(32, name=f"port{port}_{name}")
            counters[(port, name)] = value
            if domain != "sync":
                sync = PulseSynchronizer(i_domain=domain, o_domain="sync")
                m.submodules[f"port{port}_{name}_cdc"] = sync
                m.d.comb += sync.i.eq(pulse)
                pulse = sync.o
            with m.If(pulse):
                m.d.sync += value.eq(value + 1)

        tx_arbiters = []
        for n, port_number in enumerate(cfg.ports):
            rx_domain = f"eth_rx{n}"
            rename_rx = DomainRenamer(rx_domain)
            rename_tx = DomainRenamer("eth_tx")

            # ---- receive
            rgmii_rx = RgmiiRx(cfg.primitives, domain=rx_domain, delay_s=cfg.rx_delay_s)
            mac_rx = MacRx(min_frame=0 if cfg.exact_lengths else MIN_FRAME)
            pack = ByteToWide(width)
            # The frame buffers sit in the pipeline clock domain: only the MAC and the
            # width converters run at 125 MHz, where an ECP5 at speed 6 has no slack for
            # the buffers' pointer arithmetic.
            rx_buffer = PacketFifo(width, cfg.buffer_rows(), backpressure=False)
            m.submodules[f"rgmii_rx{n}"] = rgmii_rx
            m.submodules[f"mac_rx{n}"] = rename_rx(mac_rx)
            m.submodules[f"pack{n}"] = rename_rx(pack)
            m.submodules[f"rx_buffer{n}"] = rx_buffer
            m.d.comb += [
                rgmii_rx.pin_ctl.eq(getattr(self, f"rgmii{n}_rx_ctl")),
                rgmii_rx.pin_data.eq(getattr(self, f"rgmii{n}_rx_data")),
                mac_rx.gmii_dv.eq(rgmii_rx.gmii_dv), mac_rx.gmii_er.eq(rgmii_rx.gmii_er),
                mac_rx.gmii_data.eq(rgmii_rx.gmii_data),
                pack.i_valid.eq(mac_rx.valid), pack.i_data.eq(mac_rx.data),
                pack.i_last.eq(mac_rx.last), pack.i_ok.eq(mac_rx.ok),
            ]
            # Beats (with the FCS verdict on the last) cross as they come off the wire: at
            # most one per W/8 receive clocks, drained every pipeline clock, so the FIFO
            # never fills and the receive side needs no backpressure.
            beats = AsyncFIFO(width=width + lanes + 2, depth=CDC_DEPTH, w_domain=rx_domain,
                              r_domain="sync")
            m.submodules[f"rx_cdc{n}"] = beats
            m.d.comb += [
                beats.w_en.eq(pack.o_valid),
                beats.w_data.eq(Cat(pack.o_data, pack.o_keep, pack.o_last, pack.o_ok)),
                beats.r_en.eq(1),
                rx_buffer.w_valid.eq(beats.r_rdy),
                Cat(rx_buffer.w_data, rx_buffer.w_keep, rx_buffer.w_last,
                    rx_buffer.w_ok).eq(beats.r_data),
            ]
            counter(n, "rx_frames", mac_rx.frame_ok, rx_domain)
            counter(n, "rx_bad_fcs", mac_rx.bad_fcs, rx_domain)
            counter(n, "rx_runts", mac_rx.runt, rx_domain)
            counter(n, "rx_phy_errors", mac_rx.phy_error, rx_domain)
            counter(n, "rx_overflows", rx_buffer.overflow, "sync")

            received = rx_buffer.r
            m.submodules[f"splitter{n}"] = splitter = ControlSplitter(width)
            m.d.comb += [
                splitter.i.data.eq(received.data), splitter.i.keep.eq(received.keep),
                splitter.i.first.eq(received.first), splitter.i.last.eq(received.last),
                splitter.i.valid.eq(received.valid), received.ready.eq(splitter.i.ready),
                splitter.i.port.eq(port_number),
            ]
            wiring.connect(m, splitter.data, rx_arbiter.inputs()[n])
            wiring.connect(m, splitter.control, control_arbiter.inputs()[n])

            # ---- transmit
            m.submodules[f"tx_arbiter{n}"] = tx_arbiter = PacketArbiter(width, 2)
            tx_arbiters.append(tx_arbiter)
            # Store and forward in the pipeline clock; a whole frame then crosses faster than
            # the wire drains it, so the transmitter never runs dry mid-frame.
            tx_buffer = PacketFifo(width, cfg.buffer_rows(), backpressure=True)
            m.submodules[f"tx_buffer{n}"] = tx_buffer
            m.d.comb += [
                tx_buffer.w_valid.eq(tx_arbiter.o.valid), tx_arbiter.o.ready.eq(tx_buffer.w_ready),
                tx_buffer.w_data.eq(tx_arbiter.o.data), tx_buffer.w_keep.eq(tx_arbiter.o.keep),
                tx_buffer.w_last.eq(tx_arbiter.o.last), tx_buffer.w_ok.eq(1),
            ]
            to_send = packet_stream(width).flip().create(path=(f"to_send{n}",))
            _cross(m, f"tx_cdc{n}", width, tx_buffer.r, to_send, "sync", "eth_tx")
            unpack = WideToByte(width)
            mac_tx = MacTx(min_payload=0 if cfg.exact_lengths else MIN_PAYLOAD)
            rgmii_tx = RgmiiTx(cfg.primitives, domain="eth_tx",
                               clk_delay_s=cfg.tx_clk_delay_s, shifted_domain="eth_tx90")
            m.submodules[f"unpack{n}"] = rename_tx(unpack)
            m.submodules[f"mac_tx{n}"] = rename_tx(mac_tx)
            m.submodules[f"rgmii_tx{n}"] = rgmii_tx
            wiring.connect(m, wiring.flipped(to_send), unpack.i)
            m.d.comb += [
                mac_tx.valid.eq(unpack.o.valid), unpack.o.ready.eq(mac_tx.ready),
                mac_tx.data.eq(unpack.o.data), mac_tx.last.eq(unpack.o.last),
                rgmii_tx.gmii_en.eq(mac_tx.gmii_en), rgmii_tx.gmii_er.eq(mac_tx.gmii_er),
                rgmii_tx.gmii_data.eq(mac_tx.gmii_data),
                getattr(self, f"rgmii{n}_tx_clk").eq(rgmii_tx.pin_clk),
                getattr(self, f"rgmii{n}_tx_ctl").eq(rgmii_tx.pin_ctl),
                getattr(self, f"rgmii{n}_tx_data").eq(rgmii_tx.pin_data),
            ]
            counter(n, "tx_frames", mac_tx.frame_sent, "eth_tx")
            control_in = control_arbiter.inputs()[n]
            counter(n, "control_frames",
                    control_in.valid & control_in.ready & control_in.first, "sync")

        # ---- pipeline output and control replies to the ports
        self._demux(m, pipeline.o, [a.i0 for a in tx_arbiters], cfg.ports, drop_unrouted=True)
        self._demux(m, frame_control.o, [a.i1 for a in tx_arbiters], cfg.ports,
                    drop_unrouted=True)

        # ---- control bus: UART and in-band masters; NIC registers and the pipeline
        masters = [frame_control.bus]
        if cfg.uart_divisor is not None:
            m.submodules.uart = uart = UartControl(cfg.uart_divisor)
            m.d.comb += [uart.rx_pin.eq(self.uart_rx), self.uart_tx.eq(uart.tx_pin)]
            masters.append(uart.bus)
        m.submodules.bus_arbiter = bus_arbiter = BusArbiter(len(masters))
        for n, master in enumerate(masters):
            wiring.connect(m, master, getattr(bus_arbiter, f"m{n}"))
        bus = bus_arbiter.bus
        nic_ack = Signal()
        nic_rdata = Signal(32)
        is_nic = bus.addr[24:] == protocol.NIC_BASE >> 24
        m.d.comb += [
            pipeline.ctrl.req.eq(bus.req & ~is_nic), pipeline.ctrl.we.eq(bus.we),
            pipeline.ctrl.addr.eq(bus.addr), pipeline.ctrl.wdata.eq(bus.wdata),
            bus.ack.eq(Mux(is_nic, nic_ack, pipeline.ctrl.ack)),
            bus.rdata.eq(Mux(is_nic, nic_rdata, pipeline.ctrl.rdata)),
        ]
        m.d.sync += nic_ack.eq(bus.req & is_nic & ~nic_ack)
        with m.Switch(bus.addr):
            for (port, name), value in counters.items():
                with m.Case(protocol.nic_counter_addr(port, name)):
                    m.d.sync += nic_rdata.eq(value)
            with m.Case(protocol.NIC_ID_ADDR):
                m.d.sync += nic_rdata.eq(protocol.NIC_ID)
            with m.Case(protocol.NIC_PORTS_ADDR):
                m.d.sync += nic_rdata.eq(count)
            with m.Default():
                m.d.sync += nic_rdata.eq(0)
        return m

    @staticmethod
    def _demux(m: Module, src: wiring.PureInterface, outs: Sequence[wiring.PureInterface],
               port_numbers: Sequence[int], drop_unrouted: bool) -> None:
        """Routes whole packets by the ``port`` of their first beat; a packet for a port the
        board does not have is consumed and dropped."""
        latched = Signal.like(src.port)
        port = Signal.like(src.port)
        m.d.comb += port.eq(Mux(src.first, src.port, latched))
        with m.If(src.valid & src.ready & src.first):
            m.d.sync += latched.eq(src.port)
        routed = Const(0)
        for out, number in zip(outs, port_numbers, strict=True):
            here = port == number
            routed = routed | here
            m.d.comb += [out.data.eq(src.data), out.keep.eq(src.keep),
                         out.first.eq(src.first), out.last.eq(src.last),
                         out.port.eq(port), out.valid.eq(src.valid & here)]
            with m.If(here):
                m.d.comb += src.ready.eq(out.ready)
        if drop_unrouted:
            with m.If(~routed):
                m.d.comb += src.ready.eq(1)
