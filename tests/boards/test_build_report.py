"""The build report: what a board's pipeline holds of each table, as text and JSON."""

import json
from pathlib import Path

from wirespeed.boards.board import BOARDS
from wirespeed.boards.build import BuildReport, ClockTiming, Resource, table_capacities
from wirespeed.compiler.frontend import load_program

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_each_board_reports_its_table_capacities():
    program = load_program(str(EXAMPLES / "gateway.wire"))
    sizes = {t.name: t.size for t in program.tables}
    for board in BOARDS.values():
        tables = {t.name: t for t in table_capacities(board, program, 64)}
        assert set(tables) == set(sizes)
        for name, t in tables.items():
            assert t.requested == sizes[name]
            if t.kind == "tcam":  # acl (256) and routes (64)
                assert t.entries == min(sizes[name], board.limits.tcam_slots)
            else:  # exact tables (vtep, maglev: 1,024) live in block RAM
                cap = board.limits.exact_entries or sizes[name]
                assert (t.kind, t.entries) == ("hash", min(sizes[name], cap))


def test_report_shows_tables_cut_to_the_board():
    program = load_program(str(EXAMPLES / "gateway.wire"))
    board = BOARDS["colorlight-5a-75b"]
    report = BuildReport("gateway", board.name, "LFE5U-25F-BG256", 64,
                         resources={"LUT": Resource(100, 24288)},
                         clocks=[ClockTiming("sync", 60.0, 50.0)],
                         tables=table_capacities(board, program, 64))
    text = report.to_text()
    acl = next(line for line in text.splitlines() if line.strip().startswith("acl "))
    assert acl.split()[:3] == ["acl", "tcam", "16"]
    assert "(program asks 256)" in acl
    vtep = next(line for line in text.splitlines() if line.strip().startswith("vtep "))
    assert vtep.split()[:3] == ["vtep", "hash", "512"]
    assert "(program asks 1024)" in vtep
    local = next(line for line in text.splitlines() if line.strip().startswith("local_vtep "))
    assert local.split() == ["local_vtep", "hash", "16"]  # as the program asks
    data = json.loads(json.dumps(report.to_json()))
    assert {"name": "acl", "kind": "tcam", "entries": 16, "requested": 256} in data["tables"]
    assert {"name": "maglev", "kind": "hash", "entries": 512,
            "requested": 1024} in data["tables"]


def test_a_design_too_big_is_named_with_its_figures(tmp_path):
    """nextpnr's utilisation lines become the message when a design does not fit."""
    from wirespeed.boards.build import _overused

    log = tmp_path / "top.tim"
    log.write_text("Info: Device utilisation:\n"
                   "Info: \t          TRELLIS_IO:    30/  197    15%\n"
                   "Info: \t              DP16KD:    72/   56   128%\n"
                   "Info: \t          TRELLIS_FF: 23723/24288    97%\n"
                   "Info: \t        TRELLIS_COMB: 66378/24288   273%\n"
                   "ERROR: Unable to place cell 'x', no BELs remaining\n")
    assert _overused(log, "ecp5") == "BRAM 72 of 56 (128 %), LUT 66,378 of 24,288 (273 %)"
    log.write_text("Info: Logic utilisation before packing:\n"
                   "Info:     Total LUT4s:     34953/24288   143%\n"
                   "Info:           RAM LUTs:   6164/ 3036   203%\n"
                   "Info:          RAMW LUTs:   3082/ 6072    50%\n"
                   "Info: \t              DP16KD:    56/   56   100%\n"
                   "Info: \t        TRELLIS_COMB: 35699/24288   146%\n")
    assert _overused(log, "ecp5") == ("LUT 35,699 of 24,288 (146 %), "
                                      "LUT-RAM 6,164 of 3,036 LUTs (203 %)")
    log.write_text("Info: \t         ICESTORM_LC:  6000/  5280   113%\n")
    assert _overused(log, "ice40") == "LUT 6,000 of 5,280 (113 %)"
    log.write_text("Info: \t        TRELLIS_COMB:  5406/24288    22%\n")
    assert _overused(log, "ecp5") == ""
