"""Baselines from outside colorbench: an import path named in a config (`model: "pkg.mod:create"`)
or a factory an installed package declares in the entry-point group `colorbench.baselines`.

Either way the factory is called with the row's `params` and must return a colorbench.api.Baseline.
A model that also provides `objective()` and `train_defaults` is trained like a built-in
baseline; one that does not is evaluated as it is. Its checkpoints and provenance are keyed on
its code: the SHA-256 of every Python file of the factory's top-level package (or of its one
module), and for an installed package its name and version.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from colorbench.contracts import Baseline
from colorbench.errors import UsageError
from colorbench.registry import suggest
from colorbench.typed import FieldError

ENTRY_POINT_GROUP = "colorbench.baselines"
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class PluginSource:
    """Where a plug-in baseline comes from (recorded in run.json and in its checkpoint key)."""

    kind: str  # "import path" | "entry point"
    target: str  # "pkg.mod:create"
    code_sha256: str  # of the top-level package's (or the module's) Python files
    package: str | None = None  # the installed distribution, for entry points
    version: str | None = None

    def describe(self) -> str:
        where = f" ({self.package} {self.version})" if self.package else ""
        return f"{self.kind} {self.target}{where}, code sha256 {self.code_sha256[:12]}"


def is_import_path(name: str) -> bool:
    return bool(_IMPORT_PATH.match(name))


def code_sha256(module_name: str) -> str:
    """SHA-256 over the sources of the module's top-level package (or of the module alone); a
    module without a file (built into the interpreter) by its name and the Python version."""
    top = importlib.import_module(module_name.split(".")[0])
    digest = hashlib.sha256()
    if hasattr(top, "__path__"):  # a package: every module of it, named relative to its folder
        files = [(f.relative_to(root).as_posix(), f) for root in map(Path, top.__path__) for f in root.rglob("*.py")]
    elif getattr(top, "__file__", None):
        files = [(Path(top.__file__).name, Path(top.__file__))]
    else:
        files = []
        digest.update(f"built-in module {top.__name__} of Python {sys.version}".encode() + b"\0")
    for name, path in sorted(files):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _summary(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):  # plug-in code must not end colorbench (exit 0 would read as success)
        return f"it called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def load_import_path(target: str, key: str, known: list[str]) -> tuple[Callable, PluginSource]:
    """The factory named by 'pkg.mod:attr'; FieldError(key) when it cannot be had."""

    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise FieldError(key, f"no module {module_name!r} for the import path {target!r}"
                             + suggest(target, known)) from None
        raise FieldError(key, f"importing {module_name!r} failed: {_summary(exc)}") from None
    except (Exception, SystemExit) as exc:  # the plug-in's own import-time error, summarised
        raise FieldError(key, f"importing {module_name!r} failed: {_summary(exc)}") from None
    factory = module
    for part in attr.split("."):
        factory = getattr(factory, part, None)
    if not callable(factory):
        raise FieldError(key, f"{module_name!r} has no callable {attr!r}")
    _check_not_builtin(factory, target, key)
    return factory, PluginSource("import path", target, code_sha256(module_name))


def _check_not_builtin(factory: Callable, target: str, key: str) -> None:
    """sys:exit, builtins:print, os:_exit: the factory is called to probe it, and these are no factories."""
    if inspect.isbuiltin(factory):
        raise FieldError(key, f"{target!r} is a built-in function, not a factory returning a colorbench.api.Baseline")


def entry_points() -> dict[str, metadata.EntryPoint]:
    """Installed plug-ins by name; two packages claiming one name is an error naming both."""
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            raise UsageError(f"plug-in baseline {ep.name!r} is declared twice: {_package(found[ep.name])} "
                             f"and {_package(ep)}")
        found[ep.name] = ep
    return found


def _package(ep: metadata.EntryPoint) -> str:
    dist = ep.dist
    return f"{dist.metadata['Name']} {dist.version} ({ep.value})" if dist else ep.value


def load_entry_point(ep: metadata.EntryPoint, key: str) -> tuple[Callable, PluginSource]:
    try:
        factory = ep.load()
    except (Exception, SystemExit) as exc:
        raise FieldError(key, f"loading plug-in {ep.name!r} ({ep.value}) failed: {_summary(exc)}") from None
    _check_not_builtin(factory, ep.value, key)
    dist = ep.dist
    source = PluginSource("entry point", ep.value, code_sha256(ep.module),
                          dist.metadata["Name"] if dist else None, dist.version if dist else None)
    return factory, source


def build(factory: Callable, params: dict, key: str) -> Baseline:
    """Call the factory with `params` (checked against its signature); it must return a Baseline."""
    from colorbench.settings import check_params

    check_params(factory, params, f"{key}.params")
    try:
        model = factory(**params)
    except SystemExit as exc:
        raise FieldError(key, f"not a factory returning a colorbench.api.Baseline: {_summary(exc)}") from None
    except Exception as exc:
        raise FieldError(f"{key}.params", f"the factory raised {_summary(exc)}") from None
    if not isinstance(model, Baseline):
        raise FieldError(key, f"the factory returned a {type(model).__name__}, not a colorbench.api.Baseline")
    return model
