"""``wirespeed compile --target fpga``: the pipeline's Verilog and its JSON map.

The Verilog top level ``wirespeed_top`` has flat ports (``in_*``, ``out_*``, ``ctl_*``,
``busy``) so any test bench or board top can instantiate it without knowing Amaranth's
naming of interfaces. The JSON map gives everything a host driver needs: the control-port
address layout, each table's kind, entry layout, hash matrices and capacities, the data
width, header window and the pipeline latency.
"""

from __future__ import annotations

import gc
import hashlib
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Elaboratable, Module, Signal, UnusedElaboratable
from wirespeed.compiler import ir
from wirespeed.hdl.controlplane import ControlPlane, ControlPlaneError
from wirespeed.hdl.phv import UnsupportedOnFpga
from wirespeed.hdl.pipeline import (
    MAGIC,
    MAX_STORED_FRAME_BYTES,
    METER_UNIT,
    REGION_BYTES,
    REGION_COMMIT,
    REGION_DEFAULT,
    REGION_METER,
    REGION_PACKETS,
    REGION_REGISTER,
    REGION_STAGE,
    REGISTER_UNIT,
    Pipeline,
    Plan,
)
from wirespeed.hdl.stream import TAG_WIDTH
from wirespeed.hdl.tables import CHUNK_BITS, COLUMN_BASE, GROUP_SLOTS
from wirespeed.sim.executor import TargetLimit

TOP_NAME = "wirespeed_top"


class FpgaCompileError(TargetLimit):
    """The program cannot be built for the FPGA; the message says why (shown to the user as
    an ``error:`` line, like every executor refusal). docs/fpga.md lists the limits."""


class FlatTop(Elaboratable):
    """The pipeline with one plain port per signal."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        W = pipeline.plan.width
        widths = {
            "in_data": W, "in_keep": W // 8, "in_first": 1, "in_last": 1, "in_valid": 1,
            "in_port": ir.PORT_WIDTH, "in_tag": TAG_WIDTH, "in_ready": 1,
            "out_data": W, "out_keep": W // 8, "out_first": 1, "out_last": 1, "out_valid": 1,
            "out_port": ir.PORT_WIDTH, "out_tag": TAG_WIDTH, "out_ready": 1,
            "ctl_addr": 32, "ctl_wdata": 32, "ctl_rdata": 32, "ctl_write": 1, "ctl_read": 1,
            "ctl_ack": 1, "busy": 1,
        }
        for name, width in widths.items():
            setattr(self, name, Signal(width, name=name))
        self._names = list(widths)

    @property
    def ports(self) -> list[Signal]:
        return [getattr(self, name) for name in self._names]

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.pipeline
        m.submodules.pipeline = p
        i, o = p.i.payload, p.o.payload
        m.d.comb += [
            i.data.eq(self.in_data), i.keep.eq(self.in_keep), i.first.eq(self.in_first),
            i.last.eq(self.in_last), i.port.eq(self.in_port), i.tag.eq(self.in_tag),
            p.i.valid.eq(self.in_valid), self.in_ready.eq(p.i.ready),
            self.out_data.eq(o.data), self.out_keep.eq(o.keep), self.out_first.eq(o.first),
            self.out_last.eq(o.last), self.out_port.eq(o.port), self.out_tag.eq(o.tag),
            self.out_valid.eq(p.o.valid), p.o.ready.eq(self.out_ready),
            p.ctl.addr.eq(self.ctl_addr), p.ctl.wdata.eq(self.ctl_wdata),
            p.ctl.write.eq(self.ctl_write), p.ctl.read.eq(self.ctl_read),
            self.ctl_rdata.eq(p.ctl.rdata), self.ctl_ack.eq(p.ctl.ack), self.busy.eq(p.busy),
        ]
        return m


def build(program: ir.Program, width: int = 64) -> tuple[str, dict]:
    """The Verilog text and the JSON map of ``program`` at data width ``width``."""
    refusal = None
    # a refused program leaves half-built components behind: not worth a warning each
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        try:
            plan = Plan.of(program, width)
            control = ControlPlane(plan.tables, program)
            pipeline = Pipeline(program, width, control.initial_slots())
            top = FlatTop(pipeline)
            text = verilog.convert(top, name=TOP_NAME, ports=top.ports, emit_src=False)
        except UnsupportedOnFpga as e:
            refusal = e.located()
        except ControlPlaneError as e:
            refusal = str(e)
        if refusal is not None:
            gc.collect()
            raise FpgaCompileError(refusal)
    return text, describe(pipeline)


def describe(pipeline: Pipeline) -> dict:
    plan = pipeline.plan
    return {
        "program": plan.program.name,
        "top": TOP_NAME,
        "magic": MAGIC,
        "data_width": plan.width,
        "header_window_bytes": plan.window_bytes,
        "header_out_bytes": pipeline.deparser.out_bytes,
        "latency_cycles": {
            "header_pipeline": plan.latency,
            "note": "from the beat that completes the header window to the header result; "
                    "see docs/fpga.md for first-in to first-out figures",
        },
        "fifo_depths": {"data_beats": plan.data_depth, "results": plan.result_depth},
        "store_and_forward": plan.store_and_forward,
        "max_frame_bytes": MAX_STORED_FRAME_BYTES if plan.store_and_forward else None,
        "clock_hz": plan.clock_hz,
        "stream": {
            "lanes": "byte 0 of the packet in data[7:0]; keep contiguous from lane 0",
            "sideband": {"port": ir.PORT_WIDTH, "tag": TAG_WIDTH},
            "egress_ports": {"host": ir.HOST_PORT, "drop": ir.DROP_PORT},
        },
        "control_port": {
            "address": "unit[31:24] region[23:20] index[19:0], 32-bit words",
            "regions": {"stage": REGION_STAGE, "commit": REGION_COMMIT,
                        "default": REGION_DEFAULT, "packets": REGION_PACKETS,
                        "bytes": REGION_BYTES, "register": REGION_REGISTER,
                        "meter": REGION_METER},
            "counter_words": "cell * 2 + (0 low | 1 high word), 64-bit packets and bytes",
            "tcam_columns": {"column_base": COLUMN_BASE, "chunk_bits": CHUNK_BITS,
                             "group_slots": GROUP_SLOTS},
            "info_words": ["magic", "data_width", "latency", "tables", "header_window_bytes"],
            "protocol": "one request at a time (write or read strobe for one cycle), "
                        "answered by one ack pulse; rdata is valid with ack",
        },
        "registers": [
            {"name": r.name, "unit": REGISTER_UNIT + k, "width": r.width, "size": r.size,
             "words": "index * 4 + word (32-bit words, least significant first)"}
            for k, r in enumerate(plan.program.registers)
        ],
        "meters": [
            {"name": mt.name, "unit": METER_UNIT + k, "kind": mt.unit.value, "size": mt.size,
             "config_words": "staged: cir, pir (32 bits each, per second), then cburst and "
                             "pburst (64 bits each) in 1/clock_hz tokens; commit to index = cell"}
            for k, mt in enumerate(plan.program.meters)
        ],
        "tables": [
            {
                "name": t.name, "unit": t.unit, "kind": t.kind, "key_widths": t.key_widths,
                "key_kinds": t.key_kinds, "actions": t.actions, "param_widths": t.param_widths,
                "counters": t.counters, "ways": t.ways, "depth": t.depth, "slots": t.slots,
                "capacity": t.capacity, "const_entries": t.const_count,
                "entry_layout": t.layout(), "entry_width": t.entry_width,
                "staged_width": t.staged_width,
                **({"ternary_keys": t.ternary_keys, "chunks": t.chunks, "groups": t.groups,
                    "column_words": "commit index column_base + group * 16 + chunk value; "
                                    "bit chunk * group_slots + j: slot group * group_slots "
                                    "+ j accepts that value in that key chunk"}
                   if t.kind == "tcam" else {}),
                "hash_rows": [[hex(r) for r in way] for way in t.hash_rows],
                "counter_cells": t.counter_count if t.counters else 0,
                "miss_counter": t.miss_counter,
            }
            for t in plan.tables
        ],
    }


def verilog_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compile_program(program: ir.Program, outdir: Path, entries=None,
                    width: int = 64) -> list[Path]:
    """Write ``<name>.v`` and ``<name>.json`` (and, given an STF test or its table ops,
    ``<name>.ctl``: the control-port writes that install its meter settings and entries, one
    ``address data`` pair of hex words a line)."""
    if entries is not None and hasattr(entries, "table_ops"):
        entries = [*entries.meters, *entries.table_ops]
    text, description = build(program, width)
    stem = outdir / program.name
    written = [stem.with_suffix(".v"), stem.with_suffix(".json")]
    written[0].write_text(text)
    written[1].write_text(json.dumps(description, indent=2) + "\n")
    if entries:
        written.append(stem.with_suffix(".ctl"))
        written[2].write_text("".join(f"{a:08x} {d:08x}\n" for a, d in
                                      entry_writes(program, width, entries)))
    return written


compile_program.takes_stf_test = True  # type: ignore[attr-defined]


def entry_writes(program: ir.Program, width: int, ops: Sequence) -> list[tuple[int, int]]:
    from wirespeed.sim.executor import AddEntry, SetDefault
    from wirespeed.sim.stf import MeterConfig

    plan = Plan.of(program, width)
    control = ControlPlane(plan.tables, program)
    writes: list[tuple[int, int]] = []
    try:
        for op in ops:
            match op:
                case AddEntry(table, entry):
                    writes += control.add_entry(table, entry)[1]
                case SetDefault(table, call):
                    writes += control.set_default(table, call)
                case MeterConfig(_, meter, index, cir, cburst, pir, pburst):
                    writes += control.set_meter(meter, index, cir, cburst, pir, pburst)
                case _:
                    pass
    except ControlPlaneError as e:
        raise FpgaCompileError(str(e)) from None
    return writes
