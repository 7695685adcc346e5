"""The boards wirespeed builds for, and the top-level design of each.

Every board comes from ``amaranth-boards``; this module adds what the NIC needs on top of it:
clocks (an ECP5 PLL makes the 125 MHz transmit clock and the pipeline clock from the board's
oscillator), resets, the RGMII ports and the UART.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from amaranth import ClockDomain, ClockSignal, Elaboratable, Instance, Module, Mux, Signal
from amaranth.build import Platform, Resource
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import Component
from wirespeed.boards import protocol
from wirespeed.boards.nic import Nic, NicConfig
from wirespeed.hdl.tables import TableLimits

ETH_TX_HZ = 125e6
UART_BAUD = 115200
ECP5_VCO_HZ = 500e6


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    make_platform: Callable[[], Platform]
    family: str                   # "ecp5" | "ice40"
    ethernet_ports: int           # RGMII ports used (0: UART packet port)
    pipeline_hz: float
    rx_delay_s: float = 2e-9      # RGMII receive clock to data skew added in the FPGA
    tx_clk_delay_s: float = 2e-9  # and on the forwarded transmit clock
    # Run-time entries of each table: the small devices hold fewer than the program asks.
    limits: TableLimits = TableLimits()

    def lpf_preferences(self) -> str:
        """Clock constraints on the RGMII receive clock pins. nextpnr ignores a FREQUENCY NET
        on a buffered pin signal (the net is renamed in synthesis), so the ports themselves
        are constrained; the PLL outputs get constraints derived from the oscillator's."""
        return "\n".join(f'FREQUENCY PORT "eth_rgmii_{n}__rx_clk__io" {ETH_TX_HZ:.0f} HZ;'
                         for n in range(self.ethernet_ports))

    def ports(self) -> tuple[int, ...]:
        """The pipeline's port number of each Ethernet port."""
        return tuple(range(self.ethernet_ports))


def _colorlight() -> Platform:
    from amaranth_boards.colorlight_5a75b_r7_0 import Colorlight_5A75B_R70Platform

    class Colorlight5A75B(Colorlight_5A75B_R70Platform):
        # Both PHYs share one reset/MDC/MDIO net; amaranth-boards lists those pins in both
        # port resources, which would constrain two ports to one pin. Port 1 drops them.
        resources = [
            _without(r, {"rst", "mdc", "mdio"}) if (r.name, r.number) == ("eth_rgmii", 1)
            else r for r in Colorlight_5A75B_R70Platform.resources
        ]

    return Colorlight5A75B()


def _versa() -> Platform:
    from amaranth_boards.versa_ecp5 import VersaECP5Platform

    return VersaECP5Platform()


def _icebreaker() -> Platform:
    from amaranth_boards.icebreaker import ICEBreakerPlatform

    return ICEBreakerPlatform()


def _without(resource: Resource, names: set[str]) -> Resource:
    kept = [io for io in resource.ios if getattr(io, "name", None) not in names]
    return Resource(resource.name, resource.number, *kept, resource.attrs)


BOARDS: dict[str, Board] = {b.name: b for b in (
    Board("colorlight-5a-75b", "Colorlight 5A-75B v7.0: LFE5U-25F, two RGMII gigabit ports",
          _colorlight, "ecp5", 2, ECP5_VCO_HZ / 12,  # two ports need 31 MHz at W=64
          limits=TableLimits(tcam_slots=16, exact_entries=512)),
    Board("versa-ecp5", "Lattice ECP5 Versa: LFE5UM-45F, two RGMII gigabit ports",
          _versa, "ecp5", 2, 62.5e6),
    Board("icebreaker", "iCEBreaker: iCE40UP5K, no Ethernet; packets over the UART",
          _icebreaker, "ice40", 0, 12e6, limits=TableLimits(tcam_slots=4)),
)}


class BoardError(Exception):
    """A board or design choice that cannot work (message for the user)."""


def find_board(name: str) -> Board:
    if name not in BOARDS:
        raise BoardError(f"unknown board {name!r} (known: {', '.join(BOARDS)})")
    return BOARDS[name]


def _ecp5_pll(m: Module, clkin: Signal, clkin_hz: float, sync_hz: float) -> Signal:
    """EHXPLLL: CLKOP = 125 MHz (fed back), CLKOS = the pipeline clock, VCO at 500 MHz."""
    for clki_div in range(1, 129):
        clkfb_div = ETH_TX_HZ * clki_div / clkin_hz
        if clkfb_div == int(clkfb_div) and 1 <= clkfb_div <= 80:
            break
    else:
        raise BoardError(f"no PLL setting makes 125 MHz from {clkin_hz / 1e6:g} MHz")
    op_div = round(ECP5_VCO_HZ / ETH_TX_HZ)
    os_div = ECP5_VCO_HZ / sync_hz
    if os_div != int(os_div):
        raise BoardError(f"the pipeline clock must divide 500 MHz, not {sync_hz / 1e6:g} MHz")
    lock = Signal()
    m.submodules.pll = Instance(
        "EHXPLLL",
        p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
        p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
        p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
        p_CLKI_DIV=clki_div, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=int(clkfb_div),
        p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=op_div, p_CLKOP_CPHASE=op_div - 1,
        p_CLKOP_FPHASE=0,
        p_CLKOS_ENABLE="ENABLED", p_CLKOS_DIV=int(os_div), p_CLKOS_CPHASE=int(os_div) - 1,
        p_CLKOS_FPHASE=0,
        a_FREQUENCY_PIN_CLKI=f"{clkin_hz / 1e6:g}", a_FREQUENCY_PIN_CLKOP="125",
        a_FREQUENCY_PIN_CLKOS=f"{sync_hz / 1e6:g}", a_ICP_CURRENT="12", a_LPF_RESISTOR="8",
        i_CLKI=clkin, i_CLKFB=ClockSignal("eth_tx"), i_RST=0, i_STDBY=0,
        i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
        i_PLLWAKESYNC=0, i_ENCLKOP=0,
        o_CLKOP=ClockSignal("eth_tx"), o_CLKOS=ClockSignal("sync"), o_LOCK=lock,
    )
    return lock


class EthernetBoardTop(Elaboratable):
    """An ECP5 board: PLL, resets, every RGMII port and the UART around ``Nic``."""

    def __init__(self, board: Board, pipeline: Component, width: int):
        self.board = board
        self.config = NicConfig(
            width=width, ports=board.ports(), primitives="ecp5",
            uart_divisor=round(board.pipeline_hz / UART_BAUD),
            rx_delay_s=board.rx_delay_s, tx_clk_delay_s=board.tx_clk_delay_s)
        self.nic = Nic(self.config, pipeline)

    def elaborate(self, platform: Platform) -> Module:
        m = Module()
        board = self.board
        m.domains.sync = ClockDomain("sync")
        m.domains.eth_tx = ClockDomain("eth_tx")
        clkin = platform.request(platform.default_clk, dir="i").i
        lock = _ecp5_pll(m, clkin, platform.default_clk_frequency, board.pipeline_hz)
        m.submodules.sync_reset = ResetSynchronizer(~lock, domain="sync")
        m.submodules.eth_tx_reset = ResetSynchronizer(~lock, domain="eth_tx")
        m.submodules.nic = nic = self.nic
        for n in range(board.ethernet_ports):
            eth = platform.request("eth_rgmii", n)
            domain = ClockDomain(f"eth_rx{n}")
            m.domains += domain
            m.d.comb += domain.clk.eq(eth.rx_clk.i)
            m.submodules[f"eth_rx{n}_reset"] = ResetSynchronizer(~lock, domain=domain.name)
            # The Versa names two of port 1's pins differently from port 0's.
            rx_ctl = getattr(eth, "rx_ctl", None) or eth.rx_ctrl
            tx_ctl = getattr(eth, "tx_ctl", None) or eth.tx_ctrl
            m.d.comb += [
                getattr(nic, f"rgmii{n}_rx_ctl").eq(rx_ctl.i),
                getattr(nic, f"rgmii{n}_rx_data").eq(eth.rx_data.i),
                eth.tx_clk.o.eq(getattr(nic, f"rgmii{n}_tx_clk")),
                tx_ctl.o.eq(getattr(nic, f"rgmii{n}_tx_ctl")),
                eth.tx_data.o.eq(getattr(nic, f"rgmii{n}_tx_data")),
            ]
            if hasattr(eth, "rst"):
                m.d.comb += eth.rst.o.eq(~lock)  # hold the PHY in reset until clocks run
        uart = platform.request("uart", 0)
        m.d.comb += [nic.uart_rx.eq(uart.rx.i), uart.tx.o.eq(nic.uart_tx)]
        return m


class UartNic(Component):
    """The pipeline behind a ``UartPacketPort``: a NIC whose only port is the UART."""

    def __init__(self, pipeline: Component, width: int, divisor: int):
        from amaranth.lib.wiring import In, Out
        from wirespeed.boards.control import UartPacketPort

        self.pipeline = pipeline
        self.port = UartPacketPort(divisor, width)
        super().__init__({"rx_pin": In(1, init=1), "tx_pin": Out(1, init=1)})

    def elaborate(self, platform: object) -> Module:
        from amaranth.lib import wiring

        m = Module()
        m.submodules.pipeline = pipeline = self.pipeline
        m.submodules.uart_port = port = self.port
        wiring.connect(m, port.to_pipeline, pipeline.i)
        wiring.connect(m, pipeline.o, port.from_pipeline)
        m.d.comb += [port.rx_pin.eq(self.rx_pin), self.tx_pin.eq(port.tx_pin)]
        # The NIC's identification answers in unit 0xFF (NIC_BASE), the pipeline in the others.
        is_nic = port.bus.addr[24:] == protocol.NIC_BASE >> 24
        nic_ack = Signal()
        m.d.sync += nic_ack.eq(port.bus.req & is_nic & ~nic_ack)
        m.d.comb += [
            pipeline.ctrl.req.eq(port.bus.req & ~is_nic), pipeline.ctrl.we.eq(port.bus.we),
            pipeline.ctrl.addr.eq(port.bus.addr), pipeline.ctrl.wdata.eq(port.bus.wdata),
            port.bus.ack.eq(Mux(is_nic, nic_ack, pipeline.ctrl.ack)),
            port.bus.rdata.eq(Mux(is_nic & (port.bus.addr == protocol.NIC_ID_ADDR),
                                  protocol.NIC_ID, Mux(is_nic, 0, pipeline.ctrl.rdata))),
        ]
        return m


class UartBoardTop(Elaboratable):
    """A board without Ethernet: ``UartNic`` on the board's oscillator clock, no PLL."""

    def __init__(self, board: Board, pipeline: Component, width: int):
        self.board = board
        self.nic = UartNic(pipeline, width, round(board.pipeline_hz / UART_BAUD))

    def elaborate(self, platform: Platform) -> Module:
        m = Module()
        if platform.default_clk_frequency != self.board.pipeline_hz:
            raise BoardError(f"{self.board.name} runs the pipeline on its "
                             f"{platform.default_clk_frequency / 1e6:g} MHz oscillator")
        m.submodules.nic = nic = self.nic
        uart = platform.request("uart", 0)
        m.d.comb += [nic.rx_pin.eq(uart.rx.i), uart.tx.o.eq(nic.tx_pin)]
        return m
