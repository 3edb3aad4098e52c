"""Engine tasks of the evidence-preparation algorithms: synthetic province, IDW, stack, sampling."""
from ..core import synthetic
from .tasks import task


@task("synthetic_province")
def synthetic_province(args, feedback):
    """args: folder, size_km, seed, law (a name of synthetic.LAWS; "linear" when absent, the law of
    callers written before the choice) → every file path of the province, the truth and its counts."""
    result = synthetic.generate_province(args["folder"], size_km=float(args["size_km"]), seed=int(args["seed"]),
                                         feedback=feedback, law=args.get("law", "linear"))
    truth = result["truth"]
    feedback.info("Wrote {} geochemical samples, {} deposits and {} future deposits ({} law) to {}".format(
        truth["sample_count"], truth["deposit_count"], truth["future_deposit_count"], truth["law"], args["folder"]))
    feedback.info("True importance ranking: " + ", ".join(truth["importance_ranking"]))
    return result


@task("idw")
def idw(args, feedback):
    """args: points, layer, fields, output, pixel_size, extent, power, neighbors, radius, log10,
    dask_scheduler (optional: a Dask scheduler's address)."""
    from ..core.idw import interpolate_points

    extent = args.get("extent")
    result = interpolate_points(
        args["points"], args["fields"], args["output"], float(args["pixel_size"]),
        extent=tuple(extent) if extent else None, power=float(args["power"]), neighbors=int(args["neighbors"]),
        radius=float(args["radius"]), log10=bool(args["log10"]), layer=args.get("layer"), feedback=feedback,
        scheduler=args.get("dask_scheduler"))
    return {"path": result["path"], "cv_rmse": result["cv_rmse"]}


@task("stack")
def stack(args, feedback):
    """args: layers [{path, name, categorical, nodata, categories ({code: name}, optional)}], output,
    reference, pixel_size, mask, mask_layer → path, factor_names, factor_kinds ("categorical" or
    "continuous" per band, as the stack's band tags record them), valid_fraction_all."""
    from ..core.stack import build_stack, evidence_layers

    evidence = evidence_layers(args["layers"])
    result = build_stack(evidence, args["output"], reference=args.get("reference"),
                         pixel_size=args.get("pixel_size"), mask=args.get("mask"), mask_layer=args.get("mask_layer"),
                         feedback=feedback)
    return {"path": result["path"], "factor_names": result["factor_names"], "factor_kinds": result["factor_kinds"],
            "valid_fraction_all": result["valid_fraction_all"]}


@task("sample_negatives")
def sample_negatives(args, feedback):
    """args: stack, deposits, deposits_layer, count, min_distance, seed, output (a GeoPackage the front
    copies into the user's sink) → factor names and counts."""
    from ..core.atomic import atomic_output
    from ..core.points import write_geopackage
    from ..core.sampling import sample_training_points

    table = sample_training_points(
        args["stack"], args["deposits"], count=args.get("count") or None, min_distance=float(args["min_distance"]),
        seed=int(args["seed"]), deposits_layer=args.get("deposits_layer"), feedback=feedback)
    factor_names = [column for column in table.columns if column not in ("label", table.geometry.name)]
    table["label"] = table["label"].astype("int32")
    with atomic_output(args["output"]) as temporary:
        write_geopackage(table, temporary, "training_points")
    labels = table["label"].to_numpy()
    return {"path": args["output"], "layer": "training_points", "factor_names": factor_names,
            "deposit_count": int((labels == 1).sum()), "non_deposit_count": int((labels == 0).sum())}
