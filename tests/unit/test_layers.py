"""The import-linter contracts in pyproject.toml stay complete as the package grows (``lint-imports``
checks the imports themselves; this checks that the contracts name every module they should)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import llm_responses

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(llm_responses.__file__).parent


def contract(name: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return next(c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == name)


def top_level() -> set[str]:
    """Every module and package directly under llm_responses."""
    return {
        p.stem
        for p in PACKAGE.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists())
    }


def test_providers_and_search_are_forbidden_everything_but_core_and_errors():
    forbidden = contract("providers and search import only core and errors")["forbidden_modules"]
    assert sorted(forbidden) == sorted(
        f"llm_responses.{m}" for m in top_level() - {"core", "errors", "providers", "search"}
    )


def test_the_layers_name_every_top_level_module():
    layers = contract("layers")["layers"]
    named = {m.strip() for layer in layers for m in layer.split("|")}
    assert named == top_level()  # a module in no layer would be free to import anything
