"""What an evaluation protocol is: a name, where its definitions come from, its metrics (specs
and streaming accumulators, run by colorbench's one scoring engine) and each one's quirks."""
from __future__ import annotations

from dataclasses import dataclass, field

from colorbench.errors import UsageError
from colorbench.metrics.base import MetricSpec
from colorbench.registry import Registry


@dataclass(frozen=True)
class Protocol:
    name: str
    source: str  # "owner/repository@commit: path, path" (the code whose numbers it reproduces)
    summary: str  # one line: what it is
    metrics: Registry[MetricSpec]
    default_metrics: tuple[str, ...]
    quirks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # metric ("" = all) -> quirks
    undefined: dict[str, str] = field(default_factory=dict)  # metric names deliberately absent -> why
    pred_prefix: str = ""  # a prediction file-name prefix accepted besides the plain name (CT2: fake_)

    def spec(self, name: str) -> MetricSpec:
        """The metric as this protocol defines it; a name it does not define is a usage error."""
        if name in self.undefined:
            raise UsageError(f"protocol {self.name!r} does not define metric {name!r}: {self.undefined[name]}")
        return self.metrics.get(name)  # UnknownNameError (exit 2) with did-you-mean

    def resolve(self, names: list[str] | None) -> list[str]:
        """The metrics to compute: `names` (each checked, duplicates dropped) or the defaults."""
        if not names:
            return list(self.default_metrics)
        for name in names:
            self.spec(name)
        return list(dict.fromkeys(names))

    def describe(self) -> dict:
        """`colorbench list protocols --json`: name, source, and each metric's definition and quirks."""
        return {
            "name": self.name, "source": self.source, "summary": self.summary,
            "quirks": list(self.quirks.get("", ())), "default_metrics": list(self.default_metrics),
            "metrics": [{"name": e.name, "definition": e.obj.definition, "quirks": list(self.quirks.get(e.name, ())),
                         "higher_is_better": e.obj.higher_is_better, "unit": e.obj.unit,
                         "weights": list(e.obj.weights)} for e in self.metrics.entries()],
            "undefined": dict(self.undefined),
        }


def metric_registry(protocol: str, specs) -> Registry[MetricSpec]:
    """A protocol's own metric registry (its errors say "unknown <protocol> metric ...")."""
    registry: Registry[MetricSpec] = Registry(f"{protocol} metric")
    for spec in specs:
        registry.register(spec.name, spec, spec.definition)
    return registry
