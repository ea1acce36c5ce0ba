"""Waiting for whichever comes first: a wake-up, a stop, or the poll interval (worker and dispatcher loops)."""

from __future__ import annotations

import asyncio


async def first_of(*events: asyncio.Event, within: float) -> None:
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
