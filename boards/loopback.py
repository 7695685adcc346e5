"""A MAC loopback for testing the MAC on its own: RGMII in, store and forward, RGMII out,
all in the one 125 MHz domain, with the receive counters brought out as ports."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from wirespeed.boards.mac import MacRx, MacTx
from wirespeed.boards.rgmii import RgmiiRx, RgmiiTx
from wirespeed.boards.streams import ByteToWide, PacketFifo, WideToByte


class MacLoopback(wiring.Component):
    rx_ctl: In(1)
    rx_data: In(4)
    tx_clk: Out(1)
    tx_ctl: Out(1)
    tx_data: Out(4)
    frames_ok: Out(16)
    frames_bad_fcs: Out(16)
    frames_runt: Out(16)
    frames_sent: Out(16)

    def __init__(self, width: int = 64):
        self._width = width
        super().__init__()

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.rgmii_rx = rgmii_rx = RgmiiRx("sim")
        m.submodules.mac_rx = mac_rx = MacRx()
        m.submodules.pack = pack = ByteToWide(self._width)
        m.submodules.buffer = buffer = PacketFifo(self._width, 256, backpressure=False)
        m.submodules.unpack = unpack = WideToByte(self._width)
        m.submodules.mac_tx = mac_tx = MacTx()
        m.submodules.rgmii_tx = rgmii_tx = RgmiiTx("sim", shifted_domain="tx90")
        m.d.comb += [
            rgmii_rx.pin_ctl.eq(self.rx_ctl), rgmii_rx.pin_data.eq(self.rx_data),
            mac_rx.gmii_dv.eq(rgmii_rx.gmii_dv), mac_rx.gmii_er.eq(rgmii_rx.gmii_er),
            mac_rx.gmii_data.eq(rgmii_rx.gmii_data),
            pack.i_valid.eq(mac_rx.valid), pack.i_data.eq(mac_rx.data),
            pack.i_last.eq(mac_rx.last), pack.i_ok.eq(mac_rx.ok),
            buffer.w_valid.eq(pack.o_valid), buffer.w_data.eq(pack.o_data),
            buffer.w_keep.eq(pack.o_keep), buffer.w_last.eq(pack.o_last),
            buffer.w_ok.eq(pack.o_ok),
            mac_tx.valid.eq(unpack.o.valid), unpack.o.ready.eq(mac_tx.ready),
            mac_tx.data.eq(unpack.o.data), mac_tx.last.eq(unpack.o.last),
            rgmii_tx.gmii_en.eq(mac_tx.gmii_en), rgmii_tx.gmii_er.eq(mac_tx.gmii_er),
            rgmii_tx.gmii_data.eq(mac_tx.gmii_data),
            self.tx_clk.eq(rgmii_tx.pin_clk), self.tx_ctl.eq(rgmii_tx.pin_ctl),
            self.tx_data.eq(rgmii_tx.pin_data),
        ]
        wiring.connect(m, buffer.r, unpack.i)
        for pulse, count in ((mac_rx.frame_ok, self.frames_ok),
                             (mac_rx.bad_fcs, self.frames_bad_fcs),
                             (mac_rx.runt, self.frames_runt),
                             (mac_tx.frame_sent, self.frames_sent)):
            with m.If(pulse):
                m.d.sync += count.eq(count + 1)
        return m
