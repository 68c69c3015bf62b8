"""A downloaded Reporting Data Export file, read as it streams from disk (reporting.py downloads it).

Intercom documents the format loosely ("compressed files (.tgz format)"; clients in the wild read one CSV, some
after gunzip): plain CSV, gzip of a CSV and a (gzipped) tar of CSVs are told apart by their first bytes.
"""
import codecs
import csv
import gzip
import io
import tarfile

from tap_intercom.errors import ExportError


# ---- the file -----------------------------------------------------------------------------------------------

def csv_files(spool, where):
    """[(header, rows)] of a downloaded export, read as it streams from `spool`: plain CSV, gzip of a CSV, or a
    (gzipped) tar of CSVs, told apart by their first bytes. Anything else raises ExportError."""
    spool.seek(0)
    head = spool.read(512)
    spool.seek(0)
    if not head:
        return  # nothing exported (a window without rows)
    if head[:2] == b"\x1f\x8b":
        try:
            inner = gzip.GzipFile(fileobj=spool).read(512)
        except (OSError, EOFError) as exc:
            raise ExportError(f"{where} is a broken gzip file ({exc})") from None
        spool.seek(0)
        if _is_tar(inner):
            yield from _tar_members(spool, "r:gz", where)
        else:
            yield from _csv(gzip.GzipFile(fileobj=spool), where)
    elif _is_tar(head):
        yield from _tar_members(spool, "r:", where)
    elif _looks_like_text(head):
        yield from _csv(spool, where)
    else:
        raise ExportError(f"{where} is neither CSV, gzip nor tar.gz (it begins {head[:16]!r})")


def _is_tar(head):
    return len(head) >= 262 and head[257:262] == b"ustar"


def _looks_like_text(head):
    if b"\0" in head or head.lstrip()[:1] in (b"{", b"[", b"<"):  # JSON or HTML (an error page) is not an export
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _tar_members(spool, mode, where):
    try:
        with tarfile.open(fileobj=spool, mode=mode) as archive:
            for member in archive:
                if member.isfile() and not member.name.rsplit("/", 1)[-1].startswith("."):
                    yield from _csv(archive.extractfile(member), f"{where} ({member.name})")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ExportError(f"{where} is a broken tar archive ({exc})") from None


def _csv(binary, where):
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            return
        yield header, _rows(reader, where)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        raise ExportError(f"{where} is not readable CSV ({type(exc).__name__}: {exc})") from None
    finally:
        try:
            text.detach()  # the file (and the archive around it) stays open for the next member, the next pass
        except ValueError:  # already closed: an error left the export
            pass


def _rows(reader, where):
    try:
        yield from reader
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        raise ExportError(f"{where} is not readable CSV ({type(exc).__name__}: {exc})") from None
