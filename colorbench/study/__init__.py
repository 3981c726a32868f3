"""Human studies of a run: MOS (1-5 naturalness) and 2AFC real-vs-fake, served to raters over HTTP.

A study folder holds study.json (spec.py), images/ (only the images the study shows, named by
content hash so a URL reveals nothing) and responses.sqlite (store.py). create.py builds one from a
run folder, app.py is the rater web app (Flask) and serve.py runs it under waitress, analysis.py
and export.py read the votes back.
"""
