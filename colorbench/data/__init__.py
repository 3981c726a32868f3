"""Datasets: sources, hygiene, deterministic splits and resizing for colorbench.

Import what you need from the submodules (nothing is imported here, so the config stays light):
    from colorbench.data.prepare import load_dataset
    from colorbench.data.spec import DatasetConfig, LoadOptions, TEST_ONLY
    prepared = load_dataset(DatasetConfig(name="kodak24", split=TEST_ONLY), LoadOptions(size=256))
    test = prepared.split("test")        # torch Dataset of (id, (3, S, S) float32 in [0, 1])
    print(prepared.report.summary())     # always check what was excluded and why
"""
