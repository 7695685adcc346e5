"""A conformance campaign: N random programs with M packets each on every target.

Case ``i`` of campaign seed ``S`` is built from the seed ``"S:i"`` alone, so any case can be
rebuilt later (``wirespeed conformance --seed S --first i --programs 1``). For each case the
reference model runs first; every other target runs the same script and each difference is
counted. The first differences of each target are shrunk and written as reproducers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wirespeed.sim.conformance.report import write_reproducer
from wirespeed.sim.conformance.runner import (
    Case,
    Difference,
    build_case,
    compare,
    reference_run,
    run_on,
    shrink,
)


@dataclass
class TargetStats:
    programs: int = 0
    packets: int = 0
    differing_programs: int = 0
    differences: int = 0
    refused: int = 0  # programs the target cannot build by a documented limit (not counted)
    seconds: float = 0.0
    refusals: dict[str, int] = field(default_factory=dict)  # first line of the reason -> count


@dataclass
class CampaignResult:
    seed: str
    programs: int = 0
    packets: int = 0
    malformed: int = 0
    targets: dict[str, TargetStats] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # target -> why not run
    differences: list[Difference] = field(default_factory=list)
    reproducers: list[Path] = field(default_factory=list)
    generator_errors: int = 0  # cases the generator got wrong (counted in differences too)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.differences


def choose_targets(requested: Sequence[str] | None) -> tuple[list[str], dict[str, str]]:
    """The targets to compare with the reference (requested or all registered) that can run
    here, and why the others cannot. An unknown requested name raises ExecutorError."""
    from wirespeed.sim.targets import TARGETS, executor_class, unavailable_reason

    names = list(requested) if requested else [t for t in TARGETS if t != "reference"]
    usable: list[str] = []
    skipped: dict[str, str] = {}
    for name in names:
        if name not in TARGETS:
            executor_class(name)  # raises ExecutorError naming the known targets
        if name == "reference" and not requested:
            continue  # comparing the reference with itself only when asked (a smoke test)
        try:
            reason = unavailable_reason(name)
        except ImportError as e:
            reason = f"cannot load its executor ({e})"
        if reason:
            skipped[name] = reason
        else:
            usable.append(name)
    return usable, skipped


def run_campaign(programs: int, packets: int, targets: Sequence[str], *, seed: str = "1",
                 first: int = 0, malformed_fraction: float = 1 / 3,
                 program_limits: dict[str, int] | None = None, out_dir: Path | None = None,
                 shrink_seconds: float = 60.0, reproducers_per_target: int = 3,
                 progress: Callable[[str], None] | None = None) -> CampaignResult:
    """Run the campaign; ``program_limits[target]`` caps how many programs a slow target runs
    (the first ones). Reproducers go to ``out_dir`` (none written without it)."""
    limits = program_limits or {}
    result = CampaignResult(seed, targets={t: TargetStats() for t in targets})
    started = time.perf_counter()
    written: dict[str, int] = {}
    for i in range(first, first + programs):
        if targets and all(result.targets[t].programs >= limits.get(t, programs)
                           for t in targets):
            break  # every target has had its quota (limits below ``programs``)
        try:
            case = build_case(f"{seed}:{i}", packets, malformed_fraction)
            program = case.compile()
            expected = reference_run(case, program)
        except Exception as e:  # noqa: BLE001 - a bad case is a finding; the campaign goes on
            # the generator wrote a program the checker refuses, or the model failed on it
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            result.differences.append(Difference("generator", f"{seed}:{i}", "building the case",
                                                 "a valid case", message[:300]))
            result.generator_errors += 1
            if progress:
                progress(f"case {seed}:{i}: cannot build it: {message[:300]}")
            continue
        result.programs += 1
        result.packets += case.packet_count
        result.malformed += sum(label.startswith("malformed") for label in case.labels)
        for target in targets:
            stats = result.targets[target]
            if stats.programs >= limits.get(target, programs):
                continue
            got = run_on(target, program, case.ops)
            if got.refused is not None:
                # a documented limit (docs/<target>.md), not a wrong answer: the next program
                # takes this one's place in the target's quota
                stats.refused += 1
                reason = _refusal_kind(got.refused)
                stats.refusals[reason] = stats.refusals.get(reason, 0) + 1
                if progress:
                    progress(f"case {case.name}: {target} refuses it: {reason}")
                continue
            stats.programs += 1
            stats.packets += case.packet_count
            stats.seconds += got.seconds
            differences = compare(case, target, expected, got)
            if not differences:
                continue
            stats.differing_programs += 1
            stats.differences += len(differences)
            result.differences += differences
            if progress:
                progress(f"case {case.name}: {len(differences)} difference(s) on {target}: "
                         f"{differences[0].where}: reference {differences[0].expected}; "
                         f"{target} {differences[0].got}"[:400])
            if out_dir is not None and written.get(target, 0) < reproducers_per_target:
                written[target] = written.get(target, 0) + 1
                result.reproducers.append(
                    write_shrunk(case, differences[0], out_dir, shrink_seconds))
                if progress:
                    progress(f"  reproducer: {result.reproducers[-1]}")
        if progress and (i - first + 1) % 10 == 0:
            progress(f"{i - first + 1}/{programs} programs, {result.packets} packets, "
                     f"{len(result.differences)} differences, "
                     f"{time.perf_counter() - started:.0f} s")
    result.seconds = time.perf_counter() - started
    return result


def _refusal_kind(message: str) -> str:
    """The reason without its place or names, so like refusals count together."""
    first = message.splitlines()[0] if message else ""
    first = re.sub(r"^.*?error: ", "", first)
    return re.sub(r"'[^']*'", "X", first)[:120]


def write_shrunk(case: Case, difference: Difference, out_dir: Path,
                 shrink_seconds: float) -> Path:
    """Shrink the case for this difference and write the reproducer."""
    small = shrink(case, difference, shrink_seconds) if shrink_seconds > 0 else case
    program = small.compile()
    expected = reference_run(small, program)
    got = run_on(difference.target, program, small.ops)
    differences = compare(small, difference.target, expected, got) or [difference]
    return write_reproducer(out_dir, program, small, expected, differences, got)
