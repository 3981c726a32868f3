"""Human studies of a run, served to raters over HTTP. The kinds of study are the designs in
designs/ (MOS: naturalness 1-5; 2AFC: real vs fake), one module each.

A study folder holds study.json (spec.py), images/ (only the images the study shows, named by
content hash so a URL reveals nothing) and responses.sqlite (store.py). create.py (with trials.py)
builds one from a run folder, app.py is the rater web app (Flask) and serve.py runs it under
waitress; votes.py reads the votes back, analysis.py (with bootstrap.py) and export.py summarise
them, agreement.py sets them against the metrics, report.py feeds the run report's People section.
"""
