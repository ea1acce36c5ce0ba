"""The dashboard's answer list by date, on SQLite and PostgreSQL: a range of days holds exactly the answers
posted on those UTC days, newest first, up to the last instant of the last day (the list reads the range on
``asked_at``, the index's order, and ``day`` is that instant's UTC date)."""

import json
from datetime import UTC, datetime

from llm_responses.analysis.answer_index import prompt_hash
from llm_responses.analysis.mentions import Entity
from llm_responses.store import answer_reads
from llm_responses.store.brand_counts import CountFilter
from llm_responses.store.records import NewTask, Outcome
from llm_responses.tasks.indexer import Indexer

MIDNIGHT = datetime(2026, 3, 9, tzinfo=UTC).timestamp()
POSTED = {  # task id → when it was posted, around the midnights before and after 2026-03-09
    "a": MIDNIGHT - 1.0,
    "b": MIDNIGHT,
    "c": MIDNIGHT + 43200.0,
    "d": MIDNIGHT + 86399.75,
    "e": MIDNIGHT + 86400.0,
}
PROMPTS = {
    "a": "best anvils?",
    "b": "best anvils?",
    "c": "cheap rockets?",
    "d": "best anvils?",
    "e": "best anvils?",
}


async def indexed(store) -> int:
    account = await store.create_account("a", "h", "t", 10**12)
    for key, at in POSTED.items():
        task = NewTask(id=f"00000000-0000-0000-0000-00000000000{key}", se="chat_gpt", endpoint="task_post",
                       request_json="{}", data_json=json.dumps({"user_prompt": PROMPTS[key], "model_name": "m"}),
                       tag=None, postback_url=None, pingback_url=None, base_price=0, prepayment=0)  # fmt: skip
        await store.create_tasks(account.id, [task], at)
    now = MIDNIGHT + 10 * 86400
    result = {
        "items": [{"type": "message", "sections": [{"type": "text", "text": "Acme.", "annotations": []}]}]
    }
    for c in await store.claim_tasks("w", 100, now + 60, now):
        outcome = Outcome(
            success=True, status_code=20000, status_message="Ok.", result_json=json.dumps(result)
        )
        assert await store.finish_task(c.id, c.attempt, outcome, now)

    async def brands(project_id: int) -> list[Entity]:
        return [Entity("Acme", (), (), False)]

    assert await Indexer(store, brands, "w").drain() == len(POSTED)
    return account.id


async def listed(store, account_id: int, first: str, last: str, **kw) -> list[str]:
    f = CountFilter(date_from=first, date_to=last)
    rows = await store.mention_query(lambda c, d: answer_reads.answer_list(c, d, account_id, f, **kw))
    return [r.task_id[-1] for r in rows]


async def test_a_range_of_days_lists_the_answers_posted_on_them_newest_first(store):
    account_id = await indexed(store)
    assert await listed(store, account_id, "2026-03-09", "2026-03-09") == ["d", "c", "b"]
    assert await listed(store, account_id, "2026-03-08", "2026-03-09") == ["d", "c", "b", "a"]
    assert await listed(store, account_id, "2026-03-10", "2026-03-12") == ["e"]
    assert await listed(store, account_id, "2026-03-01", "2026-03-07") == []
    one = prompt_hash("best anvils?")
    assert await listed(store, account_id, "2026-03-09", "2026-03-10", prompt_hash=one) == ["e", "d", "b"]
    # the next page goes on before the last row shown, the range still applied
    assert await listed(store, account_id, "2026-03-09", "2026-03-09", before=(POSTED["c"], "")) == ["b"]


async def test_spend_by_day_counts_each_days_tasks_cost_and_batch_savings(store):
    account = await store.create_account("s", "h", "t", 10**12)
    posted = MIDNIGHT + 3600
    new = [NewTask(id=f"00000000-0000-0000-0000-0000000000s{i}", se="chat_gpt", endpoint="task_post", request_json="{}",
                   data_json="{}", tag=None, postback_url=None, pingback_url=None, base_price=1000, prepayment=0)
           for i in range(3)]  # fmt: skip
    await store.create_tasks(account.id, new, posted)
    now = posted + 60
    outcomes = [
        Outcome(success=True, status_code=20000, status_message="Ok.", result_json="{}", money_spent=500, batch_saved=200),
        Outcome(success=True, status_code=20000, status_message="Ok.", result_json="{}", money_spent=700, batch_saved=300),
        Outcome(success=False, status_code=50000, status_message="Internal Error.", refund_base=True),
    ]  # fmt: skip
    claimed = sorted(await store.claim_tasks("w", 10, now + 60, now), key=lambda c: c.id)
    for c, outcome in zip(claimed, outcomes, strict=True):
        assert await store.finish_task(c.id, c.attempt, outcome, now)
    (day, se, n, answered, cost, saved), *rest = await store.spend_by_day(account.id, MIDNIGHT)
    assert (day, se, n, answered, saved, rest) == ("2026-03-09", "chat_gpt", 3, 2, 500, [])
    assert cost > 0
