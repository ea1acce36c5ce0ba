"""Alert bodies in each format: the documented JSON, and Slack and Discord messages that stay within the
vendors' published limits and ping nobody, whatever an answer, brand or prompt contains."""

import json
from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st

from llm_responses.store.records import AlertFormat
from llm_responses.store.tracking import Alert
from llm_responses.webhooks.alert_payloads import ZWSP, render, units
from llm_responses.webhooks.sender import asked_delay

NASTY = "@everyone @here <!channel> <!here> <@123456789012345678> <@&987654321098765432> [win](http://evil.example) "


def alert(**changes) -> Alert:
    values = dict(
        id=42, account_id=1, project_id=7, project="acme", run_id=3, kind="visibility_drop", brand="Acme",
        subject="best crm for startups", message="Acme's visibility fell from 60% to 45% (-15 points)",
        detail={"before": 60.0, "after": 45.0, "points": -15.0, "engine": "chat_gpt"}, created_at=1796601600.5,
    )  # fmt: skip
    return Alert(**{**values, **changes})


def digest(listed: int, total: int, text: str = "x") -> Alert:
    items = [
        {"id": i, "kind": "new_mention", "brand": text, "subject": text, "message": text,
         "created_at": "2026-12-07T10:00:00+00:00"}
        for i in range(listed)
    ]  # fmt: skip
    detail = {
        "day": "2026-12-07",
        "timezone": "Europe/Paris",
        "total": total,
        "more": total - listed,
        "alerts": items,
    }
    return alert(
        kind="digest",
        run_id=None,
        brand=None,
        subject=None,
        message=f"{total} alerts on 2026-12-07",
        detail=detail,
    )


def body(a: Alert, fmt: AlertFormat) -> dict:
    return json.loads(render(a, fmt))


def strings(value):
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def test_the_json_format_is_the_documented_shape():
    assert body(alert(), AlertFormat.JSON) == {
        "id": 42, "kind": "visibility_drop", "project": "acme", "project_id": 7, "run_id": 3, "brand": "Acme",
        "subject": "best crm for startups", "message": "Acme's visibility fell from 60% to 45% (-15 points)",
        "detail": {"before": 60.0, "after": 45.0, "points": -15.0, "engine": "chat_gpt"},
        "created_at": "2026-12-07T00:00:00+00:00", "link": "/dashboard/alerts?project=acme#alert-42",
    }  # fmt: skip


def test_slack_has_a_fallback_text_and_blocks():
    msg = body(alert(), AlertFormat.SLACK)
    assert msg["text"] == "Visibility drop · acme: Acme's visibility fell from 60% to 45% (-15 points)"
    header, section, fields, context = msg["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Visibility drop · acme", "emoji": False},
    }
    assert section["text"] == {
        "type": "mrkdwn",
        "text": "Acme's visibility fell from 60% to 45% (-15 points)",
    }
    assert [f["text"] for f in fields["fields"]][:3] == [
        "*Brand*\nAcme",
        "*About*\nbest crm for startups",
        "*Run*\n3",
    ]
    assert "*Points*\n-15" in [f["text"] for f in fields["fields"]]
    assert context["type"] == "context" and "alert 42" in context["elements"][0]["text"]


def test_discord_has_an_embed_and_mentions_nobody():
    msg = body(alert(), AlertFormat.DISCORD)
    assert msg["allowed_mentions"] == {"parse": []}
    assert msg["content"] == "**Visibility drop** · acme"
    [embed] = msg["embeds"]
    assert embed["title"] == "Visibility drop · acme"
    assert embed["description"] == "Acme's visibility fell from 60% to 45% (-15 points)"
    assert embed["color"] == 0xED4245 and embed["timestamp"] == "2026-12-07T00:00:00+00:00"
    assert {"name": "Brand", "value": "Acme", "inline": True} in embed["fields"]


def check_slack(msg: dict) -> None:
    """Slack's limits (api.slack.com/reference/block-kit/blocks) and no mention syntax from the alert."""
    assert units(msg["text"]) <= 3000 and 1 <= len(msg["blocks"]) <= 50
    total = 0
    for block in msg["blocks"]:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and 1 <= units(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            if "text" in block:
                assert 1 <= units(block["text"]["text"]) <= 3000
            for field in block.get("fields", []):
                assert 1 <= units(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        else:
            assert block["type"] == "context" and len(block["elements"]) <= 10
        total += sum(units(s) for s in strings(block) if s not in ("mrkdwn", "plain_text", block["type"]))
    assert total <= 12_000  # Slack refuses blocks past about this much text in all (msg_blocks_too_long)
    for s in strings(msg):
        assert "<!channel>" not in s and "<!here>" not in s and "<@1" not in s and "@everyone" not in s


def check_discord(msg: dict) -> None:
    """Discord's limits (discord.com/developers/docs/resources/message#embed-object-embed-limits)."""
    assert msg["allowed_mentions"] == {"parse": []}
    assert units(msg.get("content", "")) <= 2000 and len(msg["embeds"]) <= 10
    total = 0
    for embed in msg["embeds"]:
        assert units(embed["title"]) <= 256 and units(embed.get("description", "")) <= 4096
        assert units(embed["footer"]["text"]) <= 2048 and len(embed.get("fields", [])) <= 25
        for f in embed.get("fields", []):
            assert 1 <= units(f["name"]) <= 256 and 1 <= units(f["value"]) <= 1024
        total += units(embed["title"]) + units(embed.get("description", "")) + units(embed["footer"]["text"])
        total += sum(units(f["name"]) + units(f["value"]) for f in embed.get("fields", []))
    assert total <= 6000
    for s in strings(msg):
        assert "@everyone" not in s and "@here" not in s and "<@" not in s and "[win](" not in s


def test_huge_texts_stay_within_the_limits_and_ping_nobody():
    huge = (NASTY + "🚀" * 50 + "&" * 100) * 300  # emoji count twice in UTF-16, "&" grows five-fold in Slack
    big = alert(brand=huge, subject=huge, message=huge, detail={"answer": huge, "points": -3.5})
    check_slack(body(big, AlertFormat.SLACK))
    check_discord(body(big, AlertFormat.DISCORD))
    slack_text = body(big, AlertFormat.SLACK)["text"]
    assert slack_text.endswith("…") and "&amp;" in slack_text and "@" + ZWSP + "everyone" in slack_text


def test_a_digest_lists_what_fits_and_counts_the_rest():
    small = digest(listed=3, total=3, text="mentioned in 4 answers")
    slack = body(small, AlertFormat.SLACK)
    assert slack["blocks"][0]["text"]["text"] == "Daily digest · acme · 2026-12-07"
    assert sum(s.count("• *New mention*") for s in strings(slack)) == 3
    assert not any("more in the dashboard" in s for s in strings(slack))
    discord = body(small, AlertFormat.DISCORD)
    assert discord["embeds"][0]["description"].count("• **New mention**") == 3

    crowded = digest(listed=50, total=500, text=NASTY * 50)
    for fmt, check in ((AlertFormat.SLACK, check_slack), (AlertFormat.DISCORD, check_discord)):
        msg = body(crowded, fmt)
        check(msg)
        listed = sum(s.count("New mention") for s in strings(msg))
        assert 0 < listed < 50
        assert any(f"…and {500 - listed} more in the dashboard" in s for s in strings(msg))
    assert body(crowded, AlertFormat.JSON)["detail"]["more"] == 450


@given(text=st.text(max_size=3000), kind=st.sampled_from(["new_domain", "overtaken", "something_new"]))
def test_any_text_fits(text, kind):
    a = alert(kind=kind, brand=text or None, subject=text or None, message=text, detail={"note": text})
    check_slack(body(a, AlertFormat.SLACK))
    check_discord(body(a, AlertFormat.DISCORD))


def test_what_a_429_asks_for():
    def asked(status, headers, content=b""):
        return asked_delay(status, httpx.Headers(headers), content, now=1_000_000.0)

    assert asked(429, {"Retry-After": "30"}) == 30.0
    assert asked(503, {"Retry-After": "Mon, 12 Jan 1970 13:46:50 GMT"}) == 10.0  # an HTTP date, 10 s later
    discord = b'{"message": "You are being rate limited.", "retry_after": 64.57, "global": false}'
    assert asked(429, {"Retry-After": "65", "Content-Type": "application/json"}, discord) == 65.0
    assert asked(429, {"Content-Type": "application/json"}, discord) == 64.57
    assert asked(429, {"Content-Encoding": "gzip"}, discord) is None  # not read compressed
    assert asked(429, {}, b'{"retry_after": "soon"}') is None and asked(429, {"Retry-After": "soon"}) is None
    assert asked(500, {"Retry-After": "30"}) is None and asked(429, {}) is None


def documented_examples() -> list[dict]:
    """The ```json examples of docs/webhooks.md's Alerts section, in order: json, slack, discord, digest."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text("utf-8")
    section = text.split("## Alerts", 1)[1].split("\n## ", 1)[0]
    return [json.loads(block.split("```", 1)[0]) for block in section.split("```json\n")[1:]]


def test_the_documented_examples_are_what_is_sent():
    example = alert(
        id=1042, project="acme-crm", run_id=311, message="Acme's visibility fell from 62% to 48% (-14 points) against the previous run",
        detail={"before": 62.0, "after": 48.0, "points": -14.0}, created_at=1796636043.0,
    )  # fmt: skip
    documented_json, documented_slack, documented_discord, documented_digest = documented_examples()
    assert body(example, AlertFormat.JSON) == documented_json
    assert body(example, AlertFormat.SLACK) == documented_slack
    assert body(example, AlertFormat.DISCORD) == documented_discord
    day = Alert(
        id=1077, account_id=1, project_id=7, project="acme-crm", run_id=None, kind="digest", brand=None,
        subject=None, message=documented_digest["message"], detail=documented_digest["detail"], created_at=1796684700.0,
    )  # fmt: skip
    assert body(day, AlertFormat.JSON) == documented_digest
