"""Daily digests: once a project's local day has ended, one message listing that day's alerts goes to each
of its digest webhooks (``DigestTarget.webhooks`` with ``digest`` set) through the delivery queue.

The tracker's loop calls ``Digests.send_due`` about once a minute, in every process. Only the day that
ended last is looked at (the service down a whole day sends no late digest for it). Recording a digest is
once per project and day by the alerts' dedupe constraint (``store/alert_deliveries.py``); this class only
saves database work: a day found settled (its digest recorded, or no alerts in it) is not read again by
this process, since nothing can change it once the grace after midnight has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from llm_responses.store import Store
from llm_responses.store.alert_deliveries import DigestTarget, ended_day
from llm_responses.store.tracking import Alert

log = logging.getLogger(__name__)

# after local midnight, so that an alert recorded in the day's last seconds has committed before it is read
GRACE_SECONDS = 300.0
MAX_REMEMBERED = 100_000  # projects whose settled day is kept in memory


class Digests:
    def __init__(self, store: Store, *, grace_seconds: float = GRACE_SECONDS) -> None:
        self.store = store
        self.grace = grace_seconds
        self._settled: dict[int, str] = {}  # project id -> the last day known to need nothing more

    async def send_due(self, targets: Iterable[DigestTarget], now: float) -> list[Alert]:
        """Record (and queue) each target's digest of its last ended day if it is due; the digests this call
        recorded. A failure is logged and left for the next call."""
        sent: list[Alert] = []
        if len(self._settled) > MAX_REMEMBERED:  # deleted projects' entries: start afresh now and then
            self._settled.clear()
        for target in targets:
            if not target.wants_digest:
                continue
            day = ended_day(now, target.timezone, self.grace)
            if self._settled.get(target.project_id) == day.name:
                continue
            try:
                recorded, alerts = await self.store.digest_state(target, day)
                if not recorded and alerts:
                    digest = await self.store.record_digest(target, day, now)
                    if digest is not None:
                        sent.append(digest)
            except Exception:
                log.exception(
                    "the digest of project %s for %s failed; tried again", target.project_id, day.name
                )
                continue
            self._settled[target.project_id] = day.name
        return sent
