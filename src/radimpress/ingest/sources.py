"""Turn the paths a user names into a flat list of input files, archives included.

Archive members are read into memory instead of being unpacked to disk: the
official Open-i download is one ``.tgz`` of ~4,000 small XML files, and
unpacking it just to read it once leaves clutter and needs write access.
Every reader therefore works on a :class:`Source` (a label plus bytes on
demand) rather than on a filesystem path.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from radimpress.records import Reject

HEAD_BYTES = 8192
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip")


@dataclass
class Source:
    """One input file: on disk (``path``) or a member of an archive (``data``).

    ``label`` is what reports and rejects name as their origin:
    ``reports/a.txt`` or ``NLMCXR_reports.tgz:ecgen-radiology/1.xml``.
    """

    label: str
    path: Path | None = None
    data: bytes | None = None
    member: str | None = None  # name inside the archive, for archive members
    _cache: bytes | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        if self.member is not None:
            return PurePosixPath(self.member).name
        return self.path.name if self.path is not None else PurePosixPath(self.label).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix.lower()

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        if self._cache is None:
            assert self.path is not None
            self._cache = self.path.read_bytes()
        return self._cache

    def head(self, n: int = HEAD_BYTES) -> bytes:
        if self.data is not None or self._cache is not None:
            return self.read_bytes()[:n]
        assert self.path is not None
        with self.path.open("rb") as fh:
            return fh.read(n)

    def release(self) -> None:
        """Drop cached bytes once read, so a long run does not hold every file."""
        self._cache = None


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in ARCHIVE_SUFFIXES)


def _documentation(name: str) -> bool:
    # A README or licence next to the data describes it; it is not a report to reject.
    low = name.lower()
    return low.startswith(("readme", "license", "licence")) or low.endswith((".md", ".rst"))


def _hidden(parts: tuple[str, ...]) -> bool:
    # Dot-files and macOS resource forks ("._x.xml", "__MACOSX/") are never reports.
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _archive_members(path: Path, label: str) -> Iterator[Source | Reject]:
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.is_dir() or _hidden(PurePosixPath(info.filename).parts):
                        continue
                    yield Source(
                        label=f"{label}:{info.filename}", data=zf.read(info), member=info.filename
                    )
            return
        with tarfile.open(path, "r:*") as tf:
            for member in tf:
                if not member.isfile() or _hidden(PurePosixPath(member.name).parts):
                    continue
                fh = tf.extractfile(member)
                if fh is None:
                    continue
                yield Source(label=f"{label}:{member.name}", data=fh.read(), member=member.name)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        yield Reject(label, "", f"unreadable archive: {e}")


def iter_sources(paths: list[str | Path]) -> Iterator[Source | Reject]:
    """Expand files, folders (recursively, sorted) and archives into sources.

    Inside folders, hidden files and documentation (README*, LICENSE*, *.md,
    *.rst) are skipped; a file named explicitly is always read.

    A path that does not exist becomes a reject rather than an exception, so
    one typo among several inputs does not lose the others' work.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            yield Reject(str(raw), "", "file not found")
            continue
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not _hidden(p.relative_to(path).parts)
                and not _documentation(p.name)
            )
            for f in files:
                if is_archive(f):
                    yield from _archive_members(f, str(f))
                else:
                    yield Source(label=str(f), path=f)
        elif is_archive(path):
            yield from _archive_members(path, str(path))
        else:
            yield Source(label=str(path), path=path)
