"""``wirespeed conformance``: random programs and packets on every target, differences shrunk.

Added to the ``wirespeed`` command group in ``compiler/cli.py``; errors are raised as the
exceptions ``compiler.cli.main`` turns into messages and exit codes (no traceback).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console(highlight=False, soft_wrap=True, emoji=False)


def _parse_limits(values: tuple[str, ...]) -> dict[str, int]:
    limits: dict[str, int] = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not name or not count.isdigit():
            raise click.BadParameter(f"{value!r} is not TARGET=N", param_hint="--limit")
        limits[name] = int(count)
    return limits


@click.command()
@click.option("--programs", default=50, show_default=True, type=click.IntRange(min=1),
              help="How many random programs.")
@click.option("--packets", default=200, show_default=True, type=click.IntRange(min=1),
              help="Packets per program.")
@click.option("--targets", "targets", multiple=True, metavar="T[,T...]",
              help="Targets to compare with the reference (default: every registered one "
                   "that can run here).")
@click.option("--seed", default="1", show_default=True,
              help="Campaign seed; case I is rebuilt from SEED and I alone.")
@click.option("--first", default=0, show_default=True, type=click.IntRange(min=0),
              help="Index of the first case (to rerun one case: --first I --programs 1).")
@click.option("--malformed", "malformed_fraction", default=1 / 3, show_default="1/3",
              type=click.FloatRange(0, 1), help="Fraction of malformed packets.")
@click.option("--limit", "limits", multiple=True, metavar="TARGET=N",
              help="Run TARGET on the first N programs only (for slow simulators).")
@click.option("-o", "--out", "out_dir", default="conformance-out", show_default=True,
              metavar="DIR", help="Where reproducers of differences are written.")
@click.option("--shrink-seconds", default=60.0, show_default=True,
              type=click.FloatRange(min=0), help="Time spent shrinking each reproducer.")
def conformance(programs: int, packets: int, targets: tuple[str, ...], seed: str, first: int,
                malformed_fraction: float, limits: tuple[str, ...], out_dir: str,
                shrink_seconds: float) -> None:
    """Run random programs and packets on the reference model and every target; report each
    difference with a shrunk reproducer (.wire + .stf) in DIR. Exit 1 if any differ."""
    from wirespeed.compiler.cli import TestsFailed
    from wirespeed.sim.conformance.campaign import choose_targets, run_campaign

    requested = [t for value in targets for t in value.split(",") if t]
    usable, skipped = choose_targets(requested or None)
    for name, reason in skipped.items():
        console.print(f"skipping {name}: {reason}", markup=False)
    if requested and not usable:
        raise click.UsageError("none of the requested targets can run here")
    result = run_campaign(programs, packets, usable, seed=seed, first=first,
                          malformed_fraction=malformed_fraction,
                          program_limits=_parse_limits(limits), out_dir=Path(out_dir),
                          shrink_seconds=shrink_seconds,
                          progress=lambda line: console.print(line, markup=False))
    table = Table(title=f"conformance: seed {seed}, {result.programs} programs, "
                        f"{result.packets} packets ({result.malformed} malformed) in "
                        f"{result.seconds:.1f} s", title_justify="left")
    for column in ("target", "programs", "packets", "differing programs", "differences",
                   "refused", "time"):
        table.add_column(column)
    for name, stats in result.targets.items():
        table.add_row(name, str(stats.programs), str(stats.packets),
                      str(stats.differing_programs), str(stats.differences),
                      str(stats.refused), f"{stats.seconds:.1f} s")
    for name, reason in skipped.items():
        table.add_row(name, "-", "-", "-", "-", "-", f"skipped: {reason}")
    console.print(table)
    for name, stats in result.targets.items():
        for reason, count in sorted(stats.refusals.items(), key=lambda kv: -kv[1]):
            console.print(f"{name} refused {count}: {reason}", markup=False)
    for path in result.reproducers:
        console.print(f"reproducer: {path}", markup=False)
    if not result.passed:
        raise TestsFailed
