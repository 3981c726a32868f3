"""colorbench baselines: colorization models behind one interface (see base.py)."""
