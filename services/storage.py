"""Where photos live: a folder outside static/ (the default), or an S3-compatible object
store (Aliyun OSS, Tencent COS, MinIO, Ceph RGW) when several app servers share them.

Both backends keep the same two areas: photos filed with a concern (`save`, `read`, `put`,
`delete`, `keys`) and held photos, read but not yet filed (`hold`, `read_held`,
`sweep_held`; services/held_photos.py). A missing key reads as None; a store that cannot
be reached raises StorageUnavailable (an OSError) after bounded timeouts and retries, so
that callers show a clear page instead of hanging. `check()` is the readiness probe.
"""

import mimetypes
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from flask import current_app

HELD = "held"  # photos read but not yet filed with a concern (services/held_photos.py)
PHOTOS = "photos"  # the object store's area for filed photos (the folder keeps its old layout)


class StorageUnavailable(OSError):
    """The store did not answer, or refused us (credentials, a missing bucket)."""


class Storage(Protocol):
    def save(self, data: bytes, extension: str) -> str: ...
    def put(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes | None: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> Iterator[str]: ...
    def iter_photos(self) -> Iterator[tuple[str, int]]: ...
    def hold(self, data: bytes, extension: str) -> str: ...
    def read_held(self, key: str) -> bytes | None: ...
    def sweep_held(self, older_than_seconds: float, *, now: float | None = None) -> int: ...
    def check(self) -> None: ...


def checked_key(key: str) -> str:
    # Keys are made here, but a key from a URL (or a backup) must still never leave its area.
    if not key or "/" in key or "\\" in key or key.startswith(".") or len(key) > 80:
        raise ValueError("bad storage key")
    return key


def new_key(extension: str) -> str:
    return f"{secrets.token_urlsafe(18)}.{extension}"


class LocalStorage:
    def __init__(self, root: str):
        self.root = Path(root)

    _checked = staticmethod(checked_key)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / self._checked(key)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def _put(self, path_of: Callable[[str], Path], data: bytes, extension: str) -> str:
        key = new_key(extension)
        self._write(path_of(key), data)
        return key

    @staticmethod
    def _get(path_of: Callable[[str], Path], key: str) -> bytes | None:
        try:
            return path_of(key).read_bytes()
        except (OSError, ValueError):
            return None

    def save(self, data: bytes, extension: str) -> str:
        return self._put(self._path, data, extension)

    def put(self, key: str, data: bytes) -> None:
        """Write a photo under a key made elsewhere (a restored backup)."""
        self._write(self._path(key), data)

    def read(self, key: str) -> bytes | None:
        return self._get(self._path, key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Every filed photo's key (not the held ones)."""
        return (key for key, _size in self.iter_photos())

    def check(self) -> None:
        """Raises StorageUnavailable unless a file can be written in the folder."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".check-"):
                pass
        except OSError as exc:
            raise StorageUnavailable(f"upload folder not writable: {exc}") from exc

    # --- the whole store, for backups (services/backup.py) -----------------------------

    def iter_photos(self) -> Iterator[tuple[str, int]]:
        """Every filed photo as (key, size in bytes), held photos left out."""
        try:
            folders = [e for e in os.scandir(self.root) if e.is_dir() and len(e.name) == 2]  # not HELD
            folders.sort(key=lambda e: e.name)
        except OSError:
            return
        for folder in folders:
            for entry in sorted(os.scandir(folder.path), key=lambda e: e.name):
                # A ".part" file is a save still being written (or one a crash cut short).
                if entry.is_file() and not entry.name.endswith(".part") and not entry.name.startswith("."):
                    yield entry.name, entry.stat().st_size

    def local_path(self, key: str) -> Path:
        """The file behind a key: a backup folder (a LocalStorage) hard-links the photos
        the previous backup already holds instead of copying them again."""
        return self._path(key)

    # --- held photos: read, not yet part of a concern; swept after a while ----------------

    def _held_path(self, key: str) -> Path:
        return self.root / HELD / self._checked(key)

    def hold(self, data: bytes, extension: str) -> str:
        return self._put(self._held_path, data, extension)

    def read_held(self, key: str) -> bytes | None:
        return self._get(self._held_path, key)

    def sweep_held(self, older_than_seconds: float, *, now: float | None = None) -> int:
        """Delete held photos older than that; returns how many went."""
        cutoff = (time.time() if now is None else now) - older_than_seconds
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


# --- S3-compatible object store ---------------------------------------------------------


@lru_cache(maxsize=8)
def _s3_client(
    endpoint_url: str,
    region: str,
    access_key: str,
    secret_key: str,
    path_style: bool,
    timeouts: tuple[float, float, int],
) -> Any:
    # One client per process and setting (making one costs tens of milliseconds; they are
    # thread-safe). Imported here: a folder-only site never loads boto3.
    import boto3
    from botocore.config import Config as BotoConfig

    connect, read, retries = timeouts
    config = BotoConfig(
        connect_timeout=connect,
        read_timeout=read,
        # "standard" retries throttling and 5xx answers too; a store that is down costs at
        # most (retries + 1) × the timeouts, not a hung worker.
        retries={"max_attempts": retries, "mode": "standard"},
        s3={"addressing_style": "path" if path_style else "virtual"},
        signature_version="s3v4",
        # Checksums only where the API demands them: OSS, COS and older MinIO/Ceph refuse
        # the newer default (aws-chunked uploads with trailing checksums).
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        # Empty: boto3's own chain (environment, instance role) finds them.
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )


class S3Storage:
    """Objects `<prefix>photos/<key>` and `<prefix>held/<key>` in one private bucket."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str = "",
        region: str = "",
        access_key: str = "",
        secret_key: str = "",
        prefix: str = "",
        path_style: bool = False,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        retries: int = 2,
    ):
        self.bucket = bucket
        self.prefix = prefix
        settings = (endpoint_url, region, access_key, secret_key, path_style)
        self._client = _s3_client(*settings, (connect_timeout, read_timeout, retries))
        # The readiness probe answers quickly or says "not ready": one try, short timeouts.
        self._probe = _s3_client(*settings, (min(connect_timeout, 2.0), min(read_timeout, 2.0), 0))

    def _name(self, area: str, key: str) -> str:
        return f"{self.prefix}{area}/{checked_key(key)}"

    def _call(self, operation: str, **kwargs) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise KeyError(kwargs.get("Key")) from exc
            raise StorageUnavailable(f"object store refused {operation}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"object store unreachable ({operation}): {exc}") from exc

    def _put_object(self, name: str, data: bytes) -> None:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._call("put_object", Key=name, Body=data, ContentType=content_type)

    def _get_object(self, name: str) -> bytes | None:
        try:
            return self._call("get_object", Key=name)["Body"].read()
        except KeyError:
            return None

    def _objects_in(self, area: str) -> Iterator[tuple[str, dict]]:
        start = f"{self.prefix}{area}/"
        token: dict[str, str] = {}
        while True:
            page = self._call("list_objects_v2", Prefix=start, **token)
            for obj in page.get("Contents", ()):
                yield obj["Key"][len(start) :], obj
            if not page.get("IsTruncated"):
                return
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def save(self, data: bytes, extension: str) -> str:
        key = new_key(extension)
        self._put_object(self._name(PHOTOS, key), data)
        return key

    def put(self, key: str, data: bytes) -> None:
        self._put_object(self._name(PHOTOS, key), data)

    def read(self, key: str) -> bytes | None:
        try:
            name = self._name(PHOTOS, key)
        except ValueError:
            return None
        return self._get_object(name)

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=self._name(PHOTOS, key))  # a missing key is no error

    def keys(self) -> Iterator[str]:
        return (key for key, _size in self.iter_photos())

    def iter_photos(self) -> Iterator[tuple[str, int]]:
        for key, obj in self._objects_in(PHOTOS):
            yield key, obj["Size"]

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._probe.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"object store not ready: {exc}") from exc

    def hold(self, data: bytes, extension: str) -> str:
        key = new_key(extension)
        self._put_object(self._name(HELD, key), data)
        return key

    def read_held(self, key: str) -> bytes | None:
        try:
            name = self._name(HELD, key)
        except ValueError:
            return None
        return self._get_object(name)

    def sweep_held(self, older_than_seconds: float, *, now: float | None = None) -> int:
        """Delete held photos last modified before that; returns how many went. (A bucket
        lifecycle rule on the held/ prefix does the same without the app: README.)"""
        cutoff = (time.time() if now is None else now) - older_than_seconds
        old = [key for key, obj in self._objects_in(HELD) if obj["LastModified"].timestamp() < cutoff]
        for start in range(0, len(old), 1000):  # DeleteObjects takes 1,000 at a time
            batch = [{"Key": f"{self.prefix}{HELD}/{key}"} for key in old[start : start + 1000]]
            self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
        return len(old)


def configured() -> Storage:
    """The store the running app is configured with (views and CLI commands alike)."""

    return open_storage(current_app.config)


def open_storage(config: Mapping[str, Any]) -> Storage:
    """The store the configuration names (STORAGE_BACKEND, checked in config.py)."""
    if config.get("STORAGE_BACKEND", "local") == "s3":
        return S3Storage(
            config["S3_BUCKET"],
            endpoint_url=config.get("S3_ENDPOINT_URL", ""),
            region=config.get("S3_REGION", ""),
            access_key=config.get("S3_ACCESS_KEY_ID", ""),
            secret_key=config.get("S3_SECRET_ACCESS_KEY", ""),
            prefix=config.get("S3_PREFIX", ""),
            path_style=bool(config.get("S3_PATH_STYLE", False)),
            connect_timeout=float(config.get("S3_CONNECT_TIMEOUT", 2.0)),
            read_timeout=float(config.get("S3_READ_TIMEOUT", 5.0)),
            retries=int(config.get("S3_RETRIES", 2)),
        )
    return LocalStorage(config["UPLOAD_FOLDER"])
