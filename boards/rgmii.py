"""RGMII: four data bits on both clock edges, to and from one byte per clock.

On an ECP5 the pins go through the DDR I/O primitives (``IDDRX1F``/``ODDRX1F``, packed into
the I/O logic next to the pad). With ``primitives="sim"`` the same behaviour is written as
plain flip-flops on both edges, so Verilator and cocotb can drive the pins directly.

RGMII carries the low nibble and RX_DV/TX_EN on the rising edge, the high nibble and
(DV xor ER) on the falling edge.
"""

from typing import Literal

from amaranth import ClockDomain, ClockSignal, Instance, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

Primitives = Literal["ecp5", "sim"]

# ECP5 input delay taps are about 25 ps; 2 ns centres the data eye when the PHY sends the
# clock edge-aligned (no RGMII-ID receive delay).
ECP5_DELAY_TAP_S = 25e-12


class RgmiiRx(wiring.Component):
    """Pins in (sampled on both edges of the domain's clock), one GMII byte per clock out.

    ``domain`` is the receive clock domain (driven by the PHY's RX_CLK); the sim model makes
    a falling-edge domain on the same clock.
    """

    pin_ctl: In(1)
    pin_data: In(4)

    gmii_dv: Out(1)
    gmii_er: Out(1)
    gmii_data: Out(8)

    def __init__(self, primitives: Primitives, domain: str = "sync", delay_s: float = 0.0):
        super().__init__()
        self._primitives = primitives
        self._domain = domain
        self._delay_taps = round(delay_s / ECP5_DELAY_TAP_S)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        rise = Signal(5)  # captured on the rising edge: data[3:0], ctl = DV
        fall = Signal(5)  # captured on the following falling edge: data[7:4], ctl = DV^ER
        pins = [*(self.pin_data[i] for i in range(4)), self.pin_ctl]
        if self._primitives == "ecp5":
            for i, pin in enumerate(pins):
                delayed = pin
                if self._delay_taps:
                    delayed = Signal(name=f"rx_delayed{i}")
                    m.submodules[f"rx_delay{i}"] = Instance(
                        "DELAYG", p_DEL_MODE="USER_DEFINED", p_DEL_VALUE=self._delay_taps,
                        i_A=pin, o_Z=delayed)
                m.submodules[f"iddr{i}"] = Instance(
                    "IDDRX1F", i_D=delayed, i_SCLK=ClockSignal(self._domain), i_RST=0,
                    o_Q0=rise[i], o_Q1=fall[i])
        else:
            neg = ClockDomain(f"{self._domain}_fall", clk_edge="neg", local=True,
                              reset_less=True)
            m.domains += neg
            m.d.comb += neg.clk.eq(ClockSignal(self._domain))
            pin_bits = Signal(5)
            m.d.comb += pin_bits.eq(self.pin_data | (self.pin_ctl << 4))
            m.d[self._domain] += rise.eq(pin_bits)
            m.d[neg.name] += fall.eq(pin_bits)
        # One more register in the fabric: both halves of a byte, aligned to the rising edge.
        m.d[self._domain] += [
            self.gmii_data.eq(rise[:4] | (fall[:4] << 4)),
            self.gmii_dv.eq(rise[4]),
            self.gmii_er.eq(rise[4] ^ fall[4]),
        ]
        return m


class RgmiiTx(wiring.Component):
    """One GMII byte per clock in, pins out on both edges of the domain's clock.

    ``pin_clk`` is the forwarded transmit clock, which must reach the PHY about 2 ns after the
    data changes: on an ECP5 it leaves through an ``ODDRX1F`` like the data and the board adds
    ``clk_delay_s`` on the output delay (or the PHY adds RGMII-ID delay). The sim model
    forwards the clock of ``shifted_domain`` instead (the same clock 90 degrees later, as a
    PLL output would give), so a testbench sees data settled at both of its edges.
    """

    gmii_en: In(1)
    gmii_er: In(1)
    gmii_data: In(8)

    pin_clk: Out(1)
    pin_ctl: Out(1)
    pin_data: Out(4)

    def __init__(self, primitives: Primitives, domain: str = "sync", clk_delay_s: float = 0.0,
                 shifted_domain: str = "sync90"):
        super().__init__()
        self._primitives = primitives
        self._domain = domain
        self._shifted_domain = shifted_domain
        self._clk_delay_taps = round(clk_delay_s / ECP5_DELAY_TAP_S)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        first = Signal(6)   # driven while the clock is high: data[3:0], EN, clock 1
        second = Signal(6)  # driven while the clock is low: data[7:4], EN^ER, clock 0
        m.d.comb += [
            first.eq(self.gmii_data[:4] | (self.gmii_en << 4) | (1 << 5)),
            second.eq(self.gmii_data[4:] | ((self.gmii_en ^ self.gmii_er) << 4)),
        ]
        pins = Signal(6)
        m.d.comb += [self.pin_data.eq(pins[:4]), self.pin_ctl.eq(pins[4])]
        if self._primitives == "ecp5":
            for i in range(6):
                m.submodules[f"oddr{i}"] = Instance(
                    "ODDRX1F", i_D0=first[i], i_D1=second[i], i_SCLK=ClockSignal(self._domain),
                    i_RST=0, o_Q=pins[i])
            if self._clk_delay_taps:
                m.submodules.clk_delay = Instance(
                    "DELAYG", p_DEL_MODE="USER_DEFINED", p_DEL_VALUE=self._clk_delay_taps,
                    i_A=pins[5], o_Z=self.pin_clk)
            else:
                m.d.comb += self.pin_clk.eq(pins[5])
        else:
            first_q = Signal(6)
            second_q = Signal(6)
            m.d[self._domain] += [first_q.eq(first), second_q.eq(second)]
            m.d.comb += pins.eq(Mux(ClockSignal(self._domain), first_q, second_q))
            m.d.comb += self.pin_clk.eq(ClockSignal(self._shifted_domain))
        return m
