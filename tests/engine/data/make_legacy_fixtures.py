"""Legacy (bundle schema 1, TF 2.15 / Keras 2) fixtures written by the OLD in-process code.

usage: /usr/bin/python3 make_legacy_fixtures.py OLD_CHECKOUT DEPS_FOLDER OUT_FOLDER
"""
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")
old, deps, out = (Path(p).resolve() for p in sys.argv[1:4])
imports = Path(tempfile.mkdtemp(prefix="legacy-import-"))
(imports / "deepprospect").symlink_to(old, target_is_directory=True)
sys.path.insert(0, str(imports))
sys.path.append(str(deps))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deepprospect.core import synthetic  # noqa: E402
from deepprospect.core.sampling import sample_training_points  # noqa: E402
from deepprospect.models.bundle import load_bundle, save_bundle  # noqa: E402
from deepprospect.models.predict import predict_at_pixels  # noqa: E402
from deepprospect.models.training import train_model  # noqa: E402

work = Path(tempfile.mkdtemp(prefix="legacy-work-"))
province = synthetic.generate_province(work / "province", size_km=20, seed=1)
stack = province["truth_evidence"]
points = str(work / "training_points.gpkg")
sample_training_points(stack, province["deposits"], min_distance=500.0, seed=1, output=points)

BUNDLES = {
    "dense": dict(architecture="pradhan2022_dense", ensemble_size=1),
    "cnn2d": dict(architecture="cnn2d_patch", patch_size=3, ensemble_size=1),
    "ensemble": dict(architecture="pradhan2022_dense", ensemble_size=2),
}
# corners (patch padding at the raster edge) and interior pixels of the 80 x 80 stack
PIXELS = [(0, 0), (0, 79), (79, 0), (79, 79), (5, 40), (17, 63), (31, 12), (40, 40), (52, 27), (66, 71)]
out.mkdir(parents=True, exist_ok=True)
shutil.copy(stack, out / "legacy_stack.tif")
rows, cols = np.array(PIXELS).T
record = {"stack": "legacy_stack.tif", "pixels": [list(p) for p in PIXELS], "bundles": {}}
for name, settings in BUNDLES.items():
    path = out / "legacy_bundle_v1_{}.dpm".format(name)
    trained = str(work / path.name)
    train_model(stack, points, epochs=5, seed=42, validation="random", output_model=trained, **settings)
    if name == "ensemble":
        # Two dense members with their Adam state are 2.8 MB: the old code's own load_bundle +
        # save_bundle writes them again without it (members loaded with compile=False), ~1 MB.
        bundle = load_bundle(trained)
        save_bundle(str(path), bundle.members, bundle.metadata, background=bundle.background)
    else:
        shutil.copy(trained, path)
    members = predict_at_pixels(load_bundle(str(path)), stack, rows, cols)
    record["bundles"][path.name] = {
        "settings": settings, "members": [[None if np.isnan(v) else float(v) for v in m] for m in members],
        "mean": [None if np.isnan(v) else float(v) for v in members.mean(axis=0)]}
record["versions"] = {"tensorflow": tf.__version__, "numpy": np.__version__}
(out / "legacy_predictions.json").write_text(json.dumps(record, indent=1) + "\n")
print("written", sorted(os.listdir(out)))
