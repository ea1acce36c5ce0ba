"""Settings are checked when the process starts: a misspelt or impossible setting stops it, by name."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from llm_responses.config import Settings
from llm_responses.config_tables import ProviderConfig


@pytest.mark.slow
def test_a_misspelt_provider_key_stops_serve_naming_the_key(tmp_path):
    config = tmp_path / "llm-responses.toml"
    config.write_text(
        '[[providers]]\nname = "gpu"\nbase_url = "http://gpu:8000/v1"\napi_kye_env = "GPU_KEY"\n'
    )
    env = {**os.environ, "LLM_RESPONSES_CONFIG": str(config)}
    done = subprocess.run(
        [sys.executable, "-m", "llm_responses", "serve", "--database-url", f"sqlite:///{tmp_path}/x.db"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "providers.0.api_kye_env: Extra inputs are not permitted" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()  # nothing was touched


def test_a_misspelt_model_key_is_refused_with_its_name():
    with pytest.raises(ValidationError, match="input_prise"):
        Settings(models=[{"name": "m", "provider": "gpu", "input_prise": 1}])


def test_enumerated_settings_refuse_other_values_and_keep_accepting_upper_case():
    assert Settings(local_model="OFF", search_backend="None").local_model == "off"
    for bad in ({"local_model": "maybe"}, {"search_backend": "google"}, {"local_model_planner": "llm"}):
        with pytest.raises(ValidationError, match=next(iter(bad))):
            Settings(**bad)
    with pytest.raises(ValidationError, match="api"):
        ProviderConfig(name="gpu", base_url="http://gpu/v1", api="completions")


def test_updated_validates_like_the_original():
    changed = Settings().updated({"providers": [{"name": "gpu", "base_url": "http://gpu/v1"}]})
    assert changed.providers == [ProviderConfig(name="gpu", base_url="http://gpu/v1")]
    with pytest.raises(ValidationError, match="worker_concurrency"):
        Settings().updated({"worker_concurrency": "many"})


def test_the_views_carry_the_flat_settings():
    settings = Settings(worker_concurrency=3, result_retention_days=2, webhook_secret_cache_seconds=0)
    assert settings.worker().concurrency == 3
    assert settings.service().retention_seconds == 2 * 86400
    assert settings.webhooks().secret_cache_seconds == 0
