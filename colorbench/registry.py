"""Explicit registries: entries are added by name, duplicates raise, unknown names suggest."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


def suggest(name: str, options) -> str:
    """' (did you mean X?)' for the closest of `options`, or ''; for names checked outside a Registry."""
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class UnknownNameError(KeyError):
    """A name not in a registry; the message carries did-you-mean suggestions."""

    def __init__(self, kind: str, name: str, suggestions: list[str]):
        self.kind, self.name, self.suggestions = kind, name, suggestions
        hint = f" (did you mean {' or '.join(repr(s) for s in suggestions)}?)" if suggestions else ""
        super().__init__(f"unknown {kind} {name!r}{hint}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    description: str


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, obj: T, description: str) -> T:
        if name in self._entries:
            raise ValueError(f"duplicate {self.kind} {name!r}")
        self._entries[name] = Entry(name, obj, description)
        return obj

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._entries), n=2, cutoff=0.6)
            raise UnknownNameError(self.kind, name, close) from None

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
