"""The bounded conformance campaign of CI: 50 random programs x 200 packets (a third of them
malformed) on every registered target that can run here, compared with the reference model.

One test per target, so pytest-xdist runs targets side by side. A slow simulator runs fewer
programs (``PROGRAMS``); the long campaign (``make conformance``,
``bench/conformance_long.py``) runs every target on every program. The seed is fixed so CI is
repeatable; set WIRESPEED_CONFORMANCE_SEED to explore other cases.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from wirespeed.sim.conformance.campaign import run_campaign
from wirespeed.sim.targets import TARGETS, unavailable_reason

PACKETS = 200
DEFAULT_PROGRAMS = 50
# A slow simulator may run fewer programs here (target -> programs); today every target runs all
# 50 (the FPGA's Verilator builds take about 15 s a program, its 200 packets a few seconds).
PROGRAMS: dict[str, int] = {}
SEED = os.environ.get("WIRESPEED_CONFORMANCE_SEED", "ci")

# Differences reported to their owners and not fixed yet (docs/conformance.md); each marker
# goes when its target agrees again.
OPEN: dict[str, str] = {}


def _params() -> list:
    params = []
    for target in TARGETS:
        if target == "reference":
            continue
        marks = [pytest.mark.xfail(reason=OPEN[target], strict=False)] if target in OPEN else []
        params.append(pytest.param(target, marks=marks, id=target))
    return params


@pytest.mark.parametrize("target", _params())
def test_random_programs_agree_with_the_reference(target: str, tmp_path: Path) -> None:
    try:
        reason = unavailable_reason(target)
    except ImportError as e:
        reason = f"cannot load its executor ({e})"
    if reason:
        pytest.skip(f"{target} cannot run here: {reason}")
    programs = PROGRAMS.get(target, DEFAULT_PROGRAMS)
    started = time.perf_counter()
    # a program the target refuses by a documented limit gives its place to the next one
    # (the FPGA refuses about 3 in 10); the campaign stops once the quota has run
    result = run_campaign(2 * programs, PACKETS, [target], seed=SEED, out_dir=tmp_path,
                          program_limits={target: programs}, shrink_seconds=20,
                          reproducers_per_target=1)
    elapsed = time.perf_counter() - started
    stats = result.targets[target]
    assert stats.programs == programs and stats.packets == programs * PACKETS, (
        f"{target} ran {stats.programs} of {result.programs} programs; it refused "
        f"{stats.refused}: {stats.refusals}")
    assert result.malformed > result.programs * PACKETS // 4  # about a third
    print(f"{target}: {programs} programs, {stats.packets} packets, {elapsed:.1f} s "
          f"({stats.seconds:.1f} s on the target); refused {stats.refused}: {stats.refusals}")
    details = "\n".join(f"  case {d.case}: {d.where}: reference {d.expected[:200]}; "
                        f"{target} {d.got[:200]}" for d in result.differences[:10])
    assert not result.differences, (
        f"{len(result.differences)} differences on {target} in {stats.differing_programs} of "
        f"{programs} programs (reproducer: {result.reproducers}):\n{details}")
