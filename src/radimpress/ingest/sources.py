"""Turn the paths a user names into a flat list of input files, archives included.

Archive members are read into memory instead of being unpacked to disk: the
official Open-i download is one ``.tgz`` of ~4,000 small XML files, and
unpacking it just to read it once leaves clutter and needs write access.
Every reader therefore works on a :class:`Source` (a label plus bytes on
demand) rather than on a filesystem path.

Because a member's bytes end up in memory, nothing is read on trust: members
are streamed in chunks and every read is bounded by three caps (the fields of
:class:`~radimpress.ingest.options.IngestOptions` behind ``--max-file-mb``,
``--max-archive-mb`` and ``--max-ratio``). A 10 MB archive can declare 10 GiB;
the declared sizes (zip directory, tar headers) are checked before a byte is
inflated, and the bytes actually inflated are counted against the compressed
bytes consumed while reading, so a lying header cannot get further than one
chunk. Members a safe extractor would refuse (``..`` or absolute paths, links,
devices) are never read and become rejects that say why, so a suspicious
archive is visible in rejects.jsonl rather than silently shorter.
"""

from __future__ import annotations

import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from radimpress.ingest.options import IngestOptions
from radimpress.records import Reject

HEAD_BYTES = 8192
CHUNK = 1 << 20  # bytes inflated per read: the most a lying header can get past a check
# Below this many inflated bytes the ratio cap is not applied: a few KiB of blank
# lines or tar padding compress far better than any real report set, and are harmless.
RATIO_FLOOR = 1 << 20
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip")
_DRIVE = re.compile(r"^[A-Za-z]:")


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
        if not self.path.is_file():
            # A pipe (`--input /dev/stdin`, a shell's `<(...)`) can be read once: the format is
            # detected from the bytes the reader then gets, or the reader found them gone.
            return self.read_bytes()[:n]
        with self.path.open("rb") as fh:
            return fh.read(n)

    def release(self) -> None:
        """Drop the bytes once read, so a long run holds one file at a time."""
        self._cache = None
        self.data = None


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in ARCHIVE_SUFFIXES)


def _documentation(name: str) -> bool:
    # A README or licence next to the data describes it; it is not a report to reject.
    low = name.lower()
    return low.startswith(("readme", "license", "licence")) or low.endswith((".md", ".rst"))


def _hidden(parts: tuple[str, ...]) -> bool:
    # Dot-files and macOS resource forks ("._x.xml", "__MACOSX/") are never reports.
    # ".." is no dot-file: a member named with it is rejected as unsafe, never skipped.
    return any((p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts)


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB"


def unsafe_name(name: str) -> str | None:
    """Why a member name would escape an extraction folder, or None when it would not."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        return "absolute path"
    if ".." in norm.split("/"):
        return "path leaves the archive ('..')"
    if "\x00" in name:
        return "NUL byte in the name"
    return None


class _Stop(Exception):
    """The archive broke a cap whose cost grows with what is left: read no further."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _CountingReader:
    """A file wrapper counting the compressed bytes a decompressor has consumed."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self.consumed += len(data)
        return data


@dataclass
class _Budget:
    """What one archive may still inflate; checks name the cap they enforce."""

    options: IngestOptions
    archive_size: int
    expanded: int = 0  # bytes inflated so far (tar: headers included)

    def too_large(self, size: int) -> str | None:
        cap = self.options.max_file_bytes
        if size > cap:
            return f"file too large: {size:,} bytes, over the --max-file-mb cap of {_mib(cap)}"
        return None

    def check_total(self, total: int) -> None:
        cap = self.options.max_archive_bytes
        if total > cap:
            raise _Stop(
                f"archive too large: expands past the --max-archive-mb cap of {_mib(cap)} "
                "at this member; it and the rest of the archive were not read"
            )

    def check_ratio(self, inflated: int, compressed: int, *, whole_archive: bool) -> None:
        cap = self.options.max_compression_ratio
        if inflated < RATIO_FLOOR or inflated <= cap * max(compressed, 1):
            return
        ratio = inflated / max(compressed, 1)
        tail = "; it and the rest of the archive were not read" if whole_archive else "; not read"
        raise _Stop(
            f"compression ratio too high: expands {ratio:,.0f}:1, over the --max-ratio cap "
            f"of {cap:g}:1 (a decompression bomb?){tail}"
        )


def zip_declared_problem(
    infos: list[zipfile.ZipInfo], options: IngestOptions, size: int
) -> str | None:
    """The first cap a zip's declared sizes break, naming the member, or None.

    For readers of zip-based formats (.xlsx) that hand the whole file to a library,
    which would inflate a bomb before any check of ours ran.
    """
    budget = _Budget(options, size)
    total = 0
    for info in infos:
        problem = budget.too_large(info.file_size)
        try:
            budget.check_ratio(info.file_size, info.compress_size, whole_archive=False)
            total += info.file_size
            budget.check_total(total)
        except _Stop as stop:
            problem = problem or stop.reason
        if problem:
            return f"{info.filename}: {problem}"
    return None


def _read_bounded(
    fh: IO[bytes], budget: _Budget, size_hint: int, on_chunk: Callable[[], None] | None = None
) -> bytes:
    """Read a member in chunks, never past the per-file cap; ``on_chunk`` checks the rest."""
    cap = budget.options.max_file_bytes
    buf = bytearray()
    while True:
        chunk = fh.read(min(CHUNK, cap + 1 - len(buf)))
        if not chunk:
            return bytes(buf)
        buf += chunk
        budget.expanded += len(chunk)
        if on_chunk is not None:
            on_chunk()
        if len(buf) > cap:
            raise _Stop(budget.too_large(max(size_hint, len(buf))) or "file too large")


def _link_reason(kind: str, target: str | None = None) -> str:
    to = f" (-> {target!r})" if target is not None else ""
    return f"unsafe archive member: {kind}{to}; not read"


def _zip_members(path: Path, label: str, options: IngestOptions) -> Iterator[Source | Reject]:
    with zipfile.ZipFile(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        budget = _Budget(options, path.stat().st_size)
        for n, info in enumerate(infos):
            name = info.filename
            where = f"{label}:{name}"
            unsafe = unsafe_name(name)
            if unsafe:
                yield Reject(label, name, f"unsafe archive member: {unsafe}; not read")
                continue
            if _hidden(PurePosixPath(name.replace("\\", "/")).parts):
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                yield Reject(label, name, _link_reason("symbolic link"))
                continue
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: made where modes are unknown
                yield Reject(label, name, "unsafe archive member: device, FIFO or socket; not read")
                continue
            if info.flag_bits & 0x1:
                yield Reject(label, name, "unreadable member: encrypted; not read")
                continue
            big = budget.too_large(info.file_size)
            if big:
                yield Reject(label, name, big)
                continue
            try:
                # Declared sizes bound what zipfile inflates, so these checks are exact.
                budget.check_ratio(info.file_size, info.compress_size, whole_archive=False)
            except _Stop as stop:
                yield Reject(label, name, stop.reason)
                continue
            try:
                budget.check_total(budget.expanded + info.file_size)
            except _Stop as stop:
                rest = len(infos) - n - 1
                yield Reject(label, name, stop.reason + f" ({rest} more members)")
                return
            try:
                with zf.open(info) as fh:
                    data = _read_bounded(fh, budget, info.file_size)
            except _Stop as stop:
                yield Reject(label, name, stop.reason)
                continue
            except (
                zipfile.BadZipFile,
                zlib.error,
                NotImplementedError,
                RuntimeError,
                EOFError,
            ) as e:
                yield Reject(label, name, f"unreadable member: {e}")
                continue
            yield Source(label=where, data=data, member=name)


def _tar_members(path: Path, label: str, options: IngestOptions) -> Iterator[Source | Reject]:
    budget = _Budget(options, path.stat().st_size)
    with path.open("rb") as raw:
        counter = _CountingReader(raw)
        # Stream mode ("r|*"): no seeking, so what was inflated is what was counted.
        with tarfile.open(fileobj=counter, mode="r|*") as tf:  # type: ignore[call-overload]
            for member in tf:
                name = member.name
                try:
                    # tf.offset is the end of this member: headers and declared data.
                    budget.check_total(tf.offset)
                    budget.check_ratio(tf.offset, budget.archive_size, whole_archive=True)
                except _Stop as stop:
                    yield Reject(label, name, stop.reason)
                    return
                unsafe = unsafe_name(name)
                if unsafe:
                    yield Reject(label, name, f"unsafe archive member: {unsafe}; not read")
                    continue
                if member.isdir() or _hidden(PurePosixPath(name).parts):
                    continue
                if member.issym():
                    yield Reject(label, name, _link_reason("symbolic link", member.linkname))
                    continue
                if member.islnk():
                    yield Reject(label, name, _link_reason("hard link", member.linkname))
                    continue
                if not member.isfile():
                    yield Reject(
                        label, name, "unsafe archive member: device, FIFO or socket; not read"
                    )
                    continue
                big = budget.too_large(member.size)
                if big:
                    # Skipping it inflates it anyway (a stream cannot seek), and the
                    # declared total above has already been checked against both caps.
                    yield Reject(label, name, big)
                    continue
                fh = tf.extractfile(member)
                if fh is None:  # pragma: no cover - isfile() members always have data
                    continue
                start = tf.offset - member.size  # decompressed offset where the data begins

                def progress(fh: IO[bytes] = fh, start: int = start) -> None:
                    inflated = start + fh.tell()
                    budget.check_ratio(inflated, counter.consumed, whole_archive=True)

                try:
                    data = _read_bounded(fh, budget, member.size, progress)
                except _Stop as stop:
                    yield Reject(label, name, stop.reason)
                    return
                yield Source(label=f"{label}:{name}", data=data, member=name)


def _archive_members(path: Path, label: str, options: IngestOptions) -> Iterator[Source | Reject]:
    try:
        if path.name.lower().endswith(".zip"):
            yield from _zip_members(path, label, options)
        else:
            yield from _tar_members(path, label, options)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:
        yield Reject(label, "", f"unreadable archive: {e}")


def _disk_file(path: Path, options: IngestOptions) -> Source | Reject:
    try:
        size = path.stat().st_size
    except OSError as e:
        return Reject(str(path), "", f"unreadable file: {e}")
    big = _Budget(options, size).too_large(size)
    return Reject(str(path), "", big) if big else Source(label=str(path), path=path)


def iter_sources(
    paths: list[str | Path], options: IngestOptions | None = None
) -> Iterator[Source | Reject]:
    """Expand files, folders (recursively, sorted) and archives into sources.

    Inside folders, hidden files and documentation (README*, LICENSE*, *.md,
    *.rst) are skipped; a file named explicitly is always read.

    A path that does not exist becomes a reject rather than an exception, so
    one typo among several inputs does not lose the others' work.
    """
    options = options or IngestOptions()
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
                    yield from _archive_members(f, str(f), options)
                else:
                    yield _disk_file(f, options)
        elif is_archive(path):
            yield from _archive_members(path, str(path), options)
        else:
            yield _disk_file(path, options)
