"""Just enough HTML parsing for the report tests (stdlib only): leaderboard tables and tau cells."""
from __future__ import annotations

from html.parser import HTMLParser


class ReportParser(HTMLParser):
    """Collects every leaderboard (per data-dataset) as rows of cells, and every tau cell."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.boards: dict[str, list[dict]] = {}
        self.headers: dict[str, list[dict]] = {}
        self.taus: list[dict] = []
        self.imgs: list[dict] = []
        self._board = None
        self._row = None
        self._cell = None
        self._th = None
        self._span = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "img":
            self.imgs.append(a)
        if tag == "table" and "leaderboard" in classes:
            self._board = a["data-dataset"]
            self.boards[self._board], self.headers[self._board] = [], []
        elif self._board is None and tag == "td" and "data-tau" in a:
            self.taus.append(a)
        if self._board is None:
            return
        if tag == "tr" and "data-baseline" in a:
            self._row = {"baseline": a["data-baseline"], "classes": classes, "cells": {}, "text": ""}
            self.boards[self._board].append(self._row)
        elif tag == "th" and self._row is None:
            self._th = {"title": a.get("title"), "text": ""}
            self.headers[self._board].append(self._th)
        elif tag == "td" and self._row is not None:
            self._cell = {"classes": classes, "title": a.get("title"), "v": a.get("data-v"), "strong": False, "sim": False, "ci": "", "text": ""}
            self._row["cells"][a["data-metric"]] = self._cell
        elif self._cell is not None:
            if tag == "strong":
                self._cell["strong"] = True
            self._span.append(classes)
            if "sim" in classes:
                self._cell["sim"] = True

    def handle_endtag(self, tag):
        if self._board is None:
            return
        if tag == "table":
            self._board = None
        elif tag == "tr":
            self._row = None
        elif tag == "td":
            self._cell = None
        elif tag == "th":
            self._th = None
        elif self._cell is not None and self._span:
            self._span.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
            if self._span and "ci" in self._span[-1]:
                self._cell["ci"] += data
        elif self._row is not None:
            self._row["text"] += data
        elif self._th is not None:
            self._th["text"] += data


def parse(html: str) -> ReportParser:
    p = ReportParser()
    p.feed(html)
    p.close()
    return p
