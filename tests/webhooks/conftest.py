import pytest

from tests.fakes.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver():
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def hook_settings(settings):
    """Loopback allowlisted explicitly (the guard refuses it by default); fast retries for tests."""
    return settings.updated(
        {
            "webhook_allowlist": "127.0.0.1/32",
            "webhook_poll_seconds": 0.05,
            "webhook_timeout_seconds": 2.0,
            "webhook_max_attempts": 3,
            "webhook_retry_horizon_seconds": 0.3,
        }
    )
