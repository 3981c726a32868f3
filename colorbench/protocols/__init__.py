"""Published evaluation protocols, reproduced quirk by quirk and named.

A protocol (base.Protocol) is data: its source (repository @ commit: files), its metrics as
MetricSpecs with streaming accumulators (so `colorbench score --protocol NAME` and `run` with
`evaluation: {protocol: NAME}` go through the one scoring engine, under torchrun and in sharded
runs too), its default metric set and each metric's quirks. registry.PROTOCOLS lists them:
  colorbench  today's definitions (the default)
  ct2         shuchenweng/CT2 @ cd40f5a (ct2.py)
  ddcolor     piddnad/DDColor @ 2adb63f (ddcolor.py)
labels.py says which weights each number came from, and flags unverified ones.
"""
