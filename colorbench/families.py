"""Finding a baseline family by the name a config gives: a built-in (baselines/registry.py), an
installed plug-in (entry point group `colorbench.baselines`) or an import path `pkg.mod:factory`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from colorbench.errors import UsageError
from colorbench.plugins import (
    PluginSource,
    build,
    entry_points,
    is_import_path,
    load_entry_point,
    load_import_path,
)
from colorbench.registry import UnknownNameError, suggest
from colorbench.typed import FieldError


@dataclass(frozen=True)
class Found:
    factory: Callable
    family: object | None  # the built-in BaselineFamily; None for a plug-in (built from a probe)
    source: PluginSource | None = None


def listed() -> list[dict]:
    """Every baseline a config may name: built-ins, then installed plug-ins (a clash raises)."""
    from baselines.registry import BASELINES

    rows = [{"name": e.name, "description": e.description, "learned": e.obj.learned, "plugin": None}
            for e in BASELINES.entries()]
    for name, ep in entry_points().items():
        _check_clash(name, ep)
        dist = ep.dist
        rows.append({"name": name, "description": f"plug-in {ep.value}", "learned": None,
                     "plugin": {"package": dist.metadata["Name"] if dist else None, "version": dist.version if dist else None}})
    return rows


def _check_clash(name: str, ep) -> None:
    from baselines.registry import BASELINES

    if name in BASELINES:
        package = f"{ep.dist.metadata['Name']} {ep.dist.version}" if ep.dist else ep.value
        raise UsageError(f"the plug-in baseline {name!r} from {package} ({ep.value}) clashes with the built-in "
                         f"baseline {name!r} ({BASELINES.entry(name).description}); rename the plug-in")


def find(model: str, key: str) -> Found:
    """The factory behind a config's model name; FieldError(key) with a did-you-mean if none."""
    from baselines.registry import BASELINES

    if is_import_path(model):
        factory, source = load_import_path(model, key, BASELINES.names())
        return Found(factory, None, source)
    plugins = entry_points()
    if model in plugins:
        _check_clash(model, plugins[model])
        factory, source = load_entry_point(plugins[model], key)
        return Found(factory, None, source)
    try:
        family = BASELINES.get(model)
    except UnknownNameError:

        hint = suggest(model, [*BASELINES.names(), *plugins])
        raise FieldError(key, f"unknown baseline {model!r}{hint}; name a built-in or installed plug-in "
                         "(colorbench list baselines) or an import path 'package.module:factory'") from None
    return Found(family.create, family)


def family_of(found: Found, params: dict, key: str):
    """The BaselineFamily: the built-in one, or one made for a plug-in from a probe model."""
    from baselines.registry import BaselineFamily

    if found.family is not None:
        return found.family
    probe = build(found.factory, params, key)
    learned = probe.objective() is not None
    if learned and probe.train_defaults is None:
        raise FieldError(key, "the plug-in returns an objective() but no train_defaults (a TrainSettings)")
    return BaselineFamily(create=found.factory, objective=probe.objective if learned else None,
                          train_defaults=probe.train_defaults, source=found.source)
