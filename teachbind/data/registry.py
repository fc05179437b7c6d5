"""The registry of real data files: where each comes from, its checksum, and how to get a verified local copy.
Introduced in Chapter 1 (``nbs/01_sequences.ipynb``); every chapter reads its data through it.

Every file is named by its path in the data mirror (``deepbind_encode_chipseq/..._B.seq.gz``). :func:`fetch`
returns a local path to a verified copy, looking in this order:

1. the mirror folder ``$TEACHBIND_DATA_DIR`` (CI points it at ``../shared/data``), used in place, never modified;
2. the cache folder ``$TEACHBIND_CACHE_DIR`` (default: the user cache, e.g. ``~/.cache/teachbind``);
3. the file's upstream URL, a raw GitHub address at a pinned commit, downloaded into the cache with pooch.

A file whose sha256 differs from the registry's is never used: :class:`ChecksumError` names it and both hashes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from teachbind.course import dependencies

MIRROR_ENV = "TEACHBIND_DATA_DIR"
CACHE_ENV = "TEACHBIND_CACHE_DIR"


class ChecksumError(ValueError):
    """A data file's sha256 is not the registry's: the file is corrupt, truncated or a different version."""


class DataNotFoundError(FileNotFoundError):
    """A registered data file is neither in the mirror nor in the cache and could not be downloaded."""


@dataclass(frozen=True)
class Entry:
    """One registered file: mirror ``path``, its ``sha256``, upstream ``url`` (may be empty) and, when the
    upstream file is the uncompressed form of a gzipped mirror file, the upstream's own ``url_sha256``."""

    path: str
    sha256: str
    url: str
    url_sha256: str


@lru_cache(maxsize=1)
def registered() -> dict[str, Entry]:
    """Every registered file, by mirror path."""
    lines = files("teachbind.data").joinpath("registry.tsv").read_text().splitlines()[1:]
    entries = (Entry(*line.split("\t")) for line in lines if line)
    return {e.path: e for e in entries}


def entry(path: str) -> Entry:
    """The registry entry for ``path``; ``KeyError`` listing what the folder does hold if it is not registered."""
    try:
        return registered()[path]
    except KeyError:
        folder = path.split("/")[0]
        known = sorted(p for p in registered() if p.startswith(folder + "/"))[:5]
        hint = f"; {folder}/ holds e.g. {', '.join(known)}" if known else ""
        raise KeyError(f"{path!r} is not a registered data file{hint}") from None


def sha256sum(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mirror_dir() -> Path | None:
    """The mirror folder from ``$TEACHBIND_DATA_DIR``, or ``None`` when it is not set."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser().resolve() if value else None


def cache_dir() -> Path:
    """The download cache: ``$TEACHBIND_CACHE_DIR``, else the user cache folder for teachbind."""
    value = os.environ.get(CACHE_ENV)
    if value:
        return Path(value).expanduser()
    import pooch

    return Path(pooch.os_cache("teachbind"))


def _verified(file: Path, expected: str) -> Path:
    actual = sha256sum(file)
    if actual != expected:
        raise ChecksumError(
            f"{file} has sha256 {actual}, but the registry expects {expected}; the file is corrupt or a "
            f"different version and was not used. Replace it with a fresh copy (it was left untouched)."
        )
    return file


def _cached_name(e: Entry) -> str:
    return e.path.removesuffix(".gz") if e.url_sha256 else e.path


def local_copy(path: str) -> tuple[Path | None, str]:
    """Where a local copy of registered file ``path`` is, unverified: ``(file, "mirror" | "cache")``, or
    ``(None, "missing")``."""
    e = entry(path)
    mirror = mirror_dir()
    if mirror is not None and (mirror / e.path).is_file():
        return mirror / e.path, "mirror"
    cached = cache_dir() / _cached_name(e)
    return (cached, "cache") if cached.is_file() else (None, "missing")


def verify(path: str) -> Path:
    """The local copy of registered file ``path`` after checking its sha256; :class:`ChecksumError` if it differs,
    :class:`DataNotFoundError` if there is none. Nothing is downloaded or changed."""
    e = entry(path)
    file, where = local_copy(path)
    if file is None:
        raise DataNotFoundError(f"{path}: no local copy in the mirror or the cache; `teachbind data fetch {path}` "
                                f"gets one")
    return _verified(file, e.url_sha256 if where == "cache" and e.url_sha256 else e.sha256)


def fetch(path: str, *, progress: bool = False) -> Path:
    """Local path of a verified copy of the registered file ``path`` (mirror, then cache, then download)."""
    e = entry(path)
    dependencies.log("data", e.path)
    mirror = mirror_dir()
    if mirror is not None and (mirror / e.path).is_file():
        return _verified(mirror / e.path, e.sha256)
    cached = cache_dir() / _cached_name(e)
    expected = e.url_sha256 or e.sha256
    if cached.is_file() and sha256sum(cached) == expected:
        return cached
    if mirror is None:
        where = f"{MIRROR_ENV} is not set"
    elif not mirror.is_dir():
        where = f"{MIRROR_ENV}={mirror} is not a folder (seen from {Path.cwd()})"
    else:
        where = f"{MIRROR_ENV}={mirror} has no {e.path}"
    if not e.url:
        raise DataNotFoundError(
            f"{e.path} has no download address (it was generated for the book's data folder) and {where}: "
            f"set {MIRROR_ENV} to a folder holding {e.path} (sha256 {e.sha256})."
        )
    return _download(e, cached, expected, where, progress)


def _download(e: Entry, cached: Path, expected: str, where: str, progress: bool) -> Path:
    import pooch
    import requests

    try:
        return Path(pooch.retrieve(e.url, known_hash=f"sha256:{expected}", fname=cached.name,
                                   path=cached.parent, progressbar=progress))
    except ValueError as err:
        raise ChecksumError(
            f"the download of {e.path} from {e.url} does not have the expected sha256 {expected}; it was "
            f"discarded ({err})"
        ) from None
    except (requests.exceptions.RequestException, OSError) as err:
        raise DataNotFoundError(
            f"cannot get {e.path}: {where}, and downloading {e.url} failed ({type(err).__name__}). Download "
            f"that URL into {cached.parent}/ or set {MIRROR_ENV} to a folder holding {e.path}."
        ) from None


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a local file as text, decompressing it if it is gzip (recognised by its magic bytes)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")
