"""A small qemu VM running Debian's kernel (which has ip6tnl), for the kernel backend.

``prepare`` downloads Debian's kernel package once (``apt-get download``), unpacks it,
runs ``depmod`` on the unpacked tree and builds an initramfs from busybox and the modules
needed to mount the host's root read-only over 9p. ``run`` boots the VM with software
emulation (``-accel tcg``; docs/design.md §6), without any network device, mounts the host's
root read-only with a tmpfs overlay on top (so that the guest may write without touching
the host), puts the unpacked modules at ``/lib/modules/<version>``, and runs one shell
script (``/mapekit-out/run.sh``) in a chroot of it. The script's
output and exit status come back through a second, writable 9p share.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HOST_ROOT_SHARE = "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay")
INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /modules/$m 2>/dev/null; done
mkdir -p /host /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /host || poweroff -f
mount -t tmpfs rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot \
    || poweroff -f
for d in proc sys dev; do mount --rbind /$d /newroot/$d; done
mkdir -p /newroot/lib/modules/{version} /newroot/mapekit-out
mount --bind /host{tree}/lib/modules/{version} /newroot/lib/modules/{version}
mount -t 9p -o trans=virtio,version=9p2000.L out /newroot/mapekit-out
# module autoloading: the kernel runs its modprobe in this (initramfs) root, so point it at
# the real one inside the chroot
printf '#!/bin/sh\nexec chroot /newroot /sbin/modprobe "$@"\n' > /bin/chroot-modprobe
chmod 755 /bin/chroot-modprobe
echo /bin/chroot-modprobe > /proc/sys/kernel/modprobe
chroot /newroot /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp PYTHONDONTWRITEBYTECODE=1 /bin/sh /mapekit-out/run.sh \
    > /newroot/mapekit-out/output.log 2>&1
echo $? > /newroot/mapekit-out/status
sync
poweroff -f
"""


@dataclass(frozen=True)
class VmAssets:
    kernel: Path
    tree: Path  # the unpacked package: <tree>/lib/modules/<version>
    version: str
    cache: Path


def tool(name: str) -> str | None:
    """A program from PATH or the sbin directories (not always on PATH)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")


def _run(args: list[str], cwd: Path | None = None) -> str:
    args = [tool(args[0]) or args[0], *args[1:]]
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()[-500:]}")
    return done.stdout


def kernel_package() -> str:
    """The versioned package behind ``linux-image-amd64`` (e.g. linux-image-6.1.0-50-amd64)."""
    for line in _run(["apt-cache", "depends", "linux-image-amd64"]).splitlines():
        name = line.strip().removeprefix("Depends:").strip()
        if name.startswith("linux-image-") and name != "linux-image-amd64":
            return name
    raise RuntimeError("apt-cache: no kernel package behind linux-image-amd64")


def prepare(cache: Path) -> VmAssets:
    """Download and unpack the kernel once per version (kept in ``cache``)."""
    package = kernel_package()
    version = package.removeprefix("linux-image-")
    home = cache / version
    tree = home / "tree"
    kernel = tree / "boot" / f"vmlinuz-{version}"
    if not (home / "ready").exists():
        home.mkdir(parents=True, exist_ok=True)
        _run(["apt-get", "download", "-qq", package], cwd=home)
        deb = next(home.glob(f"{package}_*.deb"))
        _run(["dpkg-deb", "-x", str(deb), str(tree)])
        _run(["depmod", "-b", str(tree), version])
        deb.unlink()
        (home / "ready").write_text(version)
    return VmAssets(kernel, tree, version, home)


def _closure(tree: Path, version: str, names: tuple[str, ...]) -> list[Path]:
    """The module files for ``names`` with their dependencies, dependencies first."""
    base = tree / "lib" / "modules" / version
    deps: dict[str, list[str]] = {}
    for line in (base / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
    by_name = {Path(p).name.split(".ko")[0].replace("-", "_"): p for p in deps}
    order: list[str] = []

    def visit(path: str) -> None:
        for dep in deps.get(path, []):
            visit(dep)
        if path not in order:
            order.append(path)

    for name in names:
        visit(by_name[name])
    return [base / p for p in order]


def _cpio(root: Path) -> bytes:
    """An uncompressed newc cpio archive of ``root`` (the kernel's initramfs format)."""
    out = bytearray()
    inode = 1

    def entry(name: str, mode: int, data: bytes) -> None:
        nonlocal inode
        fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0)
        header = b"070701" + b"".join(f"{f:08x}".encode() for f in fields)
        out.extend(header + name.encode() + b"\0")
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))
        inode += 1

    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            entry(rel, 0o120777, os.readlink(path).encode())
        elif path.is_dir():
            entry(rel, 0o040755, b"")
        else:
            entry(rel, 0o100755, path.read_bytes())
    entry("TRAILER!!!", 0, b"")
    return bytes(out)


def build_initrd(assets: VmAssets, target: Path) -> None:
    busybox = tool("busybox")
    if busybox is None:
        raise RuntimeError("busybox is needed (Debian package busybox-static)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for sub in ("bin", "proc", "sys", "dev", "modules", "host"):
            (root / sub).mkdir()
        shutil.copy(busybox, root / "bin" / "busybox")
        modules = _closure(assets.tree, assets.version, BOOT_MODULES)
        for module in modules:
            shutil.copy(module, root / "modules" / module.name)
        (root / "modules.order").write_text("\n".join(m.name for m in modules) + "\n")
        init = INIT.format(version=assets.version, tree=assets.tree)
        (root / "init").write_text(init)
        target.write_bytes(gzip.compress(_cpio(root), compresslevel=1))


def run(assets: VmAssets, script: str, timeout: float = 600, memory: int = 1536) -> tuple[int, str]:
    """Boot, run ``script`` (sh) in a chroot of the host's root, return (status, output)."""
    with tempfile.TemporaryDirectory(prefix="mapekit-vm-") as tmp:
        out = Path(tmp)
        (out / "run.sh").write_text(script)
        initrd = out / "initrd.gz"
        build_initrd(assets, initrd)
        args = [
            "qemu-system-x86_64", "-accel", "tcg", "-m", str(memory), "-smp", "2",
            "-nographic", "-no-reboot", "-nic", "none",
            "-kernel", str(assets.kernel), "-initrd", str(initrd),
            "-append", "console=ttyS0 panic=-1 quiet",
            "-virtfs", HOST_ROOT_SHARE,
            "-virtfs", f"local,path={out},mount_tag=out,security_model=none",
        ]  # fmt: skip
        console = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        status_file = out / "status"
        output = (out / "output.log").read_text() if (out / "output.log").exists() else ""
        if not status_file.exists():
            tail = (console.stdout + console.stderr)[-2000:]
            raise RuntimeError(f"the VM did not run the script; console:\n{tail}")
        return int(status_file.read_text().strip() or "1"), output


def available() -> str | None:
    """None when a VM can be run here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    missing = [t for t in ("qemu-system-x86_64", "busybox", "apt-get", "dpkg-deb", "depmod")
               if tool(t) is None]  # fmt: skip
    return f"needs {', '.join(missing)}" if missing else None
