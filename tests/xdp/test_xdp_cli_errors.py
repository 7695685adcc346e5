"""``wirespeed xdp`` mistakes give ``error: ...`` and exit 1, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACL = str(ROOT / "examples" / "acl.wire")


def run(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "wirespeed"), "xdp", *args],
                          capture_output=True, text=True, check=False,
                          env={"WIRESPEED_STATE_DIR": str(state), "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize(("args", "message"), [
    (("detach", ACL), r"^error: program 'acl' is not attached \(no .*acl\.json\)$"),
    (("entries", ACL, "--entries", "nowhere.stf"), r"^error: program 'acl' is not attached"),
    (("attach", ACL, "--dev", "no-such-dev0"), r"^error: no network device 'no-such-dev0'$"),
    (("attach", ACL, "--dev", "lo", "--port", "x=lo"),
     r"^error: --port 'x=lo': write PORT=IFACE, for example 1=eth1$"),
    (("attach", ACL, "--dev", "lo", "--entries", "nowhere.stf"),
     r"^error: nowhere.stf: No such file or directory$"),
    (("attach", "nowhere.wire", "--dev", "lo"), r"^error: nowhere.wire: no such file$"),
])
def test_mistakes_are_reported(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    result = run(*args, state=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert re.match(message, result.stderr.strip()), result.stderr
