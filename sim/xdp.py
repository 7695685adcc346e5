"""The XDP target: the generated program in the running kernel, packets through
``BPF_PROG_TEST_RUN``.

The object under test is the one ``wirespeed compile --target xdp`` builds and
``wirespeed xdp attach`` puts on a NIC: same C, same clang flags, same verifier. Table entries
go into its maps through ``xdp.control`` (the deployment control plane). Ports: every port
forwards to ``lo`` (ifindex 1) in the devmap, and before each packet ``lo`` is mapped to the
packet's ingress port, so ``std.ingress_port`` and ``XDP_TX`` behave as on a real multi-port
host. The egress port is read back from the program's per-CPU ``egress_slot``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from wirespeed.compiler import ir
from wirespeed.sim.executor import CounterValue, Executor, ExecutorError, Output
from wirespeed.xdp import libbpf
from wirespeed.xdp.build import BuildError, build_object, clang_problem, function_name, render
from wirespeed.xdp.codegen import CodegenError
from wirespeed.xdp.control import ControlError, ControlPlane, possible_cpus

LOOPBACK_IFINDEX = 1
# BPF_PROG_TEST_RUN wants at least an Ethernet header; longer frames than a page go in
# fragments (the program is built for xdp.frags).
MIN_TEST_BYTES = 14
MAX_TEST_BYTES = 65000
UNSET = 0xFFFFFFFF_FFFFFFFF


def cache_dir() -> Path:
    base = os.environ.get("WIRESPEED_CACHE") or os.path.join(tempfile.gettempdir(),
                                                            "wirespeed-xdp-cache")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_cached(program: ir.Program) -> Path:
    """Render and build ``program``; identical C is built once per machine."""
    source = render(program)
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    obj = cache_dir() / f"{digest}.o"
    if not obj.exists():
        c_file = cache_dir() / f"{digest}.{os.getpid()}.c"
        c_file.write_text(source)
        tmp = cache_dir() / f"{digest}.{os.getpid()}.o"
        build_object(c_file, tmp)
        tmp.replace(obj)
    return obj


class XdpExecutor(Executor):
    target = "xdp"

    def __init__(self, program: ir.Program) -> None:
        super().__init__(program)
        self._bpf: libbpf.BpfObject | None = None
        try:
            self.object_path = build_cached(program)
            self._bpf = libbpf.BpfObject(self.object_path, function_name(program))
            self.control = ControlPlane(program, self._bpf.map_fd)
            self.control.install_program_state()
            for port in range(ir.HOST_PORT):
                self.control.set_egress_device(port, LOOPBACK_IFINDEX)
        except (CodegenError, BuildError, libbpf.BpfError, ControlError) as e:
            self.close()
            raise ExecutorError(str(e)) from None
        self._ingress_port: int | None = None
        self._slot_fd = self._bpf.map_fd("egress_slot")
        self._ncpu = possible_cpus()
        # per-CPU map values are 8 bytes apart per CPU, whatever their size
        self._unset = UNSET.to_bytes(8, "little") * self._ncpu

    @staticmethod
    def unavailable_reason() -> str | None:
        if os.geteuid() != 0:
            return "loading BPF programs needs root"
        problem = clang_problem()
        if problem:
            return problem
        try:
            libbpf.lib()
        except libbpf.BpfError as e:
            return str(e)
        if not Path("/sys/fs/bpf").exists():
            return "the kernel has no BPF filesystem"
        return None

    @property
    def prog_fd(self) -> int:
        assert self._bpf is not None
        return self._bpf.prog_fd

    def add_entry(self, table: str, entry: ir.Entry) -> int:
        try:
            return self.control.add_entry(table, entry)
        except (ControlError, libbpf.BpfError) as e:
            raise ExecutorError(str(e)) from None

    def set_default(self, table: str, call: ir.ActionCall) -> None:
        try:
            self.control.set_default(table, call)
        except (ControlError, libbpf.BpfError) as e:
            raise ExecutorError(str(e)) from None

    def send(self, port: int, data: bytes) -> list[Output]:
        if len(data) < MIN_TEST_BYTES:
            # Linux drops a frame shorter than an Ethernet header before any XDP program
            # sees it (and the test run refuses one): on this target it is simply dropped.
            return []
        if len(data) > MAX_TEST_BYTES:
            raise ExecutorError(
                f"the kernel's test run takes packets of at most {MAX_TEST_BYTES} bytes in "
                f"one buffer; this one has {len(data)}")
        try:
            if port != self._ingress_port:
                self.control.set_ingress_port(LOOPBACK_IFINDEX, port)
                self._ingress_port = port
            libbpf.map_update(self._slot_fd, b"\0\0\0\0", self._unset)
            run = libbpf.test_run(self.prog_fd, data, ingress_ifindex=LOOPBACK_IFINDEX)
            slots = libbpf.map_lookup(self._slot_fd, b"\0\0\0\0", 8 * self._ncpu)
        except (ControlError, libbpf.BpfError) as e:
            raise ExecutorError(str(e)) from None
        assert slots is not None
        written = [int.from_bytes(slots[8 * i:8 * i + 4], "little") for i in range(self._ncpu)]
        egress = [v for v in written if v != UNSET & 0xFFFFFFFF]
        match run.verdict:
            case libbpf.XDP_DROP:
                return []
            case libbpf.XDP_PASS:
                return [Output(ir.HOST_PORT, run.data)]
            case libbpf.XDP_TX:
                return [Output(port & ((1 << ir.PORT_WIDTH) - 1), run.data)]
            case libbpf.XDP_REDIRECT:
                if len(egress) != 1:
                    raise ExecutorError("the program redirected without recording its port")
                return [Output(egress[0], run.data)]
            case libbpf.XDP_ABORTED:
                raise ExecutorError("the XDP program aborted (XDP_ABORTED) on this packet")
            case other:
                raise ExecutorError(f"the XDP program returned {other}")

    def read_counter(self, table: str, handle: int | None) -> CounterValue:
        try:
            packets, nbytes = self.control.read_counter(table, handle)
        except (ControlError, libbpf.BpfError) as e:
            raise ExecutorError(str(e)) from None
        return CounterValue(packets, nbytes)

    def read_register(self, register: str, index: int) -> int:
        try:
            return self.control.read_register(register, index)
        except (ControlError, libbpf.BpfError) as e:
            raise ExecutorError(str(e)) from None

    def set_meter(self, meter: str, index: int, cir: int, cburst: int, pir: int,
                  pburst: int) -> None:
        try:
            self.control.set_meter(meter, index, cir, cburst, pir, pburst)
        except (ControlError, libbpf.BpfError) as e:
            raise ExecutorError(str(e)) from None

    def close(self) -> None:
        if self._bpf is not None:
            self._bpf.close()
            self._bpf = None
