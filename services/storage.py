"""Where photos live: a folder outside static/, behind a small interface that an
S3-compatible store could also implement."""

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

HELD = "held"  # photos read but not yet filed with a concern (services/held_photos.py)


class LocalStorage:
    def __init__(self, root: str):
        self.root = Path(root)

    @staticmethod
    def _checked(key: str) -> str:
        # Keys are made here, but a key from a URL must still never leave the folder.
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("bad storage key")
        return key

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / self._checked(key)

    def _put(self, path_of: Callable[[str], Path], data: bytes, extension: str) -> str:
        key = f"{secrets.token_urlsafe(18)}.{extension}"
        path = path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return key

    @staticmethod
    def _get(path_of: Callable[[str], Path], key: str) -> bytes | None:
        try:
            return path_of(key).read_bytes()
        except (OSError, ValueError):
            return None

    def check(self) -> None:
        """Raise (OSError) unless a photo could be stored now: the folder exists and takes a
        file. Every store has this method; readiness (/readyz) calls it."""
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".ready-{secrets.token_hex(4)}"
        try:
            probe.write_bytes(b"")
        finally:
            probe.unlink(missing_ok=True)

    def save(self, data: bytes, extension: str) -> str:
        return self._put(self._path, data, extension)

    def read(self, key: str) -> bytes | None:
        return self._get(self._path, key)

    # --- held photos: read, not yet part of a concern; swept after a while ----------------

    def _held_path(self, key: str) -> Path:
        return self.root / HELD / self._checked(key)

    def hold(self, data: bytes, extension: str) -> str:
        return self._put(self._held_path, data, extension)

    def read_held(self, key: str) -> bytes | None:
        return self._get(self._held_path, key)

    def sweep_held(self, older_than_seconds: float) -> int:
        """Delete held photos older than that; returns how many went."""
        cutoff = time.time() - older_than_seconds
        gone = 0
        try:
            entries = list(os.scandir(self.root / HELD))
        except OSError:
            return 0
        for entry in entries:
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    gone += 1
            except OSError:
                pass  # another worker swept it first
        return gone
