"""`colorbench study create|serve|invite|analyze|export`: human studies of a run."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from colorbench.errors import UsageError


def _names(values: list[str] | None) -> list[str] | None:
    """--x a b, --x a,b or both."""
    if not values:
        return None
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _create(args) -> int:
    from colorbench.study.create import CreateOptions, create_study

    opts = CreateOptions(args.design, args.per_baseline, _names(args.datasets), _names(args.baselines), args.seed, args.practice,
                         args.vigilance, args.vigilance_max_fail, args.include_references, args.name,
                         Path(args.out) if args.out else None, args.force)
    folder, study = create_study(Path(args.run_dir), opts)
    for name, why in study.settings.skipped_baselines.items():
        print(f"colorbench study: left out {name}: {why}", file=sys.stderr)
    for dataset, ids in study.settings.skipped_scenes.items():
        print(f"colorbench study: {dataset}: {len(ids)} test images left out (an image missing or outside the run folder): "
              f"{', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''}", file=sys.stderr)
    _note_reused_scenes(study)
    kinds = {k: sum(t.kind == k for t in study.trials) for k in ("main", "practice", "vigilance")}
    print(f"study {study.name} ({study.design}): {kinds['main']} trials ({study.settings.per_baseline} per baseline and dataset; "
          f"{', '.join(study.settings.baselines)} on {', '.join(study.settings.datasets)}), {kinds['practice']} practice, "
          f"{kinds['vigilance']} vigilance, {len(study.images)} images")
    print(f"folder: {folder}")
    print(f"next:   colorbench study serve {folder}")
    return 0


def _note_reused_scenes(study) -> None:
    """Designs that allow it (MOS; 2AFC refuses): practice and vigilance trials that fell back on main scenes."""
    main_scenes = {(t.dataset, t.image_id) for t in study.trials if t.kind == "main"}
    extra = [(t.dataset, t.image_id) for t in study.trials if t.kind != "main"]
    reused = sum(scene in main_scenes for scene in extra)
    if reused:
        left = len(extra) - reused  # the other scenes are used up first
        print(f"colorbench study: {reused} of the {len(extra)} practice and vigilance trials show main scenes: only {left} "
              f"test image{'s lie' if left != 1 else ' lies'} outside the {study.settings.per_baseline} main scenes of each dataset "
              f"({study.rules.scenes_note}; lower --per-baseline to avoid it)", file=sys.stderr)


def _serve(args) -> int:
    from colorbench.study.serve import serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, got {args.port}")
    if args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    return serve(Path(args.study_dir), args.host, args.port, args.threads)


def _invite(args) -> int:
    from colorbench.study.spec import DB_FILE, load_study
    from colorbench.study.store import Store
    from colorbench.study.trials import session_schedule

    if args.n < 1:
        raise UsageError(f"-n must be at least 1, got {args.n}")
    folder = Path(args.study_dir)
    study = load_study(folder)
    store = Store(folder / DB_FILE, study.fingerprint)
    base = args.url.rstrip("/")
    for _ in range(args.n):
        token = store.new_session(lambda tok, index: session_schedule(study, tok, index), origin="invite")
        print(f"{base}/s/{token}")
    return 0


def _analyze(args) -> int:
    from colorbench.study.analysis import ANALYSIS_FILE, analyze, format_table

    result = analyze(Path(args.study_dir), seed=args.seed)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    print(f"written: {Path(args.study_dir) / ANALYSIS_FILE}", file=sys.stderr)
    return 0


def _export(args) -> int:
    from colorbench.study.export import export_study

    folder, info = export_study(Path(args.study_dir))
    print(f"{folder}: {info['items']} items, {info['ratings']} ratings from {info['raters_counted']} raters "
          f"({info['raters_excluded']} excluded by vigilance, not written)")
    return 0


def register(sub) -> None:
    # the designs are plain data: no numpy, pandas or flask at start-up
    from colorbench.study.designs import DESIGNS

    p = sub.add_parser("study", help="human studies of a run: create, serve, invite, analyze, export")
    ss = p.add_subparsers(dest="study_command", required=True, metavar="STEP")

    c = ss.add_parser("create", help="sample trials from a run folder into a study folder")
    c.add_argument("run_dir", help="a finished run folder (run.json, gt/, outputs/)")
    c.add_argument("--design", required=True, choices=DESIGNS.names(), help="; ".join(f"{e.name}: {e.description}" for e in DESIGNS.entries()))
    c.add_argument("--per-baseline", type=int, default=10, metavar="N", help="scenes per dataset; every baseline is shown on each (default 10)")
    c.add_argument("--datasets", nargs="+", metavar="D1,D2", help="datasets of the run (default: all)")
    c.add_argument("--baselines", nargs="+", metavar="B1,B2", help="baselines of the run (default: every ok model, no gray/oracle)")
    c.add_argument("--include-references", action="store_true", help="also show the floor/ceiling reference rows (gray, oracle)")
    c.add_argument("--seed", type=int, default=0, help="seeds the sampling and every rater's order (default 0)")
    c.add_argument("--practice", type=int, default=3, metavar="K", help="practice trials, first, not counted (default 3)")
    c.add_argument("--vigilance", type=int, default=4, metavar="K", help="hue-rotated check trials mixed in (default 4)")
    c.add_argument("--vigilance-max-fail", type=float, default=0.25, metavar="SHARE",
                   help="exclude a rater failing more than this share of vigilance trials (default 0.25)")
    c.add_argument("--name", help="study name (default: the design); folder RUN_DIR/studies/NAME")
    c.add_argument("--out", help="put the study folder here instead")
    c.add_argument("--force", action="store_true", help="replace an existing study folder (its votes are discarded)")
    c.set_defaults(func=_create)

    s = ss.add_parser("serve", help="serve a study to raters (one server per study)")
    s.add_argument("study_dir")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for a LAN)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    s.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    s.set_defaults(func=_serve)

    i = ss.add_parser("invite", help="print K personal rater links (new sessions)")
    i.add_argument("study_dir")
    i.add_argument("-n", type=int, default=1, help="number of links (default 1)")
    i.add_argument("--url", default="http://127.0.0.1:8000", help="the server's address as raters reach it (default http://127.0.0.1:8000)")
    i.set_defaults(func=_invite)

    a = ss.add_parser("analyze", help="scores with CIs, exclusions, agreement -> STUDY_DIR/analysis.json")
    a.add_argument("study_dir")
    a.add_argument("--json", action="store_true", help="print the analysis as JSON")
    a.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    a.set_defaults(func=_analyze)

    e = ss.add_parser("export", help="counted votes as a rated folder (STUDY_DIR/export/)")
    e.add_argument("study_dir")
    e.set_defaults(func=_export)
