"""Token counts for an upstream that does not report usage (some gateways and proxies), with tiktoken, offline.

tiktoken downloads its BPE files on first use, which a machine without internet cannot do. The package
``quicktok-v1`` ships the same vocabularies (o200k_base, cl100k_base) in a binary layout — a u32 count, then
per token a u16 length, the bytes and a u32 rank — that converts byte-exactly into tiktoken's cache file.
Each converted file is checked against the sha256 tiktoken itself expects before it is written, so a
different vocabulary can never slip in. Models tiktoken does not know are counted with o200k_base: an
estimate, logged as such, which beats charging nothing.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import logging
import os
import struct
import tempfile
import threading
import uuid
from dataclasses import replace
from functools import cache
from pathlib import Path

import tiktoken

from llm_responses.core import LlmRequest, LlmResult

log = logging.getLogger(__name__)

BPE_FILES = {  # tiktoken's own URLs and sha256s (tiktoken_ext/openai_public.py)
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "cl100k.vocab",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "o200k.vocab",
    ),
}
FALLBACK_ENCODING = "o200k_base"
_install_lock = threading.Lock()


def tiktoken_cache_dir() -> Path:
    """Where tiktoken looks (its own rule: TIKTOKEN_CACHE_DIR, DATA_GYM_CACHE_DIR, else the temp dir)."""
    configured = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "data-gym-cache"


def convert_quicktok_vocab(raw: bytes) -> bytes:
    """quicktok's binary vocabulary → tiktoken's ``base64(token) rank`` lines."""
    (count,) = struct.unpack_from("<I", raw, 0)
    offset = 4
    lines = []
    for _ in range(count):
        (length,) = struct.unpack_from("<H", raw, offset)
        token = raw[offset + 2 : offset + 2 + length]
        (rank,) = struct.unpack_from("<I", raw, offset + 2 + length)
        offset += 2 + length + 4
        lines.append(base64.b64encode(token) + b" " + str(rank).encode())
    if offset != len(raw):
        raise ValueError("quicktok vocabulary has trailing bytes: not the expected layout")
    return b"\n".join(lines) + b"\n"


def install_offline_bpe(cache_dir: Path | None = None) -> list[str]:
    """Put the bundled vocabularies into tiktoken's cache where missing; returns the encodings installed."""
    spec = importlib.util.find_spec("quicktok")
    if spec is None or spec.origin is None:
        return []
    data = Path(spec.origin).parent / "data"
    target = cache_dir or tiktoken_cache_dir()
    installed = []
    with _install_lock:
        for name, (url, sha256, vocab) in BPE_FILES.items():
            path = target / hashlib.sha1(url.encode()).hexdigest()
            if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
                continue
            content = convert_quicktok_vocab((data / vocab).read_bytes())
            if hashlib.sha256(content).hexdigest() != sha256:
                log.warning("bundled %s vocabulary does not match tiktoken's hash; not installed", name)
                continue
            target.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
            tmp.write_bytes(content)
            tmp.replace(path)
            installed.append(name)
    return installed


@cache
def encoding_for(model: str) -> tiktoken.Encoding:
    install_offline_bpe()
    try:
        return tiktoken.encoding_for_model(model)
    except KeyError:
        log.info("no tiktoken encoding for %s: token counts are %s estimates", model, FALLBACK_ENCODING)
        return tiktoken.get_encoding(FALLBACK_ENCODING)


def count_tokens(model: str, text: str) -> int:
    return len(encoding_for(model).encode(text, disallowed_special=()))


def with_counted_usage(result: LlmResult, request: LlmRequest) -> LlmResult:
    """``result`` with input/output tokens counted from the texts, for an upstream that reported none."""
    prompt = "\n".join(
        [request.system_message or "", *(text for _, text in request.history), request.user_prompt]
    )
    answer = "\n".join([*result.reasoning_summaries, *(part.text for part in result.parts)])
    return replace(
        result,
        input_tokens=count_tokens(request.model, prompt),
        output_tokens=count_tokens(request.model, answer),
    )
