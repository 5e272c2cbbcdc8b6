"""Archives: members streamed under the size, total and ratio caps; unsafe members rejected."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest

from radimpress.cli import main
from radimpress.ingest import ingest_paths
from radimpress.ingest.options import MIB
from radimpress.records import InputError

REPORT = b"FINDINGS: Clear lungs.\nIMPRESSION: Normal.\n"


class _Zeros(io.RawIOBase):
    """n zero bytes without holding them: an archive can declare far more than memory."""

    def __init__(self, n: int) -> None:
        self.n = n

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        k = min(len(b), self.n)
        b[:k] = bytes(k)
        self.n -= k
        return k


def _tgz(path, members: list[tuple[str, int | bytes]]) -> None:
    """Members as (name, data) or (name, number of zero bytes)."""
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if isinstance(data, int):
                info.size = data
                tf.addfile(info, io.BufferedReader(_Zeros(data)))
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))


def _zip(path, members: list[tuple[str, int | bytes]]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            if isinstance(data, int):
                with zf.open(name, "w", force_zip64=True) as fh:
                    for _ in range(data // MIB):
                        fh.write(bytes(MIB))
            else:
                zf.writestr(name, data)


def _reasons(res):
    return {r.location: r.reason for r in res.rejects}


@pytest.mark.parametrize("make", [_zip, _tgz], ids=["zip", "tgz"])
def test_a_member_over_the_file_cap_is_rejected_naming_the_cap(tmp_path, make):
    archive = tmp_path / ("a.zip" if make is _zip else "a.tgz")
    make(archive, [("big.txt", 3 * MIB), ("ok.txt", REPORT)])
    res = ingest_paths([archive], max_file_bytes=2 * MIB, max_compression_ratio=10_000)
    assert [r.id for r in res.reports] == ["ok"]
    reason = _reasons(res)["big.txt"]
    assert reason.startswith("file too large: 3,145,728 bytes") and "--max-file-mb" in reason


@pytest.mark.parametrize("make", [_zip, _tgz], ids=["zip", "tgz"])
def test_a_decompression_bomb_is_rejected_naming_the_ratio_cap(tmp_path, make):
    archive = tmp_path / ("bomb.zip" if make is _zip else "bomb.tgz")
    make(archive, [("ok.txt", REPORT), ("zeros.txt", 8 * MIB)])
    res = ingest_paths([archive])
    assert [r.id for r in res.reports] == ["ok"]
    reason = _reasons(res)["zeros.txt"]
    assert reason.startswith("compression ratio too high") and "--max-ratio cap of 200:1" in reason


def test_tar_members_past_the_total_cap_are_not_read(tmp_path):
    archive = tmp_path / "a.tgz"
    _tgz(
        archive,
        [("a.txt", REPORT), ("pad1.bin", 2 * MIB), ("pad2.bin", 2 * MIB), ("b.txt", REPORT)],
    )
    res = ingest_paths([archive], max_archive_bytes=3 * MIB, max_compression_ratio=10_000)
    assert [r.id for r in res.reports] == ["a"]
    reasons = _reasons(res)
    assert reasons["pad2.bin"].startswith("archive too large")
    assert "--max-archive-mb cap of 3 MiB" in reasons["pad2.bin"]
    assert "b.txt" not in reasons  # the rest of the archive was not read, as the reason says


def test_zip_total_cap_names_the_members_left(tmp_path):
    archive = tmp_path / "a.zip"
    _zip(archive, [("a.txt", REPORT), ("pad.bin", 3 * MIB), ("b.txt", REPORT), ("c.txt", REPORT)])
    res = ingest_paths([archive], max_archive_bytes=2 * MIB, max_compression_ratio=10_000)
    assert [r.id for r in res.reports] == ["a"]
    (rej,) = res.rejects
    assert rej.location == "pad.bin" and rej.reason.startswith("archive too large")
    assert rej.reason.endswith("(2 more members)")


def test_a_file_on_disk_over_the_cap_is_a_reject_not_read(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"FINDINGS: " + b"x" * (2 * MIB) + b"\n")
    res = ingest_paths([big], max_file_bytes=MIB)
    (rej,) = res.rejects
    assert rej.source == str(big) and "--max-file-mb cap of 1 MiB" in rej.reason


def test_unsafe_tar_members_are_rejects_with_the_reason(tmp_path):
    archive = tmp_path / "unsafe.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, typ in [
            ("../up.txt", tarfile.REGTYPE),
            ("/abs.txt", tarfile.REGTYPE),
            ("sym", tarfile.SYMTYPE),
            ("hard", tarfile.LNKTYPE),
            ("dev", tarfile.CHRTYPE),
            ("fifo", tarfile.FIFOTYPE),
            ("../.hidden-escape", tarfile.REGTYPE),
            ("ok.txt", tarfile.REGTYPE),
        ]:
            info = tarfile.TarInfo(name)
            info.type = typ
            data = REPORT if typ == tarfile.REGTYPE else b""
            info.size = len(data)
            if typ in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = "../../etc/passwd"
            tf.addfile(info, io.BytesIO(data) if data else None)
    res = ingest_paths([archive])
    assert [r.id for r in res.reports] == ["ok"]
    reasons = _reasons(res)
    assert reasons == {
        "../up.txt": "unsafe archive member: path leaves the archive ('..'); not read",
        "/abs.txt": "unsafe archive member: absolute path; not read",
        "sym": "unsafe archive member: symbolic link (-> '../../etc/passwd'); not read",
        "hard": "unsafe archive member: hard link (-> '../../etc/passwd'); not read",
        "dev": "unsafe archive member: device, FIFO or socket; not read",
        "fifo": "unsafe archive member: device, FIFO or socket; not read",
        "../.hidden-escape": "unsafe archive member: path leaves the archive ('..'); not read",
    }
    assert all(r.source == str(archive) for r in res.rejects)


def test_unsafe_zip_members_are_rejects_and_plain_modes_are_read(tmp_path):
    archive = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../up.txt", REPORT)
        zf.writestr("C:\\windows.txt", REPORT)
        link = zipfile.ZipInfo("sym")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        fifo = zipfile.ZipInfo("fifo")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, "")
        bare = zipfile.ZipInfo("permissions_only.txt")  # no file-type bits: a regular file
        bare.external_attr = 0o644 << 16
        zf.writestr(bare, REPORT)
        zf.writestr("__MACOSX/._x.txt", b"resource fork")  # hidden: skipped, not a record
    res = ingest_paths([archive])
    assert [r.id for r in res.reports] == ["permissions_only"]
    assert {k: v.split(";")[0] for k, v in _reasons(res).items()} == {
        "../up.txt": "unsafe archive member: path leaves the archive ('..')",
        "C:\\windows.txt": "unsafe archive member: absolute path",
        "sym": "unsafe archive member: symbolic link",
        "fifo": "unsafe archive member: device, FIFO or socket",
    }


def test_cli_caps_flags_are_documented_and_applied(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    help_text = capsys.readouterr().out
    for flag, default in (
        ("--max-file-mb", "256"),
        ("--max-archive-mb", "4096"),
        ("--max-ratio", "200"),
    ):
        assert flag in help_text
        assert f"(default: {default})" in " ".join(help_text.split())
    archive = tmp_path / "a.zip"
    _zip(archive, [("ok.txt", REPORT), ("big.txt", 2 * MIB)])
    out = tmp_path / "out"
    assert (
        main(
            ["ingest", str(archive), "--out", str(out), "--max-file-mb", "1", "--max-ratio", "5000"]
        )
        == 0
    )
    rejects = (out / "rejects.jsonl").read_text()
    assert "file too large" in rejects and "--max-file-mb cap of 1 MiB" in rejects
    with pytest.raises(SystemExit):
        main(["ingest", str(archive), "--out", str(out), "--max-ratio", "0"])
    assert "must be positive" in capsys.readouterr().err


def test_caps_must_be_positive_from_python_too(tmp_path):
    with pytest.raises(InputError, match="max_file_bytes must be positive"):
        ingest_paths([tmp_path], max_file_bytes=0)
