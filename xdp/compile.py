"""``wirespeed compile FILE --target xdp -o DIR``: the ``.c``, the ``.o`` and ``.maps.json``.

The JSON describes every map the object holds (name, kind, key and value sizes and layouts,
action ids) so that a control plane other than ours can fill them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from wirespeed.compiler import ir
from wirespeed.xdp.build import BuildError, build_object, function_name, render
from wirespeed.xdp.codegen import CodegenError, generate
from wirespeed.xdp.tables import TablePlan, c_ident


def _struct_json(st) -> dict:
    return {"size": st.size, "members": [
        {"name": m.name, "offset": m.offset, "size": m.size,
         "encoding": "bytes, big-endian" if m.array else "little-endian integer"}
        for m in st.members]}


def _table_json(plan: TablePlan) -> dict:
    n = plan.c_name
    maps = ({"rules": f"{n}_rules"} if plan.kind == "scan" else {"entries": f"{n}_entries"})
    maps["default"] = f"{n}_default"
    if plan.kind == "tss":
        maps["masks"] = f"{n}_masks"
    if plan.table.counters:
        maps["counters"] = f"{n}_counters"
    desc = {
        "table": plan.name, "layout": plan.kind, "maps": maps,
        "keys": [{"name": k.name, "kind": k.kind.value, "width": k.width}
                 for k in plan.table.keys],
        "key": _struct_json(plan.key),
        "value": {"size": plan.value_size, "head": _struct_json(plan.value)["members"],
                  "actions": {name: {"id": a.id, "args": _struct_json(a.args)["members"]}
                              for name, a in plan.actions.items()}},
        "max_entries": plan.entries_max, "size": plan.table.size,
        "counter_slots": plan.counter_slots if plan.table.counters else 0,
    }
    if plan.kind == "scan":
        assert plan.rule is not None
        desc["rule"] = _struct_json(plan.rule) | {"value_offset": plan.rule_value_offset}
        desc["rules"] = {"size": plan.rules_size, "count_offset": 0,
                         "array_offset": plan.rules_offset, "max_rules": plan.max_rules,
                         "order": "rank: priority << 32 | insertion order, lowest first"}
    if plan.kind == "tss":
        assert plan.tss_key is not None and plan.mask_elem is not None
        desc["tuple_key"] = _struct_json(plan.tss_key)
        desc["mask"] = _struct_json(plan.mask_elem)
        desc["max_masks"] = plan.max_masks
        desc["mask_list"] = {"size": plan.mask_list_size, "count_offset": 0,
                             "array_offset": plan.mask_array_offset}
    return desc


def maps_description(program: ir.Program, plans: list[TablePlan]) -> dict:
    return {
        "program": program.name,
        "function": function_name(program),
        "ports": {"ports_in": "ifindex -> port number (array, 1024)",
                  "ports_out": "port number -> ifindex (devmap, 512)",
                  "egress_slot": "per-CPU: egress port of the last packet"},
        "tables": [_table_json(p) for p in plans],
        "registers": [{"name": r.name, "map": f"reg_{c_ident(r.name)}", "width": r.width,
                       "size": r.size} for r in program.registers],
        "meters": [{"name": m.name, "map": f"meter_{c_ident(m.name)}", "unit": m.unit.value,
                    "size": m.size} for m in program.meters],
    }


def compile_program(program: ir.Program, outdir: Path, entries: list | None = None) -> list[Path]:
    """Write ``NAME.c``, build ``NAME.o`` with clang and write ``NAME.maps.json``.

    ``entries`` (STF table entries) are not baked into the object: the maps are filled at
    load time (``wirespeed xdp attach --entries``)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = c_ident(program.name)
    c_file = outdir / f"{stem}.c"
    o_file = outdir / f"{stem}.o"
    j_file = outdir / f"{stem}.maps.json"
    try:
        generated = generate(program)
        c_file.write_text(render(program, generated))
        build_object(c_file, o_file)
    except (CodegenError, BuildError) as e:
        # the CLI prints a ClickException as `error: ...` with a non-zero exit
        raise click.ClickException(f"xdp: {e}") from None
    j_file.write_text(json.dumps(maps_description(program, generated.tables), indent=2) + "\n")
    return [c_file, o_file, j_file]
