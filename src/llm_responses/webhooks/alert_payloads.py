"""An alert (or a day's digest) as its receiver reads it: our own JSON, a Slack incoming-webhook message or a
Discord "Execute Webhook" message. Brands, prompts and messages come from model answers and users, so the
chat formats are cut to the vendors' published limits whatever their length, and can never ping a channel.

- Slack (https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/block-kit/blocks):
  ``text`` (the notification, and the fallback) and ``blocks``: a header (plain_text, at most 150
  characters), sections (text at most 3000, at most 10 fields of at most 2000), a context line; far fewer
  than the 50 blocks a message may have, and far less text in all than the roughly 12,000 characters past
  which Slack refuses blocks. ``&``, ``<`` and ``>`` are escaped as Slack's formatting guide asks
  (https://api.slack.com/messaging/composing/formatting), so ``<!channel>`` in an answer stays text.
- Discord (https://discord.com/developers/docs/resources/webhook#execute-webhook and
  https://discord.com/developers/docs/resources/message#embed-object-embed-limits): ``content`` at most
  2000 characters, one embed (title 256, description 4096, fields 25 of name 256 and value 1024, footer
  2048; 6000 in all), ``allowed_mentions: {"parse": []}`` so that nothing pings, and mention syntax and
  markdown in answers broken or escaped so that they show as the text they are.

Lengths are counted in UTF-16 code units (a JavaScript string's length): never fewer than the characters
either vendor counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from llm_responses.store.records import AlertFormat
from llm_responses.store.tracking import Alert

TITLES = {
    "visibility_drop": "Visibility drop",
    "share_of_voice_drop": "Share of voice drop",
    "new_mention": "New mention",
    "lost_mention": "Lost mention",
    "overtaken": "Overtaken by a competitor",
    "new_domain": "New cited domain",
    "run_failed": "Run failed",
    "over_budget": "Over budget",
    "digest": "Daily digest",
}
GOOD = {"new_mention", "new_domain"}
BAD = {"visibility_drop", "share_of_voice_drop", "lost_mention", "overtaken", "run_failed", "over_budget"}
MAX_FACTS = 8  # brand, subject, run and the detail's first numbers: a few lines, never the whole detail
FACT_CHARS = 200
LINE_CHARS = 300  # one alert's line in a digest
SLACK_TEXT = 3000  # the notification text: Slack asks for well under 4,000
SLACK_BLOCKS_TEXT = 8000  # all blocks' text together, well under the ~12,000 past which Slack refuses them
DISCORD_EMBED_TOTAL = 6000
ELLIPSIS = "…"
ZWSP = "\u200b"


def render(alert: Alert, fmt: AlertFormat) -> bytes:
    """The body to POST (``Content-Type: application/json``, never compressed)."""
    body = {AlertFormat.SLACK: slack, AlertFormat.DISCORD: discord}.get(fmt, plain)(alert)
    return orjson.dumps(body)


def link(alert: Alert) -> str:
    """The alert's page in the dashboard, as a path on the server that sent it."""
    return f"/dashboard/alerts?project={quote(alert.project, safe='')}#alert-{alert.id}"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def plain(alert: Alert) -> dict[str, Any]:
    """Our own shape (docs/webhooks.md): everything the alert row has, the project by name and id."""
    return {
        "id": alert.id, "kind": alert.kind, "project": alert.project, "project_id": alert.project_id,
        "run_id": alert.run_id, "brand": alert.brand, "subject": alert.subject, "message": alert.message,
        "detail": alert.detail, "created_at": iso(alert.created_at), "link": link(alert),
    }  # fmt: skip


# -- text within limits ------------------------------------------------------------------------------------


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _same(text: str) -> str:
    return text


def fit(text: str, limit: int, escape: Callable[[str], str] = _same) -> str:
    """``escape(text)`` in at most ``limit`` units, cut (before escaping, so no escape is cut in half) and
    ended with an ellipsis when it is longer."""
    whole = escape(text)
    if units(whole) <= limit:
        return whole
    lo, hi = 0, len(text)  # the longest prefix whose escaped form and the ellipsis fit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if units(escape(text[:mid])) + 1 <= limit:
            lo = mid
        else:
            hi = mid - 1
    return escape(text[:lo]) + ELLIPSIS


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str) -> str:
    """Without control characters (Discord strips them) and surrounding blanks (both vendors trim them)."""
    return _CONTROL.sub("", text).strip()


_MASS = re.compile(r"@(?=(everyone|here|channel)\b)", re.I)


def slack_text(text: str) -> str:
    """Slack's three control characters as entities; ``@here``-style words broken (no ``link_names``)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MASS.sub("@" + ZWSP, text)


_DISCORD_MENTION = re.compile(r"@(?=everyone|here)|<(?=[@#:/]|a:|t:)", re.I)
_DISCORD_MARKDOWN = re.compile(r"[\\*_~`|>\[\]]|^[#\-](?=[ #])", re.M)  # headings and lists: "# ", "- "


def discord_text(text: str) -> str:
    """Markdown escaped (no masked links, no formatting from answers); mention syntax broken by a zero-width
    space, as well as ``allowed_mentions`` forbidding pings."""
    text = _DISCORD_MARKDOWN.sub(lambda m: "\\" + m.group(0), text)
    return _DISCORD_MENTION.sub(lambda m: m.group(0) + ZWSP, text)


def title(alert: Alert) -> str:
    name = TITLES.get(alert.kind, alert.kind.replace("_", " ").capitalize())
    day = alert.detail.get("day") if alert.kind == "digest" else None
    return f"{name} · {alert.project}" + (f" · {day}" if isinstance(day, str) else "")


def facts(alert: Alert) -> list[tuple[str, str]]:
    """(label, value) lines: what the alert is about, then the detail's scalar numbers and words."""
    out = [("Brand", alert.brand or ""), ("About", alert.subject or ""), ("Run", str(alert.run_id or ""))]
    for key, value in alert.detail.items():
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            out.append(
                (key.replace("_", " ").capitalize(), f"{value:g}" if isinstance(value, float) else str(value))
            )
    kept = [(clean(label), clean(value)) for label, value in out]  # the vendors refuse empty (blank) fields
    return [(fit(label, 60), fit(value, FACT_CHARS)) for label, value in kept if label and value][:MAX_FACTS]


def digest_lines(alert: Alert, escape: Callable[[str], str], bold: str) -> list[str]:
    """One line per listed alert: its kind in bold, its message, its brand."""
    lines = []
    for item in alert.detail.get("alerts", []):
        if not isinstance(item, dict):
            continue
        kind = str(item.get("kind", ""))
        text = clean(str(item.get("message", "")) + (f" ({item['brand']})" if item.get("brand") else ""))
        lines.append(f"• {bold}{TITLES.get(kind, kind)}{bold} — " + fit(text, LINE_CHARS, escape))
    return lines


def unlisted(alert: Alert, shown: int) -> int:
    total = alert.detail.get("total")
    return max(0, (total if isinstance(total, int) else shown) - shown)


# -- Slack -------------------------------------------------------------------------------------------------


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def slack(alert: Alert) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": fit(title(alert), 150), "emoji": False}}
    ]
    if alert.kind == "digest":
        blocks += _slack_digest(alert)
    else:
        if clean(alert.message):  # Slack refuses an empty text
            blocks.append({"type": "section", "text": _mrkdwn(fit(clean(alert.message), 3000, slack_text))})
        fields = [_slack_field(label, value) for label, value in facts(alert)]
        if fields:
            blocks.append({"type": "section", "fields": fields[:10]})
    when = f"<!date^{int(alert.created_at)}^{{date_short_pretty}} {{time}}|{iso(alert.created_at)}>"
    footer = f"{slack_text(alert.project)} · alert {alert.id} · {when}"  # the date in the reader's time zone
    blocks.append({"type": "context", "elements": [_mrkdwn(footer)]})
    text = fit(f"{title(alert)}: {alert.message}", SLACK_TEXT, slack_text)
    return {"text": text, "blocks": blocks}


def _slack_field(label: str, value: str) -> dict[str, str]:
    head = f"*{slack_text(label)}*\n"
    return _mrkdwn(head + fit(value, 2000 - units(head), slack_text))


def _slack_digest(alert: Alert) -> list[dict[str, Any]]:
    lines = digest_lines(alert, slack_text, "*")
    sections: list[str] = []
    used = shown = 0
    for line in lines:
        if used + units(line) + 1 > SLACK_BLOCKS_TEXT:
            break
        if sections and units(sections[-1]) + 1 + units(line) <= 3000:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
        used += units(line) + 1
        shown += 1
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(fit(alert.message, 3000, slack_text))},
        *({"type": "section", "text": _mrkdwn(text)} for text in sections),
    ]
    more = unlisted(alert, shown)
    if more:
        blocks.append({"type": "context", "elements": [_mrkdwn(f"…and {more} more in the dashboard")]})
    return blocks


# -- Discord -----------------------------------------------------------------------------------------------

COLORS = {"good": 0x57F287, "bad": 0xED4245, "other": 0x5865F2}  # Discord's own green, red and blurple


def discord(alert: Alert) -> dict[str, Any]:
    color = COLORS["good" if alert.kind in GOOD else "bad" if alert.kind in BAD else "other"]
    embed: dict[str, Any] = {
        "title": fit(title(alert), 256, discord_text),
        "color": color,
        "timestamp": iso(alert.created_at),
        "footer": {"text": fit(f"{alert.project} · alert {alert.id}", 2048)},
    }
    pairs = [] if alert.kind == "digest" else facts(alert)  # at most MAX_FACTS of Discord's 25 fields
    fields = [(fit(label, 256, discord_text), fit(value, 1024, discord_text)) for label, value in pairs]
    if fields:
        embed["fields"] = [{"name": name, "value": value, "inline": True} for name, value in fields]
    spent = units(embed["title"]) + units(embed["footer"]["text"])
    spent += sum(units(name) + units(value) for name, value in fields)
    room = min(4096, DISCORD_EMBED_TOTAL - spent)
    description = (
        _discord_digest(alert, room)
        if alert.kind == "digest"
        else fit(clean(alert.message), room, discord_text)
    )
    if description:
        embed["description"] = description
    content = fit(f"**{TITLES.get(alert.kind, alert.kind)}** · " + discord_text(alert.project), 2000)
    return {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}


def _discord_digest(alert: Alert, room: int) -> str:
    lines = [fit(alert.message, 200, discord_text), *digest_lines(alert, discord_text, "**")]
    kept: list[str] = []
    reserve = 40  # for the "…and N more" line
    for line in lines:
        if units("\n".join([*kept, line])) > room - reserve:
            break
        kept.append(line)
    more = unlisted(alert, len(kept) - 1)
    return "\n".join(kept) + (f"\n…and {more} more in the dashboard" if more else "")
