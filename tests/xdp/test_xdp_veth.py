"""The deployment path: ``wirespeed xdp attach`` on veth devices in network namespaces made
for the test, scapy frames sent through, what comes out captured, ``xdp entries`` on the
running program, ``xdp detach``.

    ns A: a0 ──veth── d0 [acl.wire, port 0]   ns DUT
    ns C: c0 ──veth── d1 [acl.wire, port 1]   (c0 runs to_host.wire: a veth takes redirected
                                               frames only while its peer runs XDP)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.reference import ReferenceExecutor
from wirespeed.sim.stf import load_stf
from xdp_helpers import REASON

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=f"XDP target: {REASON}"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 (ip) is not installed"),
]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def namespaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:6]
    ns = {"a": f"wsx-{tag}-a", "dut": f"wsx-{tag}-dut", "c": f"wsx-{tag}-c"}
    env = {"WIRESPEED_STATE_DIR": str(tmp_path / "state"),
           "WIRESPEED_PIN_ROOT": f"/sys/fs/bpf/wirespeed-test-{tag}"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    try:
        for name in ns.values():
            ip("netns", "add", name)
        ip("link", "add", "a0", "netns", ns["a"], "type", "veth", "peer", "name", "d0",
           "netns", ns["dut"])
        ip("link", "add", "c0", "netns", ns["c"], "type", "veth", "peer", "name", "d1",
           "netns", ns["dut"])
        for name, devs in ((ns["a"], ["a0"]), (ns["dut"], ["d0", "d1"]), (ns["c"], ["c0"])):
            for dev in devs:
                # no IPv6 autoconfiguration chatter in the captures
                subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw",
                                f"net.ipv6.conf.{dev}.disable_ipv6=1"], check=False)
                ip("-n", name, "link", "set", dev, "up")
        yield ns
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
        shutil.rmtree(env["WIRESPEED_PIN_ROOT"], ignore_errors=True)


def wirespeed(*args: str) -> str:
    result = subprocess.run([str(Path(sys.executable).parent / "wirespeed"), *args],
                            capture_output=True, text=True, env=os.environ.copy(), check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def send_and_capture(ns: dict[str, str], frames: list[bytes]) -> list[bytes]:
    """Send ``frames`` into a0 and return what came out of c0 (until 1 s after the last)."""
    io = str(HERE / "veth_io.py")
    capture = subprocess.Popen(["ip", "netns", "exec", ns["c"], sys.executable, io, "capture",
                                "c0", "60"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert capture.stdout is not None and capture.stdin is not None
    assert capture.stdout.readline().strip() == "ready"
    subprocess.run(["ip", "netns", "exec", ns["a"], sys.executable, io, "send", "a0",
                    *(f.hex() for f in frames)], check=True)
    time.sleep(1.0)
    out, _ = capture.communicate("stop\n", timeout=60)
    return [bytes.fromhex(line) for line in out.split()]


def admin_ssh(src: str) -> bytes:
    return bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") /
                 IP(src=src, dst="192.168.10.20") / TCP(sport=51000, dport=22))


def test_attach_forward_update_and_detach_on_veth(namespaces: dict[str, str],
                                                   tmp_path: Path) -> None:
    acl = ROOT / "examples" / "acl.wire"
    stf = ROOT / "examples" / "acl.stf"
    out = wirespeed("xdp", "attach", str(acl), "--dev", "d0", "--dev", "d1",
                    "--entries", str(stf), "--netns", namespaces["dut"])
    assert "attached acl to d0, d1" in out
    wirespeed("xdp", "attach", str(HERE / "to_host.wire"), "--dev", "c0",
              "--netns", namespaces["c"])
    link = subprocess.run(["ip", "-n", namespaces["dut"], "link", "show", "d0"],
                          capture_output=True, text=True, check=True).stdout
    assert "prog/xdp" in link

    permitted = admin_ssh("10.20.5.5")  # the administrators' network may use SSH
    denied = admin_ssh("198.51.100.7")  # anybody else may not
    # what must come out of port 1, according to the reference model
    program = load_program(acl)
    with ReferenceExecutor(program) as ref:
        ref.run_script(load_stf(program, stf).table_ops)
        expected = ref.send(0, permitted)
        assert [o.port for o in expected] == [1] and ref.send(0, denied) == []

    got = send_and_capture(namespaces, [denied, permitted, denied])
    assert got == [expected[0].data]

    # a rule for the denied source, written into the running program's maps
    rule = tmp_path / "more.stf"
    rule.write_text("add acl 1 ipv4.src:198.51.100.0/24 ipv4.dst:0&&&0 ipv4.protocol:6 "
                    "meta.l4_src:0..65535 meta.l4_dst:22..22 permit()\n")
    assert "1 entries added" in wirespeed("xdp", "entries", str(acl), "--entries", str(rule))
    got = send_and_capture(namespaces, [denied])
    assert len(got) == 1 and Ether(got[0])[IP].src == "198.51.100.7"

    wirespeed("xdp", "detach", str(acl))
    wirespeed("xdp", "detach", str(HERE / "to_host.wire"))
    link = subprocess.run(["ip", "-n", namespaces["dut"], "link", "show", "d0"],
                          capture_output=True, text=True, check=True).stdout
    assert "prog/xdp" not in link
    assert send_and_capture(namespaces, [permitted]) == []  # nothing forwards any more
