"""The TCAM's priority select: the lowest matching slot wins, for any number of slots
(a tree over a count that is not a power of two carries its odd one up a level)."""

import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator
from wirespeed.hdl.tables import first_match


@pytest.mark.parametrize("slots", [1, 2, 3, 12, 20, 64])
def test_lowest_matching_slot_wins(slots: int) -> None:
    matches = Signal(slots)
    hit, result = Signal(), Signal(8)
    m = Module()
    tree_hit, tree_result = first_match([matches[i] for i in range(slots)],
                                        [100 + i for i in range(slots)])
    m.d.comb += [hit.eq(tree_hit), result.eq(tree_result)]
    rng = random.Random(slots)
    vectors = [0, (1 << slots) - 1, *(1 << i for i in range(slots)),
               *(rng.getrandbits(slots) for _ in range(50))]

    async def bench(ctx) -> None:
        for v in vectors:
            ctx.set(matches, v)
            assert ctx.get(hit) == (v != 0), bin(v)
            if v:
                lowest = (v & -v).bit_length() - 1
                assert ctx.get(result) == 100 + lowest, bin(v)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
