"""Width conversion pieces of the NIC, under Amaranth's simulator."""

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator
from wirespeed.boards.streams import _last_lane


@pytest.mark.parametrize("lanes", [2, 4, 8, 32])
def test_last_lane_of_every_contiguous_keep(lanes):
    keep = Signal(lanes)
    m = Module()
    out = Signal(max(1, (lanes - 1).bit_length()))
    m.d.comb += out.eq(_last_lane(keep))
    sim = Simulator(m)

    async def bench(ctx) -> None:
        for count in range(lanes + 1):
            ctx.set(keep, (1 << count) - 1)
            assert ctx.get(out) == max(count - 1, 0), count

    sim.add_testbench(bench)
    sim.run()
