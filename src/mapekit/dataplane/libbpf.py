"""libbpf (the kernel's own BPF loader library, ``libbpf.so.1``) through its stable C API.

The few calls mapekit needs: open and load an object file, find its programs and maps,
pin them in bpffs, attach and detach tc programs (``bpf_tc_*``, which create the clsact
qdisc and the filter over netlink), and read and write map elements. Nothing else of
libbpf is used; no C extension is built. Failures become :class:`DataplaneError` with
libbpf's own message (the verifier's log when a program is refused).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mapekit.dataplane.links import DataplaneError

SONAME = "libbpf.so.1"
TC_INGRESS, TC_EGRESS = 1, 2
TC_F_REPLACE = 1
PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class TcHook(ctypes.Structure):
    """``struct bpf_tc_hook`` (libbpf.h): sz, ifindex, attach_point, parent."""

    _fields_ = (
        ("sz", ctypes.c_size_t),
        ("ifindex", ctypes.c_int),
        ("attach_point", ctypes.c_int),
        ("parent", ctypes.c_uint32),
        ("_end", ctypes.c_uint32),
    )


class TestRunOpts(ctypes.Structure):
    """``struct bpf_test_run_opts`` (libbpf 1.x)."""

    _fields_ = (
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
    )


class TcOpts(ctypes.Structure):
    """``struct bpf_tc_opts``: sz, prog_fd, flags, prog_id, handle, priority."""

    _fields_ = (
        ("sz", ctypes.c_size_t),
        ("prog_fd", ctypes.c_int),
        ("flags", ctypes.c_uint32),
        ("prog_id", ctypes.c_uint32),
        ("handle", ctypes.c_uint32),
        ("priority", ctypes.c_uint32),
        ("_end", ctypes.c_uint32),
    )


_log: list[str] = []
_kept: list[Any] = []  # the print callback, alive as long as the library


def _vformat(fmt: bytes, args: int) -> str:
    libc = ctypes.CDLL(None)
    buf = ctypes.create_string_buffer(4096)
    libc.vsnprintf(buf, len(buf), ctypes.c_char_p(fmt), ctypes.c_void_p(args))
    return buf.value.decode(errors="replace")


def _print(level: int, fmt: bytes, args: int) -> int:
    if len(_log) < 2000:
        _log.append(_vformat(fmt, args))
    return 0


def missing() -> str | None:
    """None when libbpf can be loaded here, else why not."""
    try:
        lib()
    except DataplaneError as exc:
        return exc.message
    return None


@functools.cache
def lib() -> Any:
    """The loaded library, with argument types declared (once)."""
    try:
        handle = ctypes.CDLL(ctypes.util.find_library("bpf") or SONAME, use_errno=True)
    except OSError:
        try:
            handle = ctypes.CDLL(SONAME, use_errno=True)
        except OSError as exc:
            raise DataplaneError(
                "dataplane.unsupported",
                f"{SONAME}: cannot be loaded ({exc}); install the Debian package libbpf1",
                field="dataplane.backend",
            ) from None
    vp, cp, ci, cu = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32
    for name, res, args in (
        ("bpf_object__open_file", vp, [cp, vp]),
        ("bpf_object__load", ci, [vp]),
        ("bpf_object__close", None, [vp]),
        ("bpf_object__find_program_by_name", vp, [vp, cp]),
        ("bpf_object__find_map_by_name", vp, [vp, cp]),
        ("bpf_program__fd", ci, [vp]),
        ("bpf_program__pin", ci, [vp, cp]),
        ("bpf_map__fd", ci, [vp]),
        ("bpf_map__pin", ci, [vp, cp]),
        ("bpf_map__set_max_entries", ci, [vp, cu]),
        ("bpf_map_update_elem", ci, [ci, vp, vp, ctypes.c_uint64]),
        ("bpf_map_lookup_elem", ci, [ci, vp, vp]),
        ("bpf_map_delete_elem", ci, [ci, vp]),
        ("bpf_map_get_next_key", ci, [ci, vp, vp]),
        ("bpf_prog_get_fd_by_id", ci, [cu]),
        ("bpf_map_get_fd_by_id", ci, [cu]),
        ("bpf_obj_get_info_by_fd", ci, [ci, vp, ctypes.POINTER(cu)]),
        ("bpf_tc_hook_create", ci, [ctypes.POINTER(TcHook)]),
        ("bpf_tc_hook_destroy", ci, [ctypes.POINTER(TcHook)]),
        ("bpf_tc_attach", ci, [ctypes.POINTER(TcHook), ctypes.POINTER(TcOpts)]),
        ("bpf_tc_detach", ci, [ctypes.POINTER(TcHook), ctypes.POINTER(TcOpts)]),
        ("bpf_tc_query", ci, [ctypes.POINTER(TcHook), ctypes.POINTER(TcOpts)]),
        ("libbpf_num_possible_cpus", ci, []),
        ("bpf_prog_test_run_opts", ci, [ci, ctypes.POINTER(TestRunOpts)]),
        ("libbpf_set_print", vp, [PRINT_FN]),
    ):
        function = getattr(handle, name)
        function.restype, function.argtypes = res, args
    printer = PRINT_FN(_print)
    _kept.append(printer)
    handle.libbpf_set_print(printer)
    return handle


def _fail(what: str, code: int, log: bool = False) -> DataplaneError:
    code = abs(code) or ctypes.get_errno()
    text = os.strerror(code) if code else "failed"
    detail = ("\n" + "".join(_log[-40:]).strip()) if log and _log else ""
    return DataplaneError("dataplane.setup", f"{what}: {text}{detail}", field="bpf")


@dataclass
class BpfObject:
    """A loaded object file: its programs and maps by name, until :meth:`close`."""

    handle: int
    path: str

    @classmethod
    def load(cls, path: str, max_entries: dict[str, int] | None = None) -> BpfObject:
        libbpf = lib()
        _log.clear()
        handle = libbpf.bpf_object__open_file(path.encode(), None)
        if not handle:
            raise _fail(f"{path}: cannot open", ctypes.get_errno(), log=True)
        obj = cls(handle, path)
        for name, entries in (max_entries or {}).items():
            libbpf.bpf_map__set_max_entries(obj._map(name), entries)
        rc = libbpf.bpf_object__load(handle)
        if rc:
            obj.close()
            raise _fail(f"{path}: the kernel refused to load it", rc, log=True)
        return obj

    def _map(self, name: str) -> int:
        found = lib().bpf_object__find_map_by_name(self.handle, name.encode())
        if not found:
            raise DataplaneError("dataplane.setup", f"{self.path}: no map {name}", field="bpf")
        return int(found)

    def _program(self, name: str) -> int:
        found = lib().bpf_object__find_program_by_name(self.handle, name.encode())
        if not found:
            raise DataplaneError("dataplane.setup", f"{self.path}: no program {name}", field="bpf")
        return int(found)

    def map_fd(self, name: str) -> int:
        return int(lib().bpf_map__fd(self._map(name)))

    def program_fd(self, name: str) -> int:
        return int(lib().bpf_program__fd(self._program(name)))

    def pin_map(self, name: str, path: str) -> None:
        rc = lib().bpf_map__pin(self._map(name), path.encode())
        if rc:
            raise _fail(f"pin {path}", rc)

    def pin_program(self, name: str, path: str) -> None:
        rc = lib().bpf_program__pin(self._program(name), path.encode())
        if rc:
            raise _fail(f"pin {path}", rc)

    def close(self) -> None:
        """Close every fd of the object: what no filter or pin holds is freed."""
        if self.handle:
            lib().bpf_object__close(self.handle)
            self.handle = 0


# --- maps ----------------------------------------------------------------------------


def update(fd: int, key: bytes, value: bytes) -> None:
    rc = lib().bpf_map_update_elem(fd, key, value, 0)
    if rc:
        raise _fail("map update", rc)


def lookup(fd: int, key: bytes, size: int) -> bytes | None:
    buf = ctypes.create_string_buffer(size)
    rc = lib().bpf_map_lookup_elem(fd, key, buf)
    if rc:
        if abs(rc) == errno.ENOENT or ctypes.get_errno() == errno.ENOENT:
            return None
        raise _fail("map lookup", rc)
    return buf.raw


def delete(fd: int, key: bytes) -> None:
    rc = lib().bpf_map_delete_elem(fd, key)
    if rc and abs(rc) != errno.ENOENT:
        raise _fail("map delete", rc)


def keys(fd: int, size: int) -> Iterator[bytes]:
    """Every key of a hash or trie map (a snapshot walk)."""
    current: bytes | None = None
    buf = ctypes.create_string_buffer(size)
    while lib().bpf_map_get_next_key(fd, current, buf) == 0:
        current = buf.raw
        yield current


def possible_cpus() -> int:
    count = int(lib().libbpf_num_possible_cpus())
    if count <= 0:
        raise _fail("possible CPUs", count)
    return count


def object_exists(kind: str, ident: int) -> bool:
    """Whether the program (``kind`` "prog") or map ("map") with this id still exists."""
    getter = lib().bpf_prog_get_fd_by_id if kind == "prog" else lib().bpf_map_get_fd_by_id
    fd = getter(ident)
    if fd < 0:
        return False
    os.close(fd)
    return True


def object_id(fd: int) -> int:
    """The kernel's id of the program or map behind ``fd``."""
    info = ctypes.create_string_buffer(256)
    size = ctypes.c_uint32(256)
    rc = lib().bpf_obj_get_info_by_fd(fd, info, ctypes.byref(size))
    if rc:
        raise _fail("object info", rc)
    return int.from_bytes(info.raw[4:8], "little")  # id follows type in both info structs


def test_run(fd: int, packet: bytes, ctx: bytes = b"", repeat: int = 1) -> tuple[int, bytes, int]:
    """Run program ``fd`` on one packet (``BPF_PROG_TEST_RUN``: nothing is sent): its
    return code, the packet as it left the program, and nanoseconds per run."""
    data_in = ctypes.create_string_buffer(packet, len(packet))
    data_out = ctypes.create_string_buffer(len(packet) + 256)
    context = ctypes.create_string_buffer(ctx, len(ctx)) if ctx else None
    opts = TestRunOpts(
        ctypes.sizeof(TestRunOpts), ctypes.cast(data_in, ctypes.c_void_p),
        ctypes.cast(data_out, ctypes.c_void_p), len(packet), len(data_out),
        ctypes.cast(context, ctypes.c_void_p) if context else None, None,
        len(ctx), 0, 0, repeat, 0, 0, 0, 0,
    )  # fmt: skip
    rc = lib().bpf_prog_test_run_opts(fd, ctypes.byref(opts))
    if rc:
        raise _fail("test run", rc)
    return int(opts.retval), data_out.raw[: opts.data_size_out], int(opts.duration)


# --- tc ------------------------------------------------------------------------------


def _hook(ifindex: int, point: int) -> TcHook:
    return TcHook(ctypes.sizeof(TcHook), ifindex, point, 0, 0)


def _opts(handle: int, priority: int, fd: int = 0, flags: int = 0) -> TcOpts:
    return TcOpts(ctypes.sizeof(TcOpts), fd, flags, 0, handle, priority, 0)


def tc_attach(ifindex: int, point: int, fd: int, handle: int, priority: int) -> int:
    """Attach program ``fd`` (direct action) at ``point`` of ``ifindex``, creating the
    clsact qdisc when needed and replacing a filter left at the same handle and
    priority; returns the attached program's id."""
    hook = _hook(ifindex, point)
    rc = lib().bpf_tc_hook_create(ctypes.byref(hook))
    if rc and abs(rc) != errno.EEXIST:
        raise _fail(f"clsact qdisc on interface {ifindex}", rc)
    opts = _opts(handle, priority, fd, TC_F_REPLACE)
    rc = lib().bpf_tc_attach(ctypes.byref(hook), ctypes.byref(opts))
    if rc:
        raise _fail(f"tc filter on interface {ifindex}", rc)
    return int(opts.prog_id)


def tc_query(ifindex: int, point: int, handle: int, priority: int) -> int | None:
    """The id of the program at ``handle``/``priority``, or None (reads only)."""
    hook = _hook(ifindex, point)
    opts = _opts(handle, priority)
    if lib().bpf_tc_query(ctypes.byref(hook), ctypes.byref(opts)):
        return None
    return int(opts.prog_id)


def tc_detach(ifindex: int, point: int, handle: int, priority: int) -> bool:
    """Remove the filter at ``handle``/``priority``; True when there was one."""
    hook = _hook(ifindex, point)
    opts = _opts(handle, priority)
    return int(lib().bpf_tc_detach(ctypes.byref(hook), ctypes.byref(opts))) == 0


def tc_remove_qdisc(ifindex: int) -> None:
    """Remove the clsact qdisc (and with it every filter left on it)."""
    hook = _hook(ifindex, TC_INGRESS | TC_EGRESS)
    lib().bpf_tc_hook_destroy(ctypes.byref(hook))
