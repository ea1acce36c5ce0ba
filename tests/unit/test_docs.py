"""Every setting is documented (datasette's pattern): adding one without docs fails here."""

from pathlib import Path

from llm_responses.config import Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()


def test_every_setting_is_in_the_configuration_docs():
    missing = [name for name in Settings.model_fields if f"`LLM_RESPONSES_{name.upper()}`" not in DOC]
    assert missing == []


def test_readme_top_commands_are_the_ones_ci_runs():
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    assert "./dev run" in readme.split("##")[0] and "./dev test" in readme.split("##")[0]
    assert "./dev test" in (root / ".ci" / "run").read_text()
