"""The backup archive: one ``.tar.gz`` whose first member, ``manifest.json``, lists every other member with its
SHA-256 and size, the schema revision and the database kind. ``read`` checks all of it — complete, unaltered,
from a schema this code knows — into a staging directory before a restore writes anything.
"""
import hashlib
import json
import tarfile
import zlib
from pathlib import Path, PurePosixPath

FORMAT = "govproc-backup/1"
MANIFEST = "manifest.json"
_CHUNK = 1024 * 1024


class ArchiveError(ValueError):
    """The archive is refused; nothing has been written to the target."""


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write(archive, staging, manifest):
    """Pack every file under ``staging`` with ``manifest`` (its ``files`` filled in here) into ``archive``,
    through a temporary name so a half-written archive never carries the final name."""
    staging = Path(staging)
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    manifest = {**manifest, "format": FORMAT,
                "files": {p.relative_to(staging).as_posix(): {"sha256": sha256_of(p), "size": p.stat().st_size}
                          for p in files}}
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    archive = Path(archive)
    partial = archive.with_name(archive.name + ".part")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(staging / MANIFEST, arcname=MANIFEST)
        for path in files:
            tar.add(path, arcname=path.relative_to(staging).as_posix())
    partial.replace(archive)
    return manifest


def _safe_name(name):
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArchiveError(f"归档中的文件名不安全：{name} / unsafe member name")
    return path.as_posix()


def read(archive, staging):
    """Unpack ``archive`` into ``staging`` and check it whole. Returns the manifest; raises ArchiveError."""
    staging = Path(staging)
    if not Path(archive).is_file():
        raise ArchiveError(f"归档文件不存在：{archive}")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest, seen = None, set()
            for member in tar:
                name = _safe_name(member.name)
                if not member.isfile():
                    raise ArchiveError(f"归档中含有非普通文件：{name}")
                if manifest is None:
                    if name != MANIFEST:
                        raise ArchiveError("归档缺少清单（manifest.json 应为第一个文件），不是本系统的备份")
                    manifest = _manifest(tar.extractfile(member).read())
                    continue
                if name not in manifest["files"] or name in seen:
                    raise ArchiveError(f"归档中有清单未列出的文件：{name}")
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as source, open(target, "wb") as out:
                    for chunk in iter(lambda: source.read(_CHUNK), b""):
                        out.write(chunk)
                seen.add(name)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveError(f"归档不完整或已损坏（可能被截断）：{exc} / truncated or damaged archive") from None
    if manifest is None:
        raise ArchiveError("归档为空，不是本系统的备份")
    missing = sorted(set(manifest["files"]) - seen)
    if missing:
        raise ArchiveError(f"归档不完整（可能被截断），缺少：{', '.join(missing[:5])}")
    for name, expected in manifest["files"].items():
        path = staging / name
        if path.stat().st_size != expected["size"] or sha256_of(path) != expected["sha256"]:
            raise ArchiveError(f"校验值不符：{name} 与清单记录的 SHA-256 不一致，归档已损坏或被改动 / checksum mismatch")
    return manifest


def _manifest(raw):
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArchiveError("归档清单无法读取") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"不支持的归档格式：{manifest.get('format') if isinstance(manifest, dict) else '?'}")
    if not isinstance(manifest.get("files"), dict) or not manifest.get("revision") or not manifest.get("dialect"):
        raise ArchiveError("归档清单不完整")
    for name in manifest["files"]:
        _safe_name(name)
    return manifest
