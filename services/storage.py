"""Where photos live: a folder outside static/, behind a small interface that an
S3-compatible store could also implement."""

import os
import secrets
from pathlib import Path


class LocalStorage:
    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        # Keys are made here, but a key from a URL must still never leave the folder.
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    def save(self, data: bytes, extension: str) -> str:
        key = f"{secrets.token_urlsafe(18)}.{extension}"
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return key

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except (OSError, ValueError):
            return None
