"""The system libbpf (``libbpf.so.1``) through ctypes: open and load an object, find maps and
the program, update and read maps, ``BPF_PROG_TEST_RUN``, attach to a device.

One process-wide handle; every call that fails raises ``BpfError`` with the kernel's reason.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

BPF_ANY = 0
XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2

XDP_VERDICTS = {0: "XDP_ABORTED", 1: "XDP_DROP", 2: "XDP_PASS", 3: "XDP_TX", 4: "XDP_REDIRECT"}
XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = range(5)
BPFFS = Path("/sys/fs/bpf")


class BpfError(Exception):
    """A libbpf call failed; the message says which and why."""


class _TestRunOpts(ctypes.Structure):
    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("data_in", ctypes.c_void_p),
        ("data_out", ctypes.c_void_p),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("ctx_in", ctypes.c_void_p),
        ("ctx_out", ctypes.c_void_p),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("repeat", ctypes.c_int),
        ("duration", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
    ]


class _XdpMd(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in (
        "data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index",
        "egress_ifindex")]


# struct bpf_prog_info up to verified_insns (linux/bpf.h); the kernel fills what it knows.
class _ProgInfo(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_uint32), ("id", ctypes.c_uint32), ("tag", ctypes.c_uint8 * 8),
        ("jited_prog_len", ctypes.c_uint32), ("xlated_prog_len", ctypes.c_uint32),
        ("jited_prog_insns", ctypes.c_uint64), ("xlated_prog_insns", ctypes.c_uint64),
        ("load_time", ctypes.c_uint64), ("created_by_uid", ctypes.c_uint32),
        ("nr_map_ids", ctypes.c_uint32), ("map_ids", ctypes.c_uint64),
        ("name", ctypes.c_char * 16), ("ifindex", ctypes.c_uint32),
        ("gpl_compatible", ctypes.c_uint32), ("netns_dev", ctypes.c_uint64),
        ("netns_ino", ctypes.c_uint64), ("nr_jited_ksyms", ctypes.c_uint32),
        ("nr_jited_func_lens", ctypes.c_uint32), ("jited_ksyms", ctypes.c_uint64),
        ("jited_func_lens", ctypes.c_uint64), ("btf_id", ctypes.c_uint32),
        ("func_info_rec_size", ctypes.c_uint32), ("func_info", ctypes.c_uint64),
        ("nr_func_info", ctypes.c_uint32), ("nr_line_info", ctypes.c_uint32),
        ("line_info", ctypes.c_uint64), ("jited_line_info", ctypes.c_uint64),
        ("nr_jited_line_info", ctypes.c_uint32), ("line_info_rec_size", ctypes.c_uint32),
        ("jited_line_info_rec_size", ctypes.c_uint32), ("nr_prog_tags", ctypes.c_uint32),
        ("prog_tags", ctypes.c_uint64), ("run_time_ns", ctypes.c_uint64),
        ("run_cnt", ctypes.c_uint64), ("recursion_misses", ctypes.c_uint64),
        ("verified_insns", ctypes.c_uint32), ("attach_btf_obj_id", ctypes.c_uint32),
        ("attach_btf_id", ctypes.c_uint32), ("_pad", ctypes.c_uint32),
    ]


class _OpenOpts(ctypes.Structure):
    # struct bpf_object_open_opts (libbpf 1.1), enough to hand over a verifier log buffer
    _fields_ = [
        ("sz", ctypes.c_size_t), ("object_name", ctypes.c_char_p),
        ("relaxed_maps", ctypes.c_bool), ("pin_root_path", ctypes.c_char_p),
        ("_unused", ctypes.c_uint32), ("kconfig", ctypes.c_char_p),
        ("btf_custom_path", ctypes.c_char_p), ("kernel_log_buf", ctypes.c_char_p),
        ("kernel_log_size", ctypes.c_size_t), ("kernel_log_level", ctypes.c_uint32),
    ]


@functools.cache
def lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("bpf") or "libbpf.so.1"
    try:
        so = ctypes.CDLL(name, use_errno=True)
    except OSError as e:
        raise BpfError(f"cannot load libbpf ({name}): {e} (install libbpf1)") from None
    vp, c_int, c_u32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32
    sigs = {
        "bpf_object__open_file": ([ctypes.c_char_p, vp], vp),
        "bpf_object__load": ([vp], c_int),
        "bpf_object__close": ([vp], None),
        "bpf_object__find_program_by_name": ([vp, ctypes.c_char_p], vp),
        "bpf_object__find_map_fd_by_name": ([vp, ctypes.c_char_p], c_int),
        "bpf_program__fd": ([vp], c_int),
        "bpf_program__pin": ([vp, ctypes.c_char_p], c_int),
        "bpf_object__pin_maps": ([vp, ctypes.c_char_p], c_int),
        "bpf_map_update_elem": ([c_int, vp, vp, ctypes.c_uint64], c_int),
        "bpf_map_lookup_elem": ([c_int, vp, vp], c_int),
        "bpf_map_delete_elem": ([c_int, vp], c_int),
        "bpf_prog_test_run_opts": ([c_int, ctypes.POINTER(_TestRunOpts)], c_int),
        "bpf_obj_get_info_by_fd": ([c_int, vp, ctypes.POINTER(c_u32)], c_int),
        "bpf_obj_get": ([ctypes.c_char_p], c_int),
        "bpf_map_get_fd_by_id": ([c_u32], c_int),
        "bpf_prog_get_fd_by_id": ([c_u32], c_int),
        "bpf_xdp_attach": ([c_int, c_int, c_u32, vp], c_int),
        "bpf_xdp_detach": ([c_int, c_u32, vp], c_int),
        "libbpf_set_print": ([vp], vp),
    }
    for fn, (args, res) in sigs.items():
        f = getattr(so, fn)
        f.argtypes = args
        f.restype = res
    return so


def _err(what: str, rc: int | None = None) -> BpfError:
    code = ctypes.get_errno() or (-rc if rc and rc < 0 else 0)
    return BpfError(f"{what}: {os.strerror(code) if code else 'failed'}")


def ensure_bpffs() -> None:
    """Mount the BPF filesystem on /sys/fs/bpf if nothing is mounted there."""
    if os.path.ismount(BPFFS):
        return
    subprocess.run(["mount", "-t", "bpf", "bpf", str(BPFFS)], check=True,
                   capture_output=True)


@dataclass(frozen=True)
class TestRun:
    verdict: int
    data: bytes
    duration_ns: int


@dataclass(frozen=True)
class ProgInfo:
    id: int
    verified_insns: int
    xlated_bytes: int
    jited_bytes: int
    map_ids: tuple[int, ...]

    @property
    def xlated_insns(self) -> int:
        return self.xlated_bytes // 8


class BpfObject:
    """A BPF object file opened and loaded into the kernel (verifier included)."""

    def __init__(self, path: Path, program: str) -> None:
        so = lib()
        ctypes.set_errno(0)
        self._log = ctypes.create_string_buffer(1 << 22)
        opts = _OpenOpts(sz=ctypes.sizeof(_OpenOpts), kernel_log_buf=ctypes.cast(
            self._log, ctypes.c_char_p), kernel_log_size=len(self._log), kernel_log_level=0)
        self._obj = so.bpf_object__open_file(str(path).encode(), ctypes.byref(opts))
        if not self._obj:
            raise _err(f"cannot open {path}")
        rc = so.bpf_object__load(self._obj)
        if rc:
            log = self._log.value.decode(errors="replace").strip().splitlines()
            so.bpf_object__close(self._obj)
            self._obj = None
            tail = "\n".join(log[-12:])
            raise BpfError(f"the kernel refused {path.name}: {os.strerror(-rc)}\n{tail}")
        self._prog = so.bpf_object__find_program_by_name(self._obj, program.encode())
        if not self._prog:
            self.close()
            raise BpfError(f"{path.name} has no program {program!r}")
        self.prog_fd = so.bpf_program__fd(self._prog)
        self._maps: dict[str, int] = {}

    def program_fd(self, name: str) -> int:
        prog = lib().bpf_object__find_program_by_name(self._obj, name.encode())
        if not prog:
            raise BpfError(f"the object has no program {name!r}")
        return lib().bpf_program__fd(prog)

    def map_fd(self, name: str) -> int:
        if name not in self._maps:
            fd = lib().bpf_object__find_map_fd_by_name(self._obj, name.encode())
            if fd < 0:
                raise BpfError(f"the object has no map {name!r}")
            self._maps[name] = fd
        return self._maps[name]

    def pin(self, directory: Path) -> None:
        ensure_bpffs()
        directory.mkdir(parents=True, exist_ok=True)
        so = lib()
        if so.bpf_object__pin_maps(self._obj, str(directory).encode()):
            raise _err(f"cannot pin maps under {directory}")
        if so.bpf_program__pin(self._prog, str(directory / "program").encode()):
            raise _err(f"cannot pin the program under {directory}")

    def close(self) -> None:
        if self._obj:
            lib().bpf_object__close(self._obj)
            self._obj = None

    def __del__(self) -> None:
        self.close()


def map_update(fd: int, key: bytes, value: bytes) -> None:
    rc = lib().bpf_map_update_elem(fd, key, value, BPF_ANY)
    if rc:
        code = ctypes.get_errno()
        if code == errno.E2BIG or code == errno.ENOMEM:
            raise BpfError("the map is full")
        raise _err("map update failed", rc)


def map_lookup(fd: int, key: bytes, value_size: int) -> bytes | None:
    buf = ctypes.create_string_buffer(value_size)
    if lib().bpf_map_lookup_elem(fd, key, buf):
        return None
    return buf.raw


def map_delete(fd: int, key: bytes) -> bool:
    return lib().bpf_map_delete_elem(fd, key) == 0


def test_run(prog_fd: int, data: bytes, *, repeat: int = 1, ingress_ifindex: int = 0) -> TestRun:
    out = ctypes.create_string_buffer(len(data) + 512)
    ctx = _XdpMd(data=0, data_end=len(data), ingress_ifindex=ingress_ifindex)
    opts = _TestRunOpts(
        sz=ctypes.sizeof(_TestRunOpts), data_in=ctypes.cast(ctypes.c_char_p(data),
                                                            ctypes.c_void_p),
        data_out=ctypes.cast(out, ctypes.c_void_p), data_size_in=len(data),
        data_size_out=len(out), repeat=repeat)
    if ingress_ifindex:
        opts.ctx_in = ctypes.cast(ctypes.pointer(ctx), ctypes.c_void_p)
        opts.ctx_size_in = ctypes.sizeof(ctx)
    rc = lib().bpf_prog_test_run_opts(prog_fd, ctypes.byref(opts))
    if rc:
        raise _err("BPF_PROG_TEST_RUN failed", rc)
    return TestRun(opts.retval, out.raw[:opts.data_size_out], opts.duration)


def prog_info(prog_fd: int) -> ProgInfo:
    info = _ProgInfo()
    map_ids = (ctypes.c_uint32 * 64)()
    info.nr_map_ids = 64
    info.map_ids = ctypes.addressof(map_ids)
    size = ctypes.c_uint32(ctypes.sizeof(info))
    if lib().bpf_obj_get_info_by_fd(prog_fd, ctypes.byref(info), ctypes.byref(size)):
        raise _err("cannot read the program's info")
    return ProgInfo(info.id, info.verified_insns, info.xlated_prog_len, info.jited_prog_len,
                    tuple(map_ids[i] for i in range(min(info.nr_map_ids, 64))))


def obj_get(path: Path) -> int:
    fd = lib().bpf_obj_get(str(path).encode())
    if fd < 0:
        raise _err(f"cannot open pinned {path}")
    return fd


def xdp_attach(ifindex: int, prog_fd: int, flags: int = 0) -> None:
    rc = lib().bpf_xdp_attach(ifindex, prog_fd, flags, None)
    if rc:
        raise BpfError(f"cannot attach to ifindex {ifindex}: {os.strerror(-rc)}")


def xdp_detach(ifindex: int, flags: int = 0) -> None:
    rc = lib().bpf_xdp_detach(ifindex, flags, None)
    if rc:
        raise BpfError(f"cannot detach from ifindex {ifindex}: {os.strerror(-rc)}")
