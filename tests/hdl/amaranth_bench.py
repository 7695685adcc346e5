"""Run the pipeline in Amaranth's own simulator: for component tests at every data width,
without a Verilator build. Random idle cycles on the input, random backpressure on the
output, as the cocotb bench does."""

from __future__ import annotations

import random

from amaranth.sim import Simulator
from wirespeed.compiler import ir
from wirespeed.hdl.pipeline import Pipeline


def run_pipeline(program: ir.Program, width: int, packets: list[tuple[int, bytes]],
                 writes: list[tuple[int, int]] = (), *, idle: float = 0.3,
                 backpressure: float = 0.3, seed: int = 1, max_cycles: int = 20000,
                 ) -> tuple[dict[int, list[tuple[int, bytes]]], list[str]]:
    """Outputs by input index ``[(port, bytes)]`` and stream protocol errors."""
    dut = Pipeline(program, width)
    lanes = width // 8
    rng = random.Random(seed)
    beats = []
    for tag, (port, data) in enumerate(packets):
        chunks = [data[i:i + lanes] for i in range(0, len(data), lanes)] or [b""]
        for n, chunk in enumerate(chunks):
            beats.append((int.from_bytes(chunk, "little"), (1 << len(chunk)) - 1, n == 0,
                          n == len(chunks) - 1, port, tag))
    outputs: dict[int, list[tuple[int, bytes]]] = {}
    errors: list[str] = []

    async def bench(ctx) -> None:
        for addr, data in writes:
            ctx.set(dut.ctl.addr, addr)
            ctx.set(dut.ctl.wdata, data)
            ctx.set(dut.ctl.write, 1)
            await ctx.tick()
            ctx.set(dut.ctl.write, 0)
            while not ctx.get(dut.ctl.ack):
                await ctx.tick()
            await ctx.tick()
        index, current, quiet = 0, None, 0
        for _ in range(max_cycles):
            driving = index < len(beats) and rng.random() >= idle
            ready = rng.random() >= backpressure
            ctx.set(dut.i.valid, driving)
            if index < len(beats):
                data, keep, first, last, port, tag = beats[index]
                p = dut.i.payload
                ctx.set(p.data, data)
                ctx.set(p.keep, keep)
                ctx.set(p.first, first)
                ctx.set(p.last, last)
                ctx.set(p.port, port)
                ctx.set(p.tag, tag)
            ctx.set(dut.o.ready, ready)
            took = driving and ctx.get(dut.i.ready)
            if ready and ctx.get(dut.o.valid):
                o = dut.o.payload
                keep = ctx.get(o.keep)
                count = bin(keep).count("1")
                if keep != (1 << count) - 1:
                    errors.append(f"keep {keep:#x} not contiguous")
                chunk = ctx.get(o.data).to_bytes(lanes, "little")[:count]
                if ctx.get(o.first) != (current is None):
                    errors.append("first flag wrong")
                if current is None:
                    current = [ctx.get(o.tag), ctx.get(o.port), bytearray()]
                current[2] += chunk
                if ctx.get(o.last):
                    outputs.setdefault(current[0], []).append((current[1], bytes(current[2])))
                    current = None
                elif count != lanes:
                    errors.append("partial beat before the last")
            busy = ctx.get(dut.busy)
            await ctx.tick()
            if took:
                index += 1
            quiet = quiet + 1 if index == len(beats) and not busy else 0
            if quiet > 4:
                return
        errors.append("timeout")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return outputs, errors
