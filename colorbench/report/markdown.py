"""summary.md: one Markdown table per dataset, small enough for a CI comment."""
from __future__ import annotations

from colorbench.report import data as D


def md_escape(text: str) -> str:
    """Table-safe text: Markdown renderers pass raw HTML through, and '|' would split a cell."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\|`*_[]":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


def _cell(c: D.Cell) -> str:
    if c.failed or c.value is None:
        return "—"
    text = f"**{c.text}**" if c.best else c.text
    if c.similar:
        text += " ≈"
    if c.ci:
        text += f" <sub>{c.ci}</sub>"
    return text


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
        "≈: not distinguishable from the best (paired test, p ≥ 0.05). Subscript: 95% CI. "
        "_N = k, not ranked_: scored on only k of the dataset's test images, so never compared with the full rows.",
    ]
    for dataset in run.datasets:
        board = D.leaderboard(run, dataset)
        if not board.metrics and not board.rows:
            continue
        lines += ["", f"### {md_escape(dataset)}" + (f" (N = {board.n})" if board.n is not None else ""), ""]
        lines += [f"> warning: {md_escape(w)}" for w in board.warnings] + ([""] if board.warnings else [])
        head = ["baseline"] + [f"{md_escape(m.name)} {m.arrow}".strip() + (f" ({md_escape(m.unit)})" if m.unit else "") for m in board.metrics]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" + "".join("---:|" for _ in board.metrics))
        for row in board.rows:
            if row.status == "failed":
                continue  # listed below with the reason
            label = md_escape(row.baseline) + (f" _({row.role})_" if row.role else "")
            if row.subset_n is not None:
                label += f" _(N = {row.subset_n}, not ranked)_"
            lines.append("| " + " | ".join([label] + [_cell(row.cells[m.name]) for m in board.metrics]) + " |")
    failed = [(b, reason) for b in run.baselines if (reason := run.failed_reason(b)) is not None]
    if failed:
        lines += ["", "### Failed baselines", ""]
        lines += [f"- **{md_escape(b)}**: {md_escape(reason)}" for b, reason in failed]
    return "\n".join(lines) + "\n"
