"""Offline token counting: the bundled vocabularies become tiktoken's cache, byte-exact and hash-checked."""

import hashlib

import pytest
import tiktoken

from llm_responses.providers import token_count
from tests.conftest import LLM, running
from tests.fakes.openai_replies import Reply


@pytest.mark.slow
def test_the_bundled_vocabularies_install_into_tiktokens_cache_and_tokenize(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert sorted(token_count.install_offline_bpe()) == ["cl100k_base", "o200k_base"]
    for url, sha256, _ in token_count.BPE_FILES.values():
        cached = tmp_path / hashlib.sha1(url.encode()).hexdigest()
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha256
    assert token_count.install_offline_bpe() == []  # already there and valid: left alone
    o200k = tiktoken.get_encoding("o200k_base")  # loads from the cache: this machine has no internet
    assert (
        o200k.decode(o200k.encode("Les parcs d’attractions en France")) == "Les parcs d’attractions en France"
    )
    assert len(tiktoken.get_encoding("cl100k_base").encode("hello world")) == 2


def test_a_corrupted_cache_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    url = token_count.BPE_FILES["o200k_base"][0]
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"not a vocabulary")
    assert token_count.install_offline_bpe() == ["cl100k_base", "o200k_base"]


def test_a_vocabulary_in_another_layout_is_refused():
    with pytest.raises(ValueError):
        token_count.convert_quicktok_vocab(b"\x01\x00\x00\x00\x01\x00!\x00\x00\x00\x00extra")


async def test_a_reply_without_usage_is_counted_not_free(settings, fake_openai):
    async with running(settings) as h:
        alice = await h.account()
        body = fake_openai.build_response(
            {"model": "gpt-4.1-mini", "input": "x"}, text="Paris is the capital of France."
        )
        del body["usage"]
        fake_openai.enqueue(Reply(body=body))
        task = (
            await h.post(
                f"{LLM}/live",
                alice,
                [
                    {
                        "model_name": "gpt-4.1-mini",
                        "user_prompt": "What is the capital of France?",
                        "system_message": "Be brief.",
                    }
                ],
            )
        )["tasks"][0]
        result = task["result"][0]
        encoding = tiktoken.encoding_for_model("gpt-4.1-mini")
        assert result["input_tokens"] == len(encoding.encode("Be brief.\nWhat is the capital of France?"))
        assert result["output_tokens"] == len(encoding.encode("Paris is the capital of France.")) == 7
        assert result["money_spent"] > 0
