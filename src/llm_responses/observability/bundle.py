"""One process's observability, built once by ``composition`` and handed to the parts that record."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llm_responses.errors import ConfigError
from llm_responses.observability.metrics import Metrics, Sampler, multiprocess

if TYPE_CHECKING:
    from llm_responses.observability.tracing import Tracing


@dataclass
class Observability:
    metrics: Metrics = field(default_factory=Metrics)
    tracing: Tracing | None = None
    sampler: Sampler = field(default_factory=Sampler)

    @classmethod
    def create(cls, *, tracing: bool, genai: Mapping[str, tuple[str, str]]) -> Observability:
        """Metrics always; traces when ``tracing`` is on (and ``OTEL_SDK_DISABLED`` is not): only then is
        the OpenTelemetry SDK imported. ``genai``: see ``Tracing``."""
        if not tracing or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls()
        try:
            from llm_responses.observability.tracing import Tracing
        except ImportError as exc:
            raise ConfigError(
                "LLM_RESPONSES_TRACING needs OpenTelemetry: pip install 'llm-responses[otel]'"
            ) from exc
        return cls(tracing=Tracing.from_environment(genai))

    def close(self) -> None:
        """Flush the spans; in multiprocess mode, drop this process's live gauges from the shared files."""
        if self.tracing is not None:
            self.tracing.shutdown()
        if multiprocess():
            from prometheus_client import multiprocess as shared

            shared.mark_process_dead(os.getpid())
