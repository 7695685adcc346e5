"""The long conformance campaign (`make conformance`): random programs and packets on every
target, then the bad-input campaign. Prints figures as it goes and a summary at the end; the
running totals are also written to OUT/summary.json after every chunk of programs, so a run
that is stopped still says how far it got.

    .venv/bin/python bench/conformance_long.py [--programs 500] [--packets 2000]
        [--targets xdp,p4,...] [--seed long] [--mutants 10000] [--bad-stf 1000] [--out DIR]

Defaults: 500 programs x 2,000 packets (1,000,000 packets, a third malformed) on every
registered target that can run here, 10,000 mutated sources, 1,000 bad entry files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def conformance(args: argparse.Namespace, out: Path) -> dict:
    from wirespeed.sim.conformance.campaign import choose_targets, run_campaign

    targets, skipped = choose_targets(args.targets.split(",") if args.targets else None)
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}")
    totals: dict = {"seed": args.seed, "programs": 0, "packets": 0, "malformed": 0,
                    "seconds": 0.0, "differences": 0, "reproducers": [],
                    "targets": {t: {"programs": 0, "packets": 0, "differing_programs": 0,
                                    "differences": 0, "refused": 0, "refusals": {},
                                    "seconds": 0.0} for t in targets},
                    "skipped": skipped, "first_differences": [], "differing_cases": {}}
    chunk = 10
    for first in range(args.first, args.first + args.programs, chunk):
        count = min(chunk, args.first + args.programs - first)
        # shrinking costs minutes: only the first few reproducers of the run
        room = len(totals["reproducers"]) < args.reproducers
        # --limit TARGET=N: a slow target runs the first N programs of the whole run
        limits = {name: max(0, n - totals["targets"][name]["programs"])
                  for name, n in args.limit.items() if name in totals["targets"]}
        result = run_campaign(count, args.packets, targets, seed=args.seed, first=first,
                              program_limits=limits,
                              out_dir=out / "reproducers" if room else None,
                              shrink_seconds=args.shrink_seconds, reproducers_per_target=1,
                              progress=None)
        totals["programs"] += result.programs
        totals["packets"] += result.packets
        totals["malformed"] += result.malformed
        totals["seconds"] += result.seconds
        totals["differences"] += len(result.differences)
        totals["generator_errors"] = totals.get("generator_errors", 0) + result.generator_errors
        totals["reproducers"] += [str(p) for p in result.reproducers]
        for d in result.differences:
            cases = totals["differing_cases"].setdefault(d.target, [])
            if d.case not in cases:
                cases.append(d.case)
        for d in result.differences[:3]:
            if len(totals["first_differences"]) < 30:
                totals["first_differences"].append(
                    f"{d.target} case {d.case}: {d.where}: {d.got[:160]}")
        for name, stats in result.targets.items():
            t = totals["targets"][name]
            for key in ("programs", "packets", "differing_programs", "differences", "refused"):
                t[key] += getattr(stats, key)
            for reason, n in stats.refusals.items():
                t["refusals"][reason] = t["refusals"].get(reason, 0) + n
            t["seconds"] += stats.seconds
        (out / "summary.json").write_text(json.dumps(totals, indent=1))
        per_target = ", ".join(f"{n}: {t['differing_programs']} differing programs"
                               for n, t in totals["targets"].items())
        print(f"{totals['programs']}/{args.programs} programs (from {args.first}), {totals['packets']} packets, "
              f"{totals['differences']} differences ({per_target}), "
              f"{totals['seconds']:.0f} s", flush=True)
    return totals


def bad_sources(args: argparse.Namespace, out: Path) -> dict:
    from wirespeed.sim.conformance.badinput import (
        corpus_sources,
        judge,
        mutate_source,
        random_source,
        run_cli,
    )
    from wirespeed.sim.conformance.choices import RandomChoices

    corpus = corpus_sources(ROOT, generated=50, seed=f"{args.seed}:corpus")
    c = RandomChoices(f"{args.seed}:mutants")
    counts = {"cases": 0, "refused": 0, "accepted": 0, "bad": 0, "hangs": 0, "tracebacks": 0}
    started = time.perf_counter()
    folder = out / "mutants"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mutant.wire"
    for n in range(args.mutants):
        source = random_source(c) if n % 10 == 9 else mutate_source(c.choice(corpus), c)
        path.write_text(source, errors="surrogateescape")
        outcome = run_cli(["check", str(path)], seconds=30)
        counts["cases"] += 1
        counts["refused" if outcome.exit_code else "accepted"] += 1
        verdict = judge(outcome, may_succeed=True)
        if verdict:
            counts["bad"] += 1
            counts["hangs"] += verdict == "hang"
            counts["tracebacks"] += verdict in ("traceback", "internal error")
            (folder / f"bad{n}.wire").write_text(source, errors="surrogateescape")
            print(f"  {verdict}: {folder / f'bad{n}.wire'}")
        if (n + 1) % 1000 == 0:
            print(f"{n + 1}/{args.mutants} mutated sources: {counts}", flush=True)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def bad_entries(args: argparse.Namespace, out: Path) -> dict:
    from wirespeed.compiler.frontend import load_program
    from wirespeed.sim.conformance.badinput import judge, mutate_stf, run_cli
    from wirespeed.sim.conformance.choices import RandomChoices
    from wirespeed.sim.pcap import PcapPacket, write_pcap

    subjects = []
    for name in ("acl", "vxlan_decap", "l4lb", "gateway"):
        wire = ROOT / "examples" / f"{name}.wire"
        program = load_program(wire)
        names = [t.name for t in program.tables] + [a.name for a in program.actions]
        names += [k.name for t in program.tables for k in t.keys]
        lines = (ROOT / "examples" / f"{name}.stf").read_text().splitlines()
        subjects.append((str(wire), "\n".join(lines[:150]) + "\n", names))
    c = RandomChoices(f"{args.seed}:entries")
    counts = {"cases": 0, "refused": 0, "ran": 0, "bad": 0, "hangs": 0, "tracebacks": 0}
    started = time.perf_counter()
    folder = out / "bad-stf"
    folder.mkdir(parents=True, exist_ok=True)
    pcap = folder / "in.pcap"
    write_pcap(pcap, [PcapPacket(0.0, bytes(range(64)))])
    for n in range(args.bad_stf):
        wire, text, names = c.choice(subjects)
        path = folder / "bad.stf"
        path.write_text(mutate_stf(text, names, c), errors="surrogateescape")
        command = c.choice(("test", "run", "compile"))
        if command == "test":
            argv = ["test", wire, "--stf", str(path)]
        elif command == "run":
            argv = ["run", wire, "--pcap", str(pcap),
                    "--out", str(folder / "out.pcap"), "--entries", str(path)]
        else:
            argv = ["compile", wire, "--target", "ir", "-o", str(folder / "out"), "--entries",
                    str(path)]
        outcome = run_cli(argv, seconds=30)
        counts["cases"] += 1
        verdict = judge(outcome, may_succeed=True)
        if verdict == "no error message" and "packet checks" in outcome.stdout:
            verdict = None
        counts["ran" if outcome.exit_code == 0 or "packet checks" in outcome.stdout
               else "refused"] += 1
        if verdict:
            counts["bad"] += 1
            counts["hangs"] += verdict == "hang"
            counts["tracebacks"] += verdict in ("traceback", "internal error")
            (folder / f"bad{n}.stf").write_text(path.read_text(errors="surrogateescape"),
                                                errors="surrogateescape")
            print(f"  {verdict}: {' '.join(argv)} (kept as bad{n}.stf)")
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=500)
    parser.add_argument("--packets", type=int, default=2000)
    parser.add_argument("--first", type=int, default=0,
                        help="index of the first program (to split a run over processes)")
    parser.add_argument("--targets", default="")
    parser.add_argument("--seed", default="long")
    parser.add_argument("--mutants", type=int, default=10_000)
    parser.add_argument("--bad-stf", type=int, default=1000)
    parser.add_argument("--shrink-seconds", type=float, default=120.0)
    parser.add_argument("--reproducers", type=int, default=6,
                        help="shrink and write at most about this many reproducers")
    parser.add_argument("--out", default="conformance-long")
    parser.add_argument("--limit", action="append", default=[], metavar="TARGET=N",
                        help="run TARGET on the first N programs only (default: fpga=20)")
    parser.add_argument("--skip", default="", help="comma list of: programs,sources,entries")
    args = parser.parse_args()
    args.limit = dict(item.split("=", 1) for item in (args.limit or ["fpga=20"]))
    args.limit = {name: int(n) for name, n in args.limit.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    skip = set(args.skip.split(",")) - {""}
    report: dict = {}
    if "programs" not in skip:
        report["conformance"] = conformance(args, out)
    if "sources" not in skip:
        report["mutated_sources"] = bad_sources(args, out)
        print(f"mutated sources: {report['mutated_sources']}")
    if "entries" not in skip:
        report["bad_entry_files"] = bad_entries(args, out)
        print(f"bad entry files: {report['bad_entry_files']}")
    (out / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    failed = report.get("conformance", {}).get("differences", 0) or any(
        report.get(k, {}).get("bad", 0) for k in ("mutated_sources", "bad_entry_files"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
