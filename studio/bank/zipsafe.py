"""Reading zip archives someone else made, without trusting them.

:class:`SafeZip` refuses, before extracting anything: member names that could escape a folder
(``..``, absolute paths, drive letters, backslashes, NUL), duplicate names, encrypted members,
symbolic links, too many members, members whose declared size is over a per-file cap or whose
total is over a total cap, and compression ratios typical of zip bombs. Reading a member then
streams it with a byte limit, so a member whose header lies about its size is stopped anyway.
Nothing is ever extracted to disk by member name: callers get bytes and decide where they go.

Thread contract: a SafeZip is used by one thread at a time.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from studio.bank.records import BankError

_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 4096
    max_member_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed / compressed, for members larger than ratio_floor
    ratio_floor: int = 1024 * 1024


def check_member_name(name: str) -> str:
    """``name`` if it is a plain relative path with forward slashes; BankError otherwise."""
    if not name or "\x00" in name:
        raise BankError("the pack holds a member with an empty or invalid name")
    if "\\" in name:
        raise BankError(f"the pack holds an unsafe path {name!r} (backslashes are not allowed)")
    if name.startswith("/") or _DRIVE.match(name):
        raise BankError(f"the pack holds an unsafe absolute path {name!r}")
    if any(part == ".." for part in name.split("/")):
        raise BankError(f"the pack holds an unsafe path {name!r} that points outside the pack")
    return name


class SafeZip:
    """A zip archive opened for reading with the checks in the module docstring."""

    def __init__(self, path: str | Path, limits: ZipLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or ZipLimits()
        label = self.path.name
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise BankError(f"{self.path} does not exist") from None
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise BankError(f"{label} is not a voice pack (not a readable zip archive: {exc})") from None
        try:
            self._members = self._check()
        except BaseException:
            self._zip.close()
            raise

    def _check(self) -> dict[str, zipfile.ZipInfo]:
        limits = self.limits
        infos = self._zip.infolist()
        label = self.path.name
        if len(infos) > limits.max_members:
            raise BankError(
                f"{label} holds {len(infos)} members; a voice pack may hold at most {limits.max_members}"
            )
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = check_member_name(info.filename)
            if name in members:
                raise BankError(f"{label} holds {name!r} twice; the pack is malformed")
            if info.flag_bits & 0x1:
                raise BankError(f"{label}: {name} is encrypted; voice packs are not encrypted")
            mode = info.external_attr >> 16
            if mode and stat.S_ISLNK(mode):
                raise BankError(f"{label}: {name} is a symbolic link; voice packs hold plain files only")
            if info.is_dir():
                continue
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise BankError(f"{label}: {name} uses an unsupported compression method")
            if info.file_size > limits.max_member_bytes:
                raise BankError(
                    f"{label}: {name} would expand to {info.file_size / 2**20:,.0f} MiB; a member may be at most "
                    f"{limits.max_member_bytes / 2**20:,.0f} MiB (a zip bomb?)"
                )
            if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                raise BankError(
                    f"{label}: {name} is compressed {info.file_size / max(info.compress_size, 1):,.0f} to 1, "
                    "far beyond any audio (a zip bomb?)"
                )
            total += info.file_size
            if total > limits.max_total_bytes:
                raise BankError(
                    f"{label} would expand to more than {limits.max_total_bytes / 2**20:,.0f} MiB; refused (a zip bomb?)"
                )
            members[name] = info
        return members

    def names(self) -> list[str]:
        return list(self._members)

    def has(self, name: str) -> bool:
        return name in self._members

    def size(self, name: str) -> int:
        return self._members[name].file_size

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The bytes of member ``name``, streamed; refuses more than its declared size or ``limit``."""
        info = self._members.get(name)
        if info is None:
            raise BankError(f"{self.path.name} has no member {name!r}; the pack is incomplete")
        cap = min(info.file_size, limit if limit is not None else info.file_size)
        if info.file_size > cap:
            raise BankError(
                f"{self.path.name}: {name} is {info.file_size:,} bytes; at most {cap:,} are allowed here"
            )
        chunks: list[bytes] = []
        got = 0
        try:
            with self._zip.open(info) as handle:
                while True:
                    chunk = handle.read(_CHUNK)
                    if not chunk:
                        break
                    got += len(chunk)
                    if got > cap:
                        raise BankError(f"{self.path.name}: {name} expands beyond its declared size; refused")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise BankError(f"{self.path.name}: {name} is damaged ({exc})") from None
        if got != info.file_size:
            raise BankError(f"{self.path.name}: {name} is damaged (size does not match its header)")
        return b"".join(chunks)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
