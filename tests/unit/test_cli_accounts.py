"""``llm-responses accounts``: passwords that stay out of ``ps``, negative top-ups, the key file."""

import json
import os
import stat

from click.testing import CliRunner

from llm_responses.cli import main


def run(tmp_path, *args, input=None):
    env = {"LLM_RESPONSES_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def test_create_reads_a_chosen_password_from_stdin_or_a_prompt(tmp_path):
    out = run(
        tmp_path, "accounts", "create", "alice", "--password-stdin", "--json", input="s3cret-from-stdin\n"
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["password"] == "s3cret-from-stdin"
    out = run(
        tmp_path, "accounts", "create", "bob", "--prompt-password", "--json", input="typed-pw\ntyped-pw\n"
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.splitlines()[-1])["password"] == "typed-pw"
    assert "typed-pw" not in out.output.splitlines()[0]  # not echoed while typed
    out = run(tmp_path, "accounts", "create", "carol", "--password", "x", "--password-stdin", input="y\n")
    assert out.exit_code != 0 and "choose one" in out.output


def test_topup_takes_negative_amounts_plainly_and_guards_the_balance(tmp_path):
    run(tmp_path, "accounts", "create", "alice", "--balance", "50")
    out = run(tmp_path, "accounts", "topup", "alice", "-20", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["balance"] == "30"
    out = run(tmp_path, "accounts", "topup", "alice", "-100")
    assert out.exit_code == 1 and "below zero" in out.output
    out = run(tmp_path, "accounts", "topup", "alice", "-100", "--allow-negative", "--json")
    assert json.loads(out.output)["balance"] == "-70"


def test_the_credential_key_lives_in_a_private_file_not_the_database(tmp_path):
    import sqlite3

    run(tmp_path, "accounts", "create", "alice")
    key_path = tmp_path / "cli.db.key"
    assert key_path.exists() and stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    key = key_path.read_text().strip()
    rows = dict(sqlite3.connect(tmp_path / "cli.db").execute("SELECT key, value FROM meta").fetchall())
    assert key not in rows.values()
    assert "credential_key_fingerprint" in rows
