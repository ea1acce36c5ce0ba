"""Rows by column name, never by position: result rows read into the store's records, and the rows some
statements write, built as mappings for their named placeholders. A statement may list its columns in any
order, or gain one, without a value landing in the wrong column.

A row's columns are found by name once per statement shape (``columns``), then taken by position: looking
each name up in a ``sqlite3.Row`` scans its columns, which made reading a task record 2.5 times slower.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from functools import cache
from operator import itemgetter
from typing import Any

from llm_responses.store.connection import Row
from llm_responses.store.records import Account, ClaimedTask, LedgerKind, TaskRecord, TaskStatus


@cache
def _picker(have: tuple[str, ...], wanted: tuple[str, ...]) -> Callable[[Row], tuple[Any, ...]]:
    index = {name: i for i, name in enumerate(have)}
    missing = [name for name in wanted if name not in index]
    if missing:
        raise KeyError(f"the row has no column {missing} (it has {list(have)})")
    pick = itemgetter(*(index[name] for name in wanted))
    return pick if len(wanted) > 1 else lambda r: (pick(r),)


def columns(r: Row, wanted: tuple[str, ...]) -> tuple[Any, ...]:
    """The ``wanted`` columns of ``r``, in that order."""
    return _picker(tuple(r.keys()), wanted)(r)


# each record's columns are named as its fields (ClaimedTask's attempt: the attempts the claim counted)
_ACCOUNT = tuple(f.name for f in fields(Account))
_TASK = tuple(f.name for f in fields(TaskRecord))
_STATUS = _TASK.index("status")
_CLAIMED = ("id", "account_id", "se", "endpoint", "request_json", "attempts")


def read_account(r: Row) -> Account:
    return Account(*columns(r, _ACCOUNT))


def read_task(r: Row) -> TaskRecord:
    return read_tasks([r])[0]


def read_tasks(rows: Sequence[Row]) -> list[TaskRecord]:
    """Every row of a result: its columns found once for them all (a page is hundreds of tasks)."""
    if not rows:
        return []
    pick = _picker(tuple(rows[0].keys()), _TASK)
    out = []
    for r in rows:
        values = list(pick(r))
        values[_STATUS] = TaskStatus(values[_STATUS])
        out.append(TaskRecord(*values))
    return out


def read_claimed(r: Row) -> ClaimedTask:
    return ClaimedTask(*columns(r, _CLAIMED))


def ledger_row(
    account_id: int, task_id: str | None, kind: LedgerKind, amount: int, now: float
) -> dict[str, Any]:
    """A row for ``insert_ledger`` and the ledger's bulk statements."""
    return {
        "account_id": account_id,
        "task_id": task_id,
        "kind": kind.value,
        "amount": amount,
        "created_at": now,
    }
