"""summary.md: one Markdown table per dataset, small enough for a CI comment."""
from __future__ import annotations

from colorbench.report import data as D


def md_escape(text: str) -> str:
    """Table-safe text: Markdown renderers pass raw HTML through, and '|' would split a cell."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\|`*_[]":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


MAX_COLUMNS = 10  # no table wider than this (a group with more metrics is split); results.csv keeps the wide table


def _cell(c: D.Cell, with_ci: bool = True) -> str:
    if c.failed or c.value is None:
        return "—"
    text = f"**{c.text}**" if c.best else c.text
    if c.similar:
        text += " ≈"
    if with_ci and c.ci:
        text += f" {c.ci}"
    return text


def _head(m: D.MetricInfo) -> str:
    return f"{md_escape(m.name)} {m.arrow}".strip() + (f" ({md_escape(m.unit)})" if m.unit else "")


def _label(row: D.BoardRow) -> str:
    return md_escape(row.baseline) + (f" _({row.role})_" if row.role else "") + (f" _(N = {row.subset_n}, not ranked)_" if row.subset_n is not None else "")


def _table(board: D.Leaderboard, metrics: list[D.MetricInfo], with_n: bool, with_ci: bool) -> list[str]:
    head = ["baseline"] + (["N"] if with_n else []) + [_head(m) for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "".join("---:|" for _ in head[1:])]
    for row in board.rows:
        if row.status == "failed":
            continue  # listed below with the reason
        n = [str(row.subset_n if row.subset_n is not None else board.n if board.n is not None else "?")] if with_n else []
        lines.append("| " + " | ".join([_label(row)] + n + [_cell(row.cells[m.name], with_ci) for m in metrics]) + " |")
    return lines


def _dataset(run: D.Run, dataset: str) -> list[str]:
    """The headline table (baseline, N, the headline metrics with CI), then one table per metric group."""
    from colorbench.report.context import GROUP_ORDER
    from colorbench.report.headline import headline_board, people

    board, top, _ = headline_board(run, dataset)
    if not board.metrics and not board.rows:
        return []
    lines = ["", f"### {md_escape(dataset)}" + (f" (N = {board.n})" if board.n is not None else ""), ""]
    lines += [f"> warning: {md_escape(w)}" for w in board.warnings] + ([""] if board.warnings else [])
    headline = [m for m in board.metrics if m.name in top]
    lines += ["Headline metrics: best agreement with people first, near-duplicates left out. "
              "Agreement with people (HECD pooled SRCC [95% CI]): "
              + "; ".join(f"{md_escape(m.name)} {md_escape(people(m.name)['short'])}" for m in headline), ""]
    lines += _table(board, headline, with_n=True, with_ci=True)
    for group in GROUP_ORDER:
        members = [m for m in board.metrics if m.group == group]
        for k in range(0, len(members), MAX_COLUMNS - 1):
            lines += ["", f"#### {group}" + (f" ({k // (MAX_COLUMNS - 1) + 1})" if len(members) > MAX_COLUMNS - 1 else ""), ""]
            lines += _table(board, members[k:k + MAX_COLUMNS - 1], with_n=False, with_ci=False)
    return lines


def summary_markdown(run: D.Run) -> str:
    from colorbench.protocols.labels import run_banner

    doc = run.doc
    lines = [
        f"## colorbench results · run `{md_escape(doc.run_id)}`",
        "",
        f"scale `{md_escape(doc.scale)}` · device `{md_escape(doc.device)}` · seed {md_escape(doc.seed)}",
        "",
        *[f"> **{md_escape(line)}**\n" for line in run_banner(doc.evaluation, doc.weights)],
        "↑ higher is better, ↓ lower is better. **Bold**: best (reference rows _gray_/_oracle_ excluded). "
        "≈: not distinguishable from the best (paired test, p ≥ 0.05). [lo, hi]: 95% CI (headline table; "
        "every CI is in results.csv). _not ranked_: scored on only N of the dataset's test images, so never compared "
        "with the full rows. Per group: every metric's value; results.csv holds the whole wide table.",
    ]
    for dataset in run.datasets:
        lines += _dataset(run, dataset)
    failed = [(b, reason) for b in run.baselines if (reason := run.failed_reason(b)) is not None]
    if failed:
        lines += ["", "### Failed baselines", ""]
        lines += [f"- **{md_escape(b)}**: {md_escape(reason)}" for b, reason in failed]
    return "\n".join(lines) + "\n"
