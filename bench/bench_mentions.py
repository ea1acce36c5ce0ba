"""Brand extraction from stored answers: answers per second for 10 tracked entities
(``analysis.mentions.find``, what the indexer runs once per answer), against a naive case-insensitive substring scan (Elmo's
matching, no word boundaries, no URL blanking, no positions) measured in the same run.

Run: ./dev bench   (or .venv/bin/python bench/bench_mentions.py [answers])
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from llm_responses.analysis.mentions import Entity, find  # noqa: E402

NAMES = ["Disneyland Paris", "Parc Astérix", "Futuroscope", "Puy du Fou", "Walibi", "Nigloland", "Vulcania",
         "Europa-Park", "PortAventura", "Efteling"]  # fmt: skip
ENTITIES = [
    Entity(n, (n.split()[0],), (n.lower().replace(" ", "") + ".com",), competitor=i > 0)
    for i, n in enumerate(NAMES)
]
FILLER = (
    "the park offers rides shows and hotels for families visiting France this summer with tickets".split()
)


def answers(n: int, rng: random.Random) -> list[tuple[str, list[str]]]:
    out = []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(120)]
        for name in rng.sample(NAMES, 3):
            words.insert(rng.randrange(len(words)), name)
        words.insert(rng.randrange(len(words)), "https://www.futuroscope.com/fr/billets")
        out.append((" ".join(words), [f"https://{rng.choice(NAMES).lower().replace(' ', '')}.com/x"]))
    return out


def main(n: int = 20000) -> None:
    data = answers(n, random.Random(7))
    t0 = time.perf_counter()
    hits = 0
    for text, urls in data:
        hits += sum(h.mentioned for h in find(text, urls, ENTITIES))
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = 0
    for text, _ in data:
        lowered = text.lower()
        naive += sum(1 for e in ENTITIES if any(t.lower() in lowered for t in e.terms))
    base = time.perf_counter() - t0
    print(f"brand extraction, {len(ENTITIES)} entities, {n} answers of ~130 words")
    print(f"  ours (word boundaries, URLs blanked, positions, citations): {n / ours:,.0f} answers/s")
    print(f"  naive substring scan (baseline, same run):                 {n / base:,.0f} answers/s")
    print(
        f"  ratio {ours / base:.1f}x the baseline's time; 1M answers ≈ {1_000_000 / (n / ours):.0f} s; mentions {hits}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 20000)
