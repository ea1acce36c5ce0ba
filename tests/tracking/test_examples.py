"""Every project file under examples/ is one the server takes (as ``track apply`` reads it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_responses.cli.track import read_project
from llm_responses.tracking.spec import ProjectSpec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_an_example_project_is_valid(path):
    spec = ProjectSpec.model_validate(read_project(path))
    assert spec.tasks_per_run > 0 and spec.own_brand is not None


def test_prompts_file_adds_a_csv_prompt_set(tmp_path):
    (tmp_path / "prompts.csv").write_text(
        "user_prompt,tag\nBest parks?,discovery\n,\nBest parks?,discovery\n"
    )
    (tmp_path / "p.toml").write_text(
        'name = "x"\nengines = ["chat_gpt"]\nprompts_file = "prompts.csv"\n[models]\nchat_gpt = "gpt-4.1-mini"\n'
    )
    raw = read_project(tmp_path / "p.toml")
    assert raw["prompts"] == [{"text": "Best parks?", "tags": ["discovery"]}]  # blank and duplicate skipped
