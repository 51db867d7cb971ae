"""Atomic, versioned publishing of a pack, and a lock per pack.

Layout: every build lands in its own folder ``<out>/<ICB>/.versions/<quarter id>/<n>/``; the pack
path ``<out>/<ICB>/<quarter id>`` is a symlink swapped with one ``os.replace``, so readers see the
old pack or the new one, never a mix, and earlier versions are kept. Published folders and files
get the modes the user's umask gives (0755/0644 with umask 022), so others can read a shared pack.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

VERSIONS = ".versions"
STAGING = ".staging"


class PublishError(RuntimeError):
    """The pack could not be put in place; the previous pack is untouched."""


class BuildLocked(RuntimeError):
    """Another build of the same pack holds its lock."""


@dataclass(frozen=True)
class PackLocation:
    out_dir: Path
    icb: str
    quarter_id: str

    def __post_init__(self) -> None:
        # out_dir may be anywhere the user chose; the names below it must not lead out of it.
        for name in (self.icb, self.quarter_id):
            if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
                raise ValueError(f"{name!r} is not a plain folder name: a pack stays inside {self.out_dir}")

    @property
    def link(self) -> Path:
        """The published pack's path (a symlink to the current version)."""
        return self.out_dir / self.icb / self.quarter_id

    @property
    def versions_dir(self) -> Path:
        return self.out_dir / self.icb / VERSIONS / self.quarter_id


def pack_lock(lock_dir: Path, icb: str, quarter_id: str) -> FileLock:
    """A non-blocking lock for one pack; use as a context manager. Raises :class:`BuildLocked`."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    return _NonBlockingLock(str(lock_dir / f"{icb}-{quarter_id}.lock"), timeout=0)


class _NonBlockingLock(FileLock):
    def __enter__(self):  # type: ignore[override]
        try:
            return super().__enter__()
        except Timeout:
            raise BuildLocked(
                f"another build of this pack is running (lock {self.lock_file}); wait for it to finish"
            ) from None


def new_staging(location: PackLocation) -> Path:
    """An empty folder on the same filesystem as the pack, for building into."""
    parent = location.out_dir / location.icb / STAGING
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{location.quarter_id}-", dir=parent))
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes it 0700; it becomes the published folder
        return staging
    except OSError as exc:
        raise PublishError(f"cannot write to the publish folder {parent}: {exc.strerror or exc}") from exc


def publish(staging: Path, location: PackLocation) -> Path:
    """Move the finished ``staging`` folder into place as the new current version; returns its folder."""
    link = location.link
    version: Path | None = None
    temporary_link = link.with_name(f".{link.name}.{os.getpid()}.new")
    try:
        if link.exists() and not link.is_symlink():
            raise PublishError(f"{link} is a real folder, not a published pack link; move it away first")
        location.versions_dir.mkdir(parents=True, exist_ok=True)
        existing = [int(p.name) for p in location.versions_dir.iterdir() if p.name.isdigit()]
        new_version = location.versions_dir / str(max(existing, default=0) + 1)
        follow_umask(staging)
        os.rename(staging, new_version)  # same filesystem: atomic
        version = new_version
        if temporary_link.is_symlink():
            temporary_link.unlink()
        os.symlink(os.path.relpath(version, link.parent), temporary_link)
        os.replace(temporary_link, link)  # the atomic switch
    except PublishError:
        raise
    except OSError as exc:
        # Undo what was done before the switch failed: no stray link, no version that was never the pack.
        with contextlib.suppress(OSError):
            if temporary_link.is_symlink():
                temporary_link.unlink()
        if version is not None:
            with contextlib.suppress(OSError):
                os.rename(version, staging)
        raise PublishError(
            f"could not publish to {link}: {exc.strerror or exc} ({exc.filename or ''}); the previous pack is unchanged"
        ) from exc
    return version


def current_umask() -> int:
    """This process's umask, read without changing it where Linux shows it (another thread may be
    creating files); elsewhere set and put back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def follow_umask(folder: Path) -> None:
    """Give ``folder`` and everything in it the modes a plain mkdir/open would under the user's umask.

    The pack may have been written by a worker with another umask (a Dask worker, a forkserver
    started earlier), or by tools making private temporary files; what is published follows the
    user who publishes it."""
    mask = current_umask()
    os.chmod(folder, 0o777 & ~mask)
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(parent, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                continue  # chmod would change what the link points at
            executable = stat.S_ISDIR(mode) or mode & 0o111
            os.chmod(path, (0o777 if executable else 0o666) & ~mask)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def published_packs(out_dir: Path) -> list[dict]:
    """Every published pack under ``out_dir``: ICB, quarter id, current version folder, versions kept."""
    packs = []
    if not out_dir.is_dir():
        return packs
    for icb_dir in sorted(p for p in out_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for link in sorted(icb_dir.iterdir()):
            if not link.is_symlink() or link.name.startswith("."):
                continue
            versions = icb_dir / VERSIONS / link.name
            packs.append(
                {
                    "icb": icb_dir.name,
                    "quarter_id": link.name,
                    "path": link,
                    "current": link.resolve(),
                    "versions": sorted(int(p.name) for p in versions.iterdir() if p.name.isdigit())
                    if versions.is_dir()
                    else [],
                }
            )
    return packs
