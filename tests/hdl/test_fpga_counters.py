"""A table's direct counters (``CounterUnit``) in the Amaranth simulator: every cell counts
packets and bytes, back-to-back updates of one cell included, whether the miss counter is a
memory word or the register beside a memory of whole rows (17 cells: 16 TCAM slots in one
LUT-RAM row; 513: 512 entries in one block RAM row); host reads share the read port with the
updates and see every update before them."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator
from wirespeed.hdl.tables import CounterUnit

MASK64 = (1 << 64) - 1


@pytest.mark.parametrize("count", [9, 17, 65, 513])
def test_every_cell_counts_packets_and_bytes(count: int) -> None:
    unit = CounterUnit(count)
    rng = random.Random(count)
    expected = [[0, 0] for _ in range(count)]

    def cell(ctx) -> list[int]:
        data = ctx.get(unit.read_data)
        return [data & MASK64, data >> 64]

    async def bench(ctx) -> None:
        reading: tuple[int, list[int] | None] | None = None  # the cell, what it held when read
        waited = reads = 0
        for _ in range(600):
            # the miss cell and cell 0 often, and often twice in a row
            index = rng.choice([0, count - 1, count - 1, rng.randrange(count)])
            length = rng.randrange(60, 1515)
            update = rng.random() < 0.7
            if reading is None and rng.random() < 0.2:
                reading = (rng.choice([0, count - 1, index]), None)
                ctx.set(unit.read, 1)
                ctx.set(unit.read_index, reading[0])
            ctx.set(unit.update, update)
            ctx.set(unit.index, index)
            ctx.set(unit.length, length)
            if reading and reading[1] is None and not update and not ctx.get(unit.read_done):
                # the port is free: the read sees every update before this clock
                reading = (reading[0], list(expected[reading[0]]))
            elif reading and reading[1] is None:
                waited += 1
            await ctx.tick()
            if update:
                expected[index][0] += 1
                expected[index][1] += length
            if ctx.get(unit.read_done):
                assert reading is not None and cell(ctx) == reading[1], reading
                ctx.set(unit.read, 0)
                reading, reads = None, reads + 1
        assert reads > 50 and waited > 20  # reads ran beside updates, and waited for them
        ctx.set(unit.update, 0)
        ctx.set(unit.read, 0)
        await ctx.tick().repeat(2)
        for index in [*range(min(count, 40)), count - 1]:
            ctx.set(unit.read, 1)
            ctx.set(unit.read_index, index)
            await ctx.tick()
            assert ctx.get(unit.read_done)
            assert cell(ctx) == expected[index], index
            ctx.set(unit.read, 0)
            await ctx.tick()

    sim = Simulator(unit)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
