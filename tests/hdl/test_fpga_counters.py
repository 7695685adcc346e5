"""A table's direct counters (``CounterUnit``) in the Amaranth simulator: every cell counts
packets and bytes, back-to-back updates of one cell included, whether the miss counter is a
memory word or the register beside a memory of whole rows (17 cells: 16 TCAM slots in one
LUT-RAM row; 513: 512 entries in one block RAM row)."""

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

    async def bench(ctx) -> None:
        for _ in range(300):
            # the miss cell and cell 0 often, and often twice in a row
            index = rng.choice([0, count - 1, count - 1, rng.randrange(count)])
            length = rng.randrange(60, 1515)
            update = rng.random() < 0.9
            ctx.set(unit.update, update)
            ctx.set(unit.index, index)
            ctx.set(unit.length, length)
            await ctx.tick()
            if update:
                expected[index][0] += 1
                expected[index][1] += length
        ctx.set(unit.update, 0)
        await ctx.tick().repeat(2)
        for index in [*range(min(count, 40)), count - 1]:
            ctx.set(unit.read_index, index)
            await ctx.tick().repeat(2)
            data = ctx.get(unit.read_data)
            assert [data & MASK64, data >> 64] == expected[index], index

    sim = Simulator(unit)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
