"""Every example on every board: build time, resources and fmax, as one table.

    .venv/bin/python bench/board_builds.py [--examples gateway,acl] [--boards icebreaker]
                                           [--json out.json] [--keep DIR]

``--examples stand-in`` builds the NIC around a stand-in pipeline that forwards every packet:
the NIC's own clocks and resources.

Each build is the full `wirespeed build` flow (Amaranth, Yosys, nextpnr, packing). A build
whose timing fails still reports its figures (marked FAIL); a design that does not fit the
device is reported as such. This is slow (minutes per build); it is not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from wirespeed.boards.board import BOARDS, EthernetBoardTop, UartBoardTop, find_board
from wirespeed.boards.build import BuildError, BuildReport, build, build_design
from wirespeed.boards.pipeline import RegisterForward

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["vxlan_decap", "acl", "l4lb", "gateway"]
STAND_IN = "stand-in"  # --examples stand-in: the NIC with a stand-in pipeline
WIDTH = 64


def build_stand_in(board_name: str, out: Path) -> BuildReport:
    """The NIC alone: ``RegisterForward`` in place of a program's pipeline, so the figures
    are the NIC's own (MACs, buffers, clock crossings, control path)."""
    board = find_board(board_name)
    top = EthernetBoardTop if board.family == "ecp5" else UartBoardTop
    return build_design(lambda: top(board, RegisterForward(WIDTH), WIDTH), STAND_IN, board,
                        out, WIDTH, lambda message: None, {})


def run_one(example: str, board: str, out: Path) -> dict:
    start = time.monotonic()
    try:
        report = (build_stand_in(board, out) if example == STAND_IN else
                  build(ROOT / "examples" / f"{example}.wire", board, out))
        data = report.to_json()
        data["error"] = None
    except BuildError as error:
        report_file = out / "report.json"
        data = json.loads(report_file.read_text()) if report_file.exists() else {}
        data["error"] = str(error).splitlines()[0]
    data["wall_seconds"] = round(time.monotonic() - start, 1)
    data["example"], data["board"] = example, board
    return data


def table(rows: list[dict]) -> str:
    head = (f"{'example':<12} {'board':<18} {'time s':>7} {'LUT':>13} {'FF':>13} "
            f"{'BRAM':>7} {'DSP':>5}  fmax MHz (constraint)                 result")
    lines = [head, "-" * len(head)]
    for r in rows:
        res = r.get("resources", {})
        cell = {name: f"{v['used']}/{v['available']}" for name, v in res.items()}

        clocks = "  ".join(f"{c['achieved_mhz']:.1f}({c['constraint_mhz']:.0f})"
                           for c in r.get("clocks", []))
        result = "ok" if r.get("timing_met") and not r["error"] else (r["error"] or "FAIL")
        lines.append(f"{r['example']:<12} {r['board']:<18} {r['wall_seconds']:>7.1f} "
                     f"{cell.get('LUT', '-'):>13} {cell.get('FF', '-'):>13} "
                     f"{cell.get('BRAM', '-'):>7} {cell.get('DSP', '-'):>5}  "
                     f"{clocks:<37} {result}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default=",".join(EXAMPLES))
    parser.add_argument("--boards", default=",".join(BOARDS))
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--keep", metavar="DIR", help="keep the build directories here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(args.keep) if args.keep else Path(scratch)
        for example in args.examples.split(","):
            for board in args.boards.split(","):
                print(f"building {example} for {board} ...", file=sys.stderr, flush=True)
                rows.append(run_one(example, board, base / f"{example}-{board}"))
                print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
