"""``wirespeed xdp attach|entries|detach``: the XDP program on real interfaces.

``attach`` builds the program, loads it (the kernel verifies it), pins its maps under
``/sys/fs/bpf/wirespeed/NAME``, writes the port map, the program's constant entries and any
``--entries`` STF, and attaches it to every ``--dev``. ``entries`` adds table entries to the
running program through the pinned maps. ``detach`` takes it off the devices and unpins it.

Ports: ``--port N=IFACE`` says that port ``N`` of the program is ``IFACE`` (forwarding to ``N``
leaves by ``IFACE``; packets arriving on it have ``std.ingress_port == N``); a ``--dev`` with no
``--port`` gets the number of its position among the ``--dev`` options. ``--netns NAME``
works inside a network namespace made with ``ip netns add``.

What was installed is remembered in ``/run/wirespeed/NAME.json`` so that later ``entries``
calls keep entry numbers, priorities and the scan and tuple-space lists consistent.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
from pathlib import Path

import click
from wirespeed.compiler import ir
from wirespeed.sim.executor import AddEntry, ExecutorError, SetDefault
from wirespeed.xdp import libbpf
from wirespeed.xdp.build import BuildError, function_name
from wirespeed.xdp.codegen import CodegenError
from wirespeed.xdp.control import ControlError, ControlPlane
from wirespeed.xdp.tables import c_ident

PIN_ROOT = Path(os.environ.get("WIRESPEED_PIN_ROOT", "/sys/fs/bpf/wirespeed"))
STATE_DIR = Path(os.environ.get("WIRESPEED_STATE_DIR", "/run/wirespeed"))
CLONE_NEWNET = 0x40000000


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def _enter_netns(name: str | None) -> None:
    """Move this process into network namespace ``name`` (interfaces and devmap entries are
    looked up there; bpffs pins stay where they are)."""
    if not name:
        return
    path = Path("/run/netns") / name
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        raise _fail(f"no network namespace {name!r} ({path} not found)") from None
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise _fail(f"cannot enter network namespace {name!r}: "
                    f"{os.strerror(ctypes.get_errno())}")
    os.close(fd)


def _ifindex(dev: str) -> int:
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise _fail(f"no network device {dev!r}") from None


def _load(file: str) -> ir.Program:
    from wirespeed.compiler.cli import load

    return load(file)


def _table_ops(program: ir.Program, stf_texts: list[tuple[str, str]]) -> list:
    """The control-plane lines of STF files: entries, defaults and meter settings."""
    from wirespeed.sim.stf import parse_stf

    ops: list = []
    for name, text in stf_texts:
        test = parse_stf(program, text, name)
        ops += list(test.meters) + list(test.table_ops)
    return ops


def _apply(control: ControlPlane, ops: list) -> int:
    from wirespeed.sim.stf import MeterConfig

    count = 0
    for op in ops:
        match op:
            case AddEntry(table, entry):
                control.add_entry(table, entry)
                count += 1
            case SetDefault(table, call):
                control.set_default(table, call)
            case MeterConfig():
                control.set_meter(op.meter, op.index, op.cir, op.cburst, op.pir, op.pburst)
    return count


def _state_path(name: str) -> Path:
    return STATE_DIR / f"{name}.json"


def _read_state(name: str) -> dict:
    path = _state_path(name)
    if not path.exists():
        raise _fail(f"program {name!r} is not attached (no {path})")
    return json.loads(path.read_text())


def _ports(devs: tuple[str, ...], port_specs: tuple[str, ...]) -> dict[int, str]:
    ports: dict[int, str] = {}
    for spec in port_specs:
        number, sep, dev = spec.partition("=")
        if not sep or not number.isdigit() or not dev:
            raise _fail(f"--port {spec!r}: write PORT=IFACE, for example 1=eth1")
        ports[int(number)] = dev
    named = set(ports.values())
    for i, dev in enumerate(devs):
        if dev not in named:
            if i in ports:
                raise _fail(f"port {i} is given twice ({ports[i]} and {dev})")
            ports[i] = dev
    return ports


def _unpin(pin_dir: Path) -> None:
    if pin_dir.exists():
        for pinned in pin_dir.iterdir():
            pinned.unlink()
        pin_dir.rmdir()


@click.group("xdp")
def xdp() -> None:
    """Attach the XDP program to network devices and manage its tables."""


@xdp.command()
@click.argument("file")
@click.option("--dev", "devs", multiple=True, required=True, metavar="IFACE",
              help="Attach to this device (repeat for several).")
@click.option("--port", "port_specs", multiple=True, metavar="N=IFACE",
              help="Port N of the program is IFACE (default: the --dev position).")
@click.option("--entries", "entries", multiple=True, metavar="E.stf",
              help="Table entries to install (add/setdefault lines of an STF file).")
@click.option("--netns", metavar="NAME", help="Work inside this network namespace.")
@click.option("--mode", type=click.Choice(["auto", "native", "generic"]), default="auto",
              help="XDP mode: the driver's (native), the kernel's generic one, or the best.")
def attach(file: str, devs: tuple[str, ...], port_specs: tuple[str, ...],
           entries: tuple[str, ...], netns: str | None, mode: str) -> None:
    """Build FILE, load it into the kernel and attach it to every --dev."""
    from wirespeed.sim.xdp import build_cached

    program = _load(file)
    stf_texts = []
    for path in entries:
        try:
            stf_texts.append((path, Path(path).read_text()))
        except OSError as e:
            raise _fail(f"{path}: {e.strerror}") from None
    ops = _table_ops(program, stf_texts)
    name = c_ident(program.name)
    if _state_path(name).exists():
        raise _fail(f"program {name!r} is already attached: detach it first")
    _enter_netns(netns)
    ports = _ports(devs, port_specs)
    ifindex = {dev: _ifindex(dev) for dev in {*devs, *ports.values()}}
    pin_dir = PIN_ROOT / name
    attached: list[int] = []
    flags = {"auto": 0, "native": libbpf.XDP_FLAGS_DRV_MODE,
             "generic": libbpf.XDP_FLAGS_SKB_MODE}[mode]
    _unpin(pin_dir)  # pins left by an attach that was never detached (no state file)
    try:
        obj_path = build_cached(program)
        obj = libbpf.BpfObject(obj_path, function_name(program))
        obj.pin(pin_dir)
        control = ControlPlane(program, obj.map_fd)
        control.install_program_state()
        for port, dev in ports.items():
            control.set_port(port, ifindex[dev])
        added = _apply(control, ops)
        for dev in devs:
            libbpf.xdp_attach(ifindex[dev], obj.prog_fd, flags)
            attached.append(ifindex[dev])
    except (CodegenError, BuildError, libbpf.BpfError, ControlError, ExecutorError) as e:
        # leave nothing half-installed behind
        for index in attached:
            try:
                libbpf.xdp_detach(index, flags)
            except libbpf.BpfError:
                pass
        _unpin(pin_dir)
        raise _fail(str(e)) from None
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    _state_path(name).write_text(json.dumps({
        "file": str(Path(file).resolve()), "pin_dir": str(pin_dir), "netns": netns,
        "devs": list(devs), "flags": flags, "ports": {str(k): v for k, v in ports.items()},
        "entries": stf_texts}, indent=2))
    info = libbpf.prog_info(obj.prog_fd)
    click.echo(f"attached {name} to {', '.join(devs)} (program id {info.id}, "
               f"{info.verified_insns} instructions verified, {added} entries)")


@xdp.command("entries")
@click.argument("file")
@click.option("--entries", "entries", multiple=True, required=True, metavar="E.stf",
              help="add/setdefault lines to apply to the running program.")
def entries_cmd(file: str, entries: tuple[str, ...]) -> None:
    """Add table entries to the program attached from FILE (through its pinned maps)."""
    program = _load(file)
    name = c_ident(program.name)
    state = _read_state(name)
    new = []
    for path in entries:
        try:
            new.append((path, Path(path).read_text()))
        except OSError as e:
            raise _fail(f"{path}: {e.strerror}") from None
    old_ops = _table_ops(program, [tuple(x) for x in state["entries"]])
    new_ops = _table_ops(program, new)
    pin_dir = Path(state["pin_dir"])
    fds: dict[str, int] = {}

    def map_fd(map_name: str) -> int:
        if map_name not in fds:
            fds[map_name] = libbpf.obj_get(pin_dir / map_name)
        return fds[map_name]

    try:
        control = ControlPlane(program, map_fd)
        # Replaying what is installed rebuilds the control plane's view (entry numbers, scan
        # and tuple-space lists); the map writes it repeats leave the maps as they were.
        control.install_program_state()
        _apply(control, old_ops)
        added = _apply(control, new_ops)
    except (libbpf.BpfError, ControlError) as e:
        raise _fail(str(e)) from None
    finally:
        for fd in fds.values():
            os.close(fd)
    state["entries"] += new
    _state_path(name).write_text(json.dumps(state, indent=2))
    click.echo(f"{name}: {added} entries added")


@xdp.command()
@click.argument("file")
def detach(file: str) -> None:
    """Detach the program attached from FILE from its devices and unpin its maps."""
    program = _load(file)
    name = c_ident(program.name)
    state = _read_state(name)
    _enter_netns(state.get("netns"))
    problems = []
    for dev in state["devs"]:
        try:
            libbpf.xdp_detach(_ifindex(dev), state.get("flags", 0))
        except (libbpf.BpfError, click.ClickException) as e:
            problems.append(str(e))
    _unpin(Path(state["pin_dir"]))
    _state_path(name).unlink()
    if problems:
        raise _fail("; ".join(problems))
    click.echo(f"detached {name} from {', '.join(state['devs'])}")
