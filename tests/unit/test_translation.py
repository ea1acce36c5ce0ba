"""The pure translation functions, directly: request building, response parsing, error mapping, settlement,
the .ai crop and the round-robin order. No server, no database."""

from llm_responses.billing.money import to_nanos
from llm_responses.billing.settlement import affordable, settle
from llm_responses.core import LlmRequest
from llm_responses.errors import ErrorKind, ProviderError, StatusCode
from llm_responses.providers.openai_chat import build_chat_params, parse_chat_response, split_think
from llm_responses.providers.openai_responses import build_params, parse_response
from llm_responses.providers.retrying import retry_after
from llm_responses.store.fair_claim import Rotation
from llm_responses.tasks.runner import provider_failure
from llm_responses.wire import ai_optimized

REQ = LlmRequest(
    model="gpt-4.1-mini-2025-04-14",
    user_prompt="hi",
    max_output_tokens=100,
    temperature=0.5,
    history=(("user", "a"), ("assistant", "b")),
    web_search=True,
    country="FR",
    reasoning=False,
)


def test_build_params_sends_history_tools_and_location():
    p = build_params(REQ, search_tool="web_search_preview")
    assert p["input"][-1] == {"type": "message", "role": "user", "content": "hi"}
    assert p["tools"] == [
        {"type": "web_search_preview", "user_location": {"type": "approximate", "country": "FR"}}
    ]
    assert p["tool_choice"] == "auto" and "top_p" not in p and "reasoning" not in p


def test_build_chat_params_never_sends_unset_sampling():
    p = build_chat_params(LlmRequest(model="m", user_prompt="q", max_output_tokens=10, system_message="s"))
    assert p == {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
    }


def test_parse_response_reads_text_citations_searches_and_reasoning_text():
    body = {
        "status": "completed",
        "model": "x",
        "usage": {"input_tokens": 3, "output_tokens": 5},
        "output": [
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "think"}]},
            {"type": "web_search_call", "action": {"type": "search", "queries": ["q1", "q1", "q2"]}},
            {
                "type": "message",
                "content": [
                    {
                        "type": "output_text",
                        "text": "ab",
                        "annotations": [
                            {
                                "type": "url_citation",
                                "url": "u",
                                "title": "t",
                                "start_index": 0,
                                "end_index": 2,
                            }
                        ],
                    }
                ],
            },
        ],
    }
    r = parse_response(body, fallback_model="f")
    assert (
        r.reasoning_summaries == ("think",) and r.fan_out_queries == ("q1", "q2") and r.web_search_calls == 1
    )
    assert r.parts[0].citations[0].url == "u" and (r.input_tokens, r.output_tokens) == (3, 5)


def test_parse_response_raises_for_failed_bodies_by_code():
    for code, kind in (
        ("server_error", ErrorKind.UNAVAILABLE),
        ("invalid_prompt", ErrorKind.INVALID_REQUEST),
        ("invalid_image", ErrorKind.FATAL),
    ):
        try:
            parse_response({"status": "failed", "error": {"code": code, "message": "m"}}, fallback_model="f")
        except ProviderError as exc:
            assert exc.kind is kind and exc.code == code
        else:
            raise AssertionError(code)


def test_split_think_and_chat_reasoning():
    assert split_think("<think>a</think>\n\nb") == ("a", "b")
    assert split_think("a</think>b") == ("a", "b")
    assert split_think("<think>half") == ("half", "")
    assert split_think("plain") == (None, "plain")
    r = parse_chat_response(
        {"choices": [{"message": {"content": "<think>x</think>y"}, "finish_reason": "length"}]},
        fallback_model="m",
    )
    assert (
        r.reasoning_summaries == ("x",)
        and r.parts[0].text == "y"
        and r.incomplete_reason == "max_output_tokens"
    )


def test_retry_after_reads_milliseconds_seconds_and_dates():
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None


def test_provider_failure_decides_code_and_refund():
    def outcome(kind, param=None):
        return provider_failure(ProviderError(kind, "m", param=param))

    assert (
        outcome(ErrorKind.INVALID_REQUEST, "tools").status_message,
        outcome(ErrorKind.INVALID_REQUEST, "tools").refund_base,
    ) == ("Invalid Field: 'web_search'.", False)
    owned = outcome(ErrorKind.INVALID_REQUEST, "reasoning.effort")
    assert (owned.status_code, owned.refund_base) == (StatusCode.THIRD_PARTY_UNAVAILABLE, True)
    assert outcome(ErrorKind.FATAL).refund_base is True
    assert outcome(ErrorKind.UNAVAILABLE).refund_base is False  # an outage after retries keeps the base
    assert outcome(ErrorKind.NO_OUTPUT).status_code == StatusCode.TASK_EXECUTION_FAILED
    assert outcome(ErrorKind.TIMEOUT).status_code == StatusCode.TIMEOUT


def test_settlement_refunds_or_charges_the_difference():
    base, prepay = to_nanos("0.0002"), to_nanos("0.01")

    def of(success: bool, spent: str = "0", refund_base: bool = False):
        money = to_nanos(spent)
        return settle(
            success=success, money_spent=money, refund_base=refund_base, base_price=base, prepayment=prepay
        )

    assert of(True, "0.004") == (to_nanos("0.006"), to_nanos("0.0042"))
    assert of(True, "0.03") == (-to_nanos("0.02"), to_nanos("0.0302"))  # an overage is charged
    assert of(False, refund_base=True) == (base + prepay, 0)  # a failed live call costs nothing
    assert of(False) == (prepay, base)  # a failed task_post task keeps its base price


def test_a_batch_is_accepted_in_order_while_the_balance_covers_it():
    assert affordable(10, [4, 4, 4, 2]) == ([True, True, False, True], 10)
    assert affordable(-1, [0, 1]) == ([False, False], 0)
    assert affordable(5, []) == ([], 0)


def test_ai_crop_keeps_the_service_fields_and_prunes_items():
    full = {
        "version": "v",
        "status_code": 20000,
        "status_message": "Ok.",
        "cost": 0.1,
        "tasks": [
            {
                "id": "i",
                "status_code": 20000,
                "status_message": "Ok.",
                "time": "1 sec.",
                "data": {},
                "result": [
                    {
                        "money_spent": 0.0040424,
                        "web_search": False,
                        "items": [
                            {
                                "type": "message",
                                "sections": [{"text": "t", "annotations": None, "empty": [], "flag": False}],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    cropped = ai_optimized.crop(full)
    assert cropped == {
        "status_code": 20000,
        "status_message": "Ok.",
        "tasks": [
            {
                "id": "i",
                "status_code": 20000,
                "status_message": "Ok.",
                "result": [
                    {
                        "money_spent": 0.004,
                        "web_search": False,
                        "items": [{"type": "message", "sections": [{"text": "t"}]}],
                    }
                ],
            }
        ],
    }


def test_rotation_continues_after_the_last_account_served():
    rotation = Rotation()
    rotation.advance([1, 2, 3], {1, 2})
    assert rotation.after == 2
    assert rotation.order([3], [1, 2, 3]) == [3, 1, 2]
