"""A downloaded archive of CSV files, read member by member as it streams from a spooled file on disk.

Intercom's content data export is documented as "a gzipped folder containing multiple CSVs" (2.6 docs), opened as
a ZIP by the production clients that read it, and as a "gzipped CSV" by the 2.16 spec: ZIP (`PK`), gzip (`1f 8b`,
around a tar, a ZIP or one CSV), tar (`ustar` at byte 257) and plain CSV are told apart by their bytes, never by a
header or a name. A ZIP is read from its directory at the end of the file, so it needs the file on disk (random
access); a gzip is inflated into a second temporary file first, for the same reason. Nothing is held whole in
memory: each member is decompressed and parsed as CSV row by row.
"""
import codecs
import csv
import gzip
import io
import shutil
import tarfile
import tempfile
import zipfile
import zlib

from tap_intercom.errors import ExportError

_BROKEN = (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, ValueError)


def tables(spool, where):
    """(member name or None, header, rows) for each CSV of the archive in `spool` (a binary file on disk).
    `rows` is an iterator of lists of text, valid until the next table is asked for."""
    spool.seek(0)
    head = spool.read(512)
    spool.seek(0)
    if not head:
        return
    if head[:2] == b"\x1f\x8b":
        name = _gzip_name(head)
        with tempfile.TemporaryFile() as inflated:
            try:
                with gzip.GzipFile(fileobj=spool) as packed:
                    shutil.copyfileobj(packed, inflated, 1 << 20)
            except _BROKEN as exc:
                raise ExportError(f"{where} is a broken gzip file ({exc})") from None
            inflated.seek(0)
            inner = inflated.read(512)
            if inner[:2] == b"PK" or _is_tar(inner):
                yield from tables(inflated, where)
            elif inner:
                inflated.seek(0)
                yield from _table(inflated, name, where)
    elif head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        yield from _zip_members(spool, where)
    elif _is_tar(head):
        yield from _tar_members(spool, where)
    elif _looks_like_text(head):
        yield from _table(spool, None, where)
    else:
        raise ExportError(f"{where} is neither a ZIP, gzip or tar archive nor CSV (it begins {head[:16]!r})")


def _is_tar(head):
    return len(head) >= 262 and head[257:262] == b"ustar"


def _looks_like_text(head):
    if b"\0" in head or head.lstrip()[:1] in (b"{", b"[", b"<"):  # JSON or HTML (an error page) is no export
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _gzip_name(head):
    """The original file name a gzip header may carry (FNAME, RFC 1952), else None."""
    flags, at = head[3], 10
    if flags & 4:  # FEXTRA
        if len(head) < 12:
            return None
        at += 2 + int.from_bytes(head[10:12], "little")
    if not flags & 8:
        return None
    end = head.find(b"\0", at)
    return head[at:end].decode("latin-1") if end > at else None


def _visible(name):
    base = name.rsplit("/", 1)[-1]
    return base and not base.startswith(".") and "__MACOSX" not in name


def _zip_members(spool, where):
    try:
        archive = zipfile.ZipFile(spool)
        for info in archive.infolist():
            if not info.is_dir() and _visible(info.filename):
                with archive.open(info) as member:
                    yield from _table(member, info.filename, where)
    except _BROKEN as exc:
        raise ExportError(f"{where} is a broken ZIP archive ({exc})") from None


def _tar_members(spool, where):
    try:
        with tarfile.open(fileobj=spool, mode="r:") as archive:
            for member in archive:
                if member.isfile() and _visible(member.name):
                    yield from _table(archive.extractfile(member), member.name, where)
    except _BROKEN as exc:
        raise ExportError(f"{where} is a broken tar archive ({exc})") from None


def _table(binary, name, where):
    """One CSV, parsed as CSV (quoted cells hold commas, quotes and line breaks)."""
    where = f"{where} ({name})" if name else where
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is not None:
            yield name, [column.strip() for column in header], _rows(reader, where)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(f"{where} is not readable CSV ({type(exc).__name__}: {exc})") from None
    finally:
        try:
            text.detach()  # the archive stays open for its next member
        except ValueError:
            pass


def _rows(reader, where):
    try:
        yield from reader
    except (csv.Error, *_BROKEN) as exc:  # a cell that is no UTF-8, a member that fails to inflate
        raise ExportError(f"{where} is not readable CSV ({type(exc).__name__}: {exc})") from None
