"""Statements that take their values by name, and rows read by column name, on both databases."""

import pytest

from llm_responses.store.queries import check_override, load, statement


def test_named_placeholders_are_numbered_in_order_of_first_use():
    q = statement("q", "SELECT :b, :a::int[] FROM t WHERE x = :b")
    assert q.sql == "SELECT $1, $2::int[] FROM t WHERE x = $1"
    assert q.params == ("b", "a") and q.named
    assert q.bind({"a": 1, "b": 2}) == (2, 1)


def test_a_statement_takes_exactly_its_own_values():
    q = statement("q", "SELECT :a, :b")
    with pytest.raises(TypeError, match=r"no value for \['b'\], unknown \[\]"):
        q.bind({"a": 1})
    with pytest.raises(TypeError, match=r"no value for \['b'\], unknown \['c'\]"):
        q.bind({"a": 1, "c": 2})
    with pytest.raises(TypeError, match="by name"):
        q.values((1, 2), {})
    with pytest.raises(TypeError, match="by position"):
        statement("p", "SELECT $1").values((), {"a": 1})


def test_one_statement_uses_one_kind_of_placeholder():
    with pytest.raises(ValueError, match="mixes"):
        statement("q", "SELECT :a, $2")


def test_an_override_names_the_values_its_statement_does():
    common = statement("q", "SELECT :account_id")
    check_override(common, statement("q", "SELECT :account_id FOR UPDATE"))
    check_override(common, statement("q", "COPY t (account_id) FROM STDIN"))
    with pytest.raises(ValueError, match="override takes"):
        check_override(common, statement("q", "SELECT $1 FOR UPDATE"))
    with pytest.raises(ValueError, match="override takes"):
        check_override(common, statement("q", "SELECT :id FOR UPDATE"))
    check_override(statement("q", ""), statement("q", "SELECT :ids"))  # anything may replace a no-op


def test_both_dialects_name_the_same_values_for_every_statement():
    sqlite, postgres = load("sqlite"), load("postgres")
    for name in sqlite.names():
        if sqlite[name].named and not postgres[name].noop:
            assert set(postgres[name].params) == set(sqlite[name].params), name


async def test_rows_are_read_by_column_name(store):
    created = await store.create_account("alice", "p", "t" * 64, 5)
    row = await store.db.read(lambda c: c.fetchrow("account_by_login", login="alice"))
    assert (row["id"], row["login"], row["balance"]) == (created.id, "alice", 5)
    assert await store.account_by_token_hash("t" * 64) == created
    with pytest.raises(TypeError, match="by name"):
        await store.db.read(lambda c: c.fetchrow("account_by_login", "alice"))
    with pytest.raises(TypeError, match=r"no value for \['login'\]"):
        await store.db.read(lambda c: c.fetchrow("account_by_login", name="alice"))
