"""``serve --demo`` as ``./dev run`` starts it: the demo credentials survive restarts, and a busy port
fails before the database is touched."""

import socket
import subprocess

from tests.e2e.processes import CLI, Proc, base_env, free_port


def demo_env(tmp_path, fake_openai, port: int) -> dict[str, str]:
    return base_env(
        LLM_RESPONSES_DATABASE_URL=f"sqlite:///{tmp_path}/demo.db",
        LLM_RESPONSES_PORT=str(port),
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=fake_openai.base_url,
        LLM_RESPONSES_LOCAL_MODEL="off",
    )


def start_and_read_password(env, port) -> str:
    proc = Proc(["serve", "--demo"], env, port=port)
    proc.proc = subprocess.Popen(
        CLI + proc.args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        for line in proc.proc.stdout:
            if line.startswith("Demo account:"):
                return line.split("password ")[1].split()[0]
        raise AssertionError("no demo line printed")
    finally:
        proc.stop()


def test_demo_credentials_are_kept_across_starts(tmp_path, fake_openai):
    port = free_port()
    env = demo_env(tmp_path, fake_openai, port)
    first = start_and_read_password(env, port)
    second = start_and_read_password(env, port)
    assert first == second


def test_a_busy_port_fails_before_the_database_is_touched(tmp_path, fake_openai):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run(
            CLI + ["serve", "--demo"],
            env=demo_env(tmp_path, fake_openai, port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert not (tmp_path / "demo.db").exists()
