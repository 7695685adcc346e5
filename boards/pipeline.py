"""Pipelines as the NIC sees them (``nic.pipeline_signature``)."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from wirespeed.boards.nic import pipeline_signature


class RegisterForward(wiring.Component):
    """A stand-in pipeline for tests of the NIC itself: every packet leaves unchanged, by the
    port in control register 0 when its bit 31 is set, else by the port it came in on.
    Register 0 reads back."""

    def __init__(self, width: int):
        super().__init__(pipeline_signature(width))

    def elaborate(self, platform: object) -> Module:
        m = Module()
        forward = Signal(32)
        m.d.comb += [
            self.o.data.eq(self.i.data), self.o.keep.eq(self.i.keep),
            self.o.first.eq(self.i.first), self.o.last.eq(self.i.last),
            self.o.valid.eq(self.i.valid), self.i.ready.eq(self.o.ready),
            self.o.port.eq(self.i.port),
        ]
        with m.If(forward[31]):
            m.d.comb += self.o.port.eq(forward[:9])
        ack = Signal()
        m.d.comb += [self.ctrl.ack.eq(ack), self.ctrl.rdata.eq(forward)]
        m.d.sync += ack.eq(self.ctrl.req & ~ack)
        with m.If(self.ctrl.req & ~ack & self.ctrl.we & (self.ctrl.addr == 0)):
            m.d.sync += forward.eq(self.ctrl.wdata)
        return m
