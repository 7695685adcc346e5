"""Finding the real P4 tools: ``p4c-bm2-ss``, bmv2's ``simple_switch`` and p4c's STF runner.

Each is looked up on PATH unless an environment variable names it (``P4C_BM2_SS``,
``SIMPLE_SWITCH``, ``BMV2STF``: the path of p4c's ``backends/bmv2/bmv2stf.py``). None of them
installs from PyPI or apt on the project's machines, so callers skip with ``missing()``'s
reason when one is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

TOOLS = {"p4c-bm2-ss": "P4C_BM2_SS", "simple_switch": "SIMPLE_SWITCH",
         "simple_switch_CLI": "SIMPLE_SWITCH_CLI"}


def find(tool: str) -> str | None:
    """The path of ``tool``, from its environment variable or PATH."""
    override = os.environ.get(TOOLS[tool])
    if override:
        return override if Path(override).is_file() else None
    return shutil.which(tool)


def find_stf_runner() -> str | None:
    """p4c's ``bmv2stf.py``: from ``BMV2STF``, else next to an installed p4c."""
    override = os.environ.get("BMV2STF")
    if override:
        return override if Path(override).is_file() else None
    p4c = find("p4c-bm2-ss")
    if p4c is None:
        return None
    for base in (Path(p4c).resolve().parent.parent, Path("/usr/local/share/p4c"),
                 Path("/usr/share/p4c")):
        for candidate in base.glob("**/bmv2stf.py"):
            return str(candidate)
    return None


def missing(*tools: str) -> str | None:
    """Why the tools cannot run here (the first one missing), or None."""
    for tool in tools:
        if tool == "bmv2stf.py":
            if find_stf_runner() is None:
                return ("p4c's STF runner bmv2stf.py was not found (set BMV2STF to "
                        "p4c/backends/bmv2/bmv2stf.py)")
        elif find(tool) is None:
            return (f"{tool} is not on PATH (set {TOOLS[tool]}); p4c and bmv2 install from "
                    "neither PyPI nor apt on these machines")
    return None


def compile_p4(p4_file: Path, json_file: Path) -> subprocess.CompletedProcess[str]:
    """``p4c-bm2-ss --std p4-16 FILE.p4 -o FILE.json``."""
    compiler = find("p4c-bm2-ss")
    assert compiler is not None, missing("p4c-bm2-ss")
    return subprocess.run([compiler, "--std", "p4-16", str(p4_file), "-o", str(json_file)],
                          capture_output=True, text=True, timeout=300)
