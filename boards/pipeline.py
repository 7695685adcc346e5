"""Pipelines as the NIC sees them (``nic.pipeline_signature``): the program's pipeline from
``hdl/`` behind a small adapter, and a stand-in for testing the NIC itself."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from wirespeed.boards.nic import pipeline_signature
from wirespeed.compiler import ir
from wirespeed.hdl.tables import DEFAULT_LIMITS, TableLimits


def control_plane(program: ir.Program, width: int, limits: TableLimits = DEFAULT_LIMITS):
    """The host-side mirror of the tables, laid out exactly as ``ProgramPipeline`` builds them
    (returns an ``hdl.controlplane.ControlPlane``)."""
    from wirespeed.hdl.controlplane import ControlPlane
    from wirespeed.hdl.pipeline import Plan

    return ControlPlane(Plan.of(program, width, limits=limits).tables, program)


class ProgramPipeline(wiring.Component):
    """``hdl.pipeline.Pipeline`` for ``program``, its constant entries in the memories at reset.

    The NIC's control bus holds a request until ``ack``; the pipeline's control port takes a
    one-cycle ``write``/``read`` strobe and answers with one ``ack`` pulse.
    """

    def __init__(self, program: ir.Program, width: int, limits: TableLimits = DEFAULT_LIMITS):
        self.program = program
        self.width = width
        self.limits = limits
        super().__init__(pipeline_signature(width))

    def elaborate(self, platform: object) -> Module:
        from wirespeed.hdl.pipeline import Pipeline

        m = Module()
        slots = control_plane(self.program, self.width, self.limits).initial_slots()
        m.submodules.pipeline = pipeline = Pipeline(self.program, self.width, slots,
                                                    limits=self.limits)
        i, o = pipeline.i.payload, pipeline.o.payload
        m.d.comb += [
            i.data.eq(self.i.data), i.keep.eq(self.i.keep), i.first.eq(self.i.first),
            i.last.eq(self.i.last), i.port.eq(self.i.port), i.tag.eq(0),
            pipeline.i.valid.eq(self.i.valid), self.i.ready.eq(pipeline.i.ready),
            self.o.data.eq(o.data), self.o.keep.eq(o.keep), self.o.first.eq(o.first),
            self.o.last.eq(o.last), self.o.port.eq(o.port),
            self.o.valid.eq(pipeline.o.valid), pipeline.o.ready.eq(self.o.ready),
        ]
        issued = Signal()
        strobe = Signal()
        m.d.comb += [
            strobe.eq(self.ctrl.req & ~issued),
            pipeline.ctl.write.eq(strobe & self.ctrl.we),
            pipeline.ctl.read.eq(strobe & ~self.ctrl.we),
            pipeline.ctl.addr.eq(self.ctrl.addr), pipeline.ctl.wdata.eq(self.ctrl.wdata),
            self.ctrl.ack.eq(pipeline.ctl.ack), self.ctrl.rdata.eq(pipeline.ctl.rdata),
        ]
        with m.If(strobe):
            m.d.sync += issued.eq(1)
        with m.If(pipeline.ctl.ack):
            m.d.sync += issued.eq(0)
        return m


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
