"""What an operator sees of the service: metrics, traces and structured logs (issue 25).

- ``context``: the request and task a log line or an upstream call belongs to (context variables);
- ``metrics``: the Prometheus instruments the hot paths observe, and the ones sampled in the background;
- ``scrape``: ``/metrics``'s body, with what the database knows (queue, workers) read at scrape time;
- ``tracing``: OpenTelemetry spans (the optional ``[otel]`` extra, imported only when enabled);
- ``logs``: the text and JSON-lines formatters, both redacting secrets.

``composition`` builds one ``Observability`` per process and hands its parts to the API, the runner, the
worker, the webhook dispatcher and the store's drivers.
"""
