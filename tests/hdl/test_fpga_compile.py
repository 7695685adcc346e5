"""``wirespeed compile --target fpga``: Verilog that Verilator accepts, the JSON map, the
control-port writes of STF entries, and clear errors for what the backend does not build."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from wirespeed.compiler import ir
from wirespeed.compiler.cli import main
from wirespeed.compiler.frontend import compile_source, load_program
from wirespeed.hdl.controlplane import ControlPlane, ControlPlaneError
from wirespeed.hdl.meters import pack_config
from wirespeed.hdl.pipeline import METER_UNIT, REGION_COMMIT, REGION_METER, Plan, control_address
from wirespeed.hdl.tables import CHUNK_BITS, COLUMN_BASE, GROUP_SLOTS
from wirespeed.sim.fpga import VERILATOR_BIN

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_compile_writes_verilog_map_and_entry_writes(tmp_path: Path, capsys) -> None:
    code = main(["compile", str(EXAMPLES / "acl.wire"), "--target", "fpga", "-o",
                 str(tmp_path), "--entries", str(EXAMPLES / "acl.stf")])
    assert code == 0, capsys.readouterr()
    verilog = (tmp_path / "acl.v").read_text()
    assert "module wirespeed_top(" in verilog
    description = json.loads((tmp_path / "acl.json").read_text())
    assert description["data_width"] == 64
    assert description["latency_cycles"]["header_pipeline"] >= 3
    kinds = {t["name"]: t["kind"] for t in description["tables"]}
    assert kinds == {"bogon_sources": "tcam", "acl": "tcam"}
    # the column geometry a board driver needs: the ACL's value/mask keys are src, dst and
    # protocol (72 bits, 18 chunks); the two port ranges stay in the slot words
    assert description["control_port"]["tcam_columns"] == {
        "column_base": COLUMN_BASE, "chunk_bits": CHUNK_BITS, "group_slots": GROUP_SLOTS}
    acl = next(t for t in description["tables"] if t["name"] == "acl")
    assert (acl["ternary_keys"], acl["chunks"]) == ([0, 1, 2], 18)
    assert acl["groups"] == -(-acl["slots"] // GROUP_SLOTS)
    assert {"lo3", "hi3", "lo4", "hi4"} <= set(acl["entry_layout"])
    writes = (tmp_path / "acl.ctl").read_text().split("\n")
    assert len([w for w in writes if w]) > 12  # 12 entries, each staged then committed
    verilator = VERILATOR_BIN / "verilator"
    if not verilator.exists() and not shutil.which("verilator"):
        pytest.skip("Verilator is not installed")
    lint = subprocess.run([str(verilator if verilator.exists() else "verilator"), "--lint-only",
                           "-Wno-fatal", "-Wno-WIDTH", "-Wno-CASEINCOMPLETE",
                           "-Wno-CMPCONST", "--top-module", "wirespeed_top",
                           str(tmp_path / "acl.v")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr[-2000:]


def test_tcam_keeps_entries_in_priority_order() -> None:
    program = load_program(EXAMPLES / "acl.wire")
    control = ControlPlane(Plan.of(program, 64).tables, program)
    acl = program.table("acl")
    wild = (ir.Lpm(0, 0), ir.Ternary(0, 0), ir.Exact(6), ir.Range(0, 65535), ir.Range(0, 65535))
    _, first = control.add_entry("acl", ir.Entry(wild, ir.ActionCall("deny"), 50))
    _, second = control.add_entry("acl", ir.Entry(wild, ir.ActionCall("permit"), 10))
    # priority 10 beats 50: it takes slot 0 and the older entry moves down to slot 1. Slot 0
    # is made invalid first, its columns are written, then both slots' words.
    region = control_address(2, REGION_COMMIT, 0) >> 20
    commits = [a & 0xFFFFF for a, _ in second if a >> 20 == region]
    assert [i for i in commits if i < COLUMN_BASE] == [0, 0, 1]
    assert commits[0] == 0 and commits[-2:] == [0, 1]
    assert commits[1:-2] and all(i >= COLUMN_BASE for i in commits[1:-2])
    invalidate = second[:second.index((control_address(2, REGION_COMMIT, 0), 0))]
    assert invalidate and all(data == 0 for _, data in invalidate)
    assert acl.needs_priority
    assert len(first) > 0


def test_tcam_columns_match_as_value_and_mask() -> None:
    """Read back through the column words, as the hardware does, a slot accepts a key
    exactly when (key ^ value) & mask == 0 on its value/mask keys."""
    program = load_program(EXAMPLES / "acl.wire")
    control = ControlPlane(Plan.of(program, 64).tables, program)
    rng = random.Random(7)
    for priority in range(20):
        src = ir.Lpm(rng.getrandbits(32), rng.choice([0, 8, 16, 24, 32]))
        dst = ir.Ternary(rng.getrandbits(32), rng.getrandbits(32) & rng.getrandbits(32))
        entry = (src, dst, ir.Exact(rng.choice([6, 17])), ir.Range(0, 65535),
                 ir.Range(0, 65535))
        control.add_entry("acl", ir.Entry(entry, ir.ActionCall("permit"), priority))
    state = control.tables["acl"]
    desc = state.desc
    for _ in range(300):
        e = rng.choice(state.tcam)
        key = (e.value | rng.getrandbits(desc.ternary_width) & ~e.mask) if rng.random() < 0.5 \
            else rng.getrandbits(desc.ternary_width)
        for slot, entry in enumerate(state.tcam):
            group, j = divmod(slot, GROUP_SLOTS)
            accepted = all(
                state.image.get(COLUMN_BASE + (group << CHUNK_BITS)
                                + (key >> c * CHUNK_BITS & 15), 0) >> (c * GROUP_SLOTS + j) & 1
                for c in range(desc.chunks))
            assert accepted == ((key ^ entry.value) & entry.mask == 0)


def _exact_table(size: int) -> ir.Program:
    source = f"""
    import std;
    headers {{ ethernet: ethernet; }}
    parser {{ start {{ extract ethernet; next accept; }} }}
    action to(port: bit<9>) {{ forward(port); }}
    table t {{ key {{ ethernet.dst: exact; }} actions {{ to; }} default drop; size {size}; }}
    control ingress {{ t.apply(); }}
    """
    return compile_source(source, "tiny.wire")


def test_hash_table_fills_to_its_size_with_cuckoo_moves() -> None:
    program = _exact_table(1024)
    control = ControlPlane(Plan.of(program, 64).tables, program)
    rng = random.Random(5)
    for mac in rng.sample(range(1 << 48), 1024):
        control.add_entry("t", ir.Entry((ir.Exact(mac),), ir.ActionCall("to", (1,))))
    state = control.tables["t"]
    assert len(state.image) == 1024
    for key, slot in state.keys.items():  # every key sits in one of its own ways
        assert slot in control._slots_of(state.desc, key)
    with pytest.raises(ControlPlaneError, match=r"table 't' is full"):
        control.add_entry("t", ir.Entry((ir.Exact(1),), ir.ActionCall("to", (1,))))


def test_unsupported_feature_is_a_user_error(tmp_path: Path, capsys) -> None:
    source = tmp_path / "metered.wire"
    source.write_text("""
    import std;
    headers { ethernet: ethernet; }
    metadata { color: bit<2>; }
    meter<packets>[4] limit;
    parser { start { extract ethernet; next accept; } }
    control ingress {
      meta.color = limit.execute(0);
      meta.color = limit.execute(1);
      forward(1);
    }
    """)
    code = main(["compile", str(source), "--target", "fpga", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0
    assert "meter 'limit' is executed more than once" in err
    assert "Traceback" not in err


def test_more_registers_than_control_units_is_a_user_error(tmp_path: Path, capsys) -> None:
    # Units 0x80..0xBF are the registers'; the 65th would take the first meter's unit.
    source = tmp_path / "registers.wire"
    cells = "".join(f"    register<bit<8>>[2] r{k};\n" for k in range(65))
    source.write_text(f"""
    import std;
    headers {{ ethernet: ethernet; }}
{cells}
    parser {{ start {{ extract ethernet; next accept; }} }}
    control ingress {{ forward(1); }}
    """)
    code = main(["compile", str(source), "--target", "fpga", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0
    assert "room for 64 registers, the program has 65" in err
    assert "registers.wire:68:5: error:" in err and "r64;" in err  # the 65th declared
    assert "Traceback" not in err


def test_meters_and_packet_length_in_the_map_and_control_writes(tmp_path: Path,
                                                                capsys) -> None:
    source = tmp_path / "metered.wire"
    source.write_text("""
    import std;
    headers { ethernet: ethernet; }
    metadata { color: bit<2>; }
    meter<bytes>[4] limit;
    parser { start { extract ethernet; next accept; } }
    control ingress { meta.color = limit.execute(0); forward(1); }
    """)
    stf = tmp_path / "metered.stf"
    stf.write_text("meter limit[2] cir:1000 cburst:1500 pir:2000 pburst:3000\n")
    out = tmp_path / "out"
    code = main(["compile", str(source), "--target", "fpga", "-o", str(out),
                 "--entries", str(stf)])
    assert code == 0, capsys.readouterr().err
    description = json.loads((out / "metered.json").read_text())
    assert description["store_and_forward"] is True  # a byte meter needs the whole length
    assert description["meters"][0]["unit"] == METER_UNIT
    clock = description["clock_hz"]
    writes = [tuple(int(w, 16) for w in line.split())
              for line in (out / "metered.ctl").read_text().splitlines()]
    staged = sum(d << (32 * (a & 0xFFFFF)) for a, d in writes[:-1])
    assert staged == pack_config(1000, 1500 * clock, 2000, 3000 * clock)
    assert writes[-1] == (control_address(METER_UNIT, REGION_METER, 2), 0)
