"""An agreement result as text: the table `colorbench agreement` prints, which `study analyze`
embeds in its own (so it sits here, below both study/ and report/).
"""
from __future__ import annotations


def fmt(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def fmt_ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "-"


def text_table(result: dict) -> str:
    rows = [("metric", "better", "n", "SRCC", "95% CI", "KRCC", "PLCC", "within-scene SRCC", "systems tau")]
    for name, m in result["metrics"].items():
        tau = result["systems"]["metrics"][name]["kendall_tau"]
        srcc = "undefined" if m.get("undefined") else fmt(m["srcc"])
        rows.append((name, m["direction"], str(m["n"]), srcc, fmt_ci(m["srcc_ci"]), fmt(m["krcc"]),
                     fmt(m["plcc"]), fmt(m["within_scene"]["srcc"]), fmt(tau)))
    rows = _bounds_columns(rows, result)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines += [f"{name}: undefined ({m['undefined']})" for name, m in result["metrics"].items() if m.get("undefined")]
    lines += [f"{name}: no value for {', '.join(r['missing'])} (left out of its ranking and systems tau)"
              for name, r in result["systems"]["metrics"].items() if r.get("missing")]
    people = result["systems"]["people"]
    if people:
        lines.append("")
        what = "mean score" if result["zscore"]["method"] == "none" else "mean z-score"
        lines.append(f"systems by people ({what} [95% CI]; MOS): " + "; ".join(
            f"{p['rank']}. {p['system']} {p['mean_z']:+.3f} {fmt_ci(p['mean_z_ci'])}, {p['mos']:.2f}" for p in people))
    lines.append(f"n = {result['n']} rated images, {len(result['scenes'])} scenes; signed so that positive = agrees with people")
    lines.extend(_ceiling_lines(result))
    return "\n".join(lines)


# People's ceiling and pairwise accuracy (colorbench.human.bounds); results without them
# (an analysis.json written before they existed) are shown as they are.
def _bounds_columns(rows: list[tuple], result: dict) -> list[tuple]:
    """The text table with pairwise accuracy [95% CI] and SRCC as a fraction of the ceiling."""
    if "ceiling" not in result:
        return rows
    out = [(*rows[0], "pairwise acc", "95% CI", "SRCC/ceiling")]
    for row, m in zip(rows[1:], result["metrics"].values()):
        out.append((*row, fmt(m["pairwise_acc"]["value"]), fmt_ci(m["pairwise_acc"]["ci"]), fmt(m["of_ceiling"]["srcc"], 2)))
    return out


def _ceiling_lines(result: dict) -> list[str]:
    c = result.get("ceiling")
    if not c:
        return []
    acc, band = c["pairwise_acc"], result["pairwise"]["tie_band"]
    return [f"people's ceiling (split-half, Spearman-Brown, {c['splits']} splits): SRCC {fmt(c['srcc'])} {fmt_ci(c['ci'])}, "
            f"within-scene {fmt(c['within_scene']['srcc'])} {fmt_ci(c['within_scene']['ci'])}; half-vs-half pairwise "
            f"accuracy {fmt(acc['value'])} {fmt_ci(acc['ci'])}",
            f"pairwise accuracy: same-scene pairs whose people's mean z-scores differ by more than {band:.3f} "
            f"({result['pairwise']['tie_band_rule']}); metric ties count 0.5; chance {result['pairwise']['chance']}"]
