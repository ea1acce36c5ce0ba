"""Reading a ``/metrics`` exposition in tests: a sample's value by name and labels, every family's name."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class Exposition:
    def __init__(self, text: str) -> None:
        self.families = list(text_string_to_metric_families(text))

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called ``name`` whose labels include ``labels`` (0 when none)."""
        return sum(
            s.value
            for f in self.families
            for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def label_values(self, name: str, label: str) -> set[str]:
        return {
            s.labels[label] for f in self.families for s in f.samples if s.name == name and label in s.labels
        }

    @property
    def names(self) -> set[str]:
        """Every name a query may use: families' and their samples' (``_bucket``, ``_count``, ``_sum``,
        ``_total``), a labelled family without samples yet included."""
        suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",)}
        out = {f.name for f in self.families}
        out |= {f.name + suffix for f in self.families for suffix in suffixes.get(f.type, ())}
        return out | {s.name for f in self.families for s in f.samples}
