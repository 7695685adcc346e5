"""The generators as hypothesis strategies, for property tests that want hypothesis' own
shrinking: ``programs()`` (program texts), ``packets(program)`` (well-formed and malformed
packets for a compiled program) and ``entries(program)`` (control-plane ops it accepts).

    @given(st.data())
    def test_something(data):
        program = compile_source(data.draw(programs()), "p.wire")
        packet = data.draw(packets(program))
"""

from __future__ import annotations

from hypothesis import strategies as st
from wirespeed.compiler import ir
from wirespeed.sim.conformance.choices import HypothesisChoices
from wirespeed.sim.conformance.packets import (
    generate_entries,
    malformed_packet,
    valid_ops,
    well_formed_packet,
)
from wirespeed.sim.conformance.programs import programs
from wirespeed.sim.executor import Op

__all__ = ["entries", "packets", "programs"]


def packets(program: ir.Program, malformed: bool | None = None) -> st.SearchStrategy[bytes]:
    """Packets for ``program``: well-formed, malformed, or (None) either."""

    @st.composite
    def _packets(draw) -> bytes:
        c = HypothesisChoices(draw)
        broken = c.chance(1 / 3) if malformed is None else malformed
        if broken:
            return malformed_packet(program, c)[0]
        return well_formed_packet(program, c)[0]

    return _packets()


def entries(program: ir.Program) -> st.SearchStrategy[list[Op]]:
    """Entries and default actions for every table that the reference control plane accepts;
    key values come from a few well-formed packets so that they hit."""

    @st.composite
    def _entries(draw) -> list[Op]:
        c = HypothesisChoices(draw)
        samples = [well_formed_packet(program, c)[1].header_values() for _ in range(4)]
        return valid_ops(program, generate_entries(program, samples, c, [0, 1, 2, 3]))

    return _entries()
