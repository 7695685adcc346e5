"""Every example compiles with clang to one eBPF object that the kernel verifier accepts, and
the maps JSON describes maps the object really has."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from wirespeed.compiler.frontend import load_program
from wirespeed.xdp import libbpf
from wirespeed.xdp.build import function_name
from wirespeed.xdp.compile import compile_program
from xdp_helpers import needs_kernel

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.wire"))


@needs_kernel
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_builds_and_passes_the_verifier(name: str, tmp_path: Path) -> None:
    program = load_program(ROOT / "examples" / f"{name}.wire")
    written = compile_program(program, tmp_path)
    assert sorted(p.suffix for p in written) == [".c", ".json", ".o"]
    c_source = (tmp_path / f"{name}.c").read_text()
    assert f"int {function_name(program)}(struct xdp_md *ctx)" in c_source
    description = json.loads((tmp_path / f"{name}.maps.json").read_text())
    obj = libbpf.BpfObject(tmp_path / f"{name}.o", function_name(program))
    try:
        info = libbpf.prog_info(obj.prog_fd)
        assert info.verified_insns > 0 and info.xlated_insns > 0
        for table in description["tables"]:
            for map_name in table["maps"].values():
                obj.map_fd(map_name)  # raises if the object lacks it
        for reg in description["registers"]:
            obj.map_fd(reg["map"])
    finally:
        obj.close()


def test_compile_command_writes_the_three_files(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed.compiler.cli", "compile",
         str(ROOT / "examples" / "vxlan_decap.wire"), "--target", "xdp", "-o", str(tmp_path)],
        capture_output=True, text=True, check=False)
    if result.returncode and "clang" in result.stderr:
        pytest.skip(f"no clang here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {
        "vxlan_decap.c", "vxlan_decap.o", "vxlan_decap.maps.json"}
