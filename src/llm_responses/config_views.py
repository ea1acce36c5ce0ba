"""The parts of the settings each part of the service is built from, passed whole (not fanned out into
keyword arguments). No defaults of their own: the defaults live once, in ``config.Settings``.

The settings stay flat (``LLM_RESPONSES_WORKER_CONCURRENCY``, ``worker_concurrency = 16`` in TOML) because
deployments already set those names and DataForSEO-style flat keys read well in an environment; these views
group them for the part that uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """What ``tasks.service.TaskService`` needs: DataForSEO's limits and windows, and how holds price."""

    max_tasks_per_post: int
    live_timeout_seconds: float
    lease_seconds: float
    retention_seconds: float
    ready_window_seconds: float
    ready_limit: int
    hold_policy: Literal["worst_case", "flat"]
    search_tool: Literal["web_search", "web_search_preview"]
    reasoning_allowance: int
    batch: bool  # queued tasks go through the vendors' batch APIs where they have one (TASK_POST_BATCH)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int
    lease_seconds: float
    poll_seconds: float
    max_attempts: int
    retry_delay_seconds: float
    heartbeat_seconds: float  # how often a worker says it is alive (readiness, metrics)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    concurrency: int
    timeout_seconds: float
    max_attempts: int
    retry_horizon_seconds: float
    poll_seconds: float
    secret_cache_seconds: float


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """What the batcher (``batching/``) needs."""

    max_age_seconds: float  # a queued batch-lane task waits this long to be gathered, then goes anyway
    poll_seconds: float  # how often the batcher looks for tasks to gather and batches due a poll
    lease_seconds: float  # a submission, or a poll and its settlement, holds its batch this long at most


@dataclass(frozen=True, slots=True)
class TrackingConfig:
    """What the tracker's scheduler (``tracking/scheduler.py``) needs."""

    poll_seconds: float  # how often it looks for due runs, finished runs and digests
