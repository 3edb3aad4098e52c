"""Independent references for the QGIS-side tests: GDAL/OGR (QGIS's own bindings), the system's
numpy, qgis_process, and the engine's Python for making test data.

The test process is QGIS's Python: it must never import ``deepprospect.core``/``models`` (they
need the engine's packages), so every expected value here is computed with GDAL/OGR and numpy
from the files the algorithms wrote.
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()

ROOT = Path(__file__).resolve().parent.parent.parent
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
CRS = "EPSG:32645"
#: core/raster.py's nodata of evidence stacks and probability maps (a documented contract).
STACK_NODATA = -9999.0


# Rasters ------------------------------------------------------------------------------------

def read_raster(path):
    """(data float64 (bands, rows, cols), nodata, band descriptions, info) of a raster, via GDAL.

    ``info``: dtype name, EPSG code, geotransform, block size of band 1, width, height.
    """
    dataset = gdal.Open(str(path))
    bands = [dataset.GetRasterBand(i + 1) for i in range(dataset.RasterCount)]
    data = np.array([band.ReadAsArray() for band in bands]).astype(np.float64)
    spatial = osr.SpatialReference(wkt=dataset.GetProjection()) if dataset.GetProjection() else None
    info = dict(dtype=gdal.GetDataTypeName(bands[0].DataType).lower(), transform=dataset.GetGeoTransform(),
                epsg=int(spatial.GetAuthorityCode(None)) if spatial and spatial.GetAuthorityCode(None) else None,
                block=tuple(bands[0].GetBlockSize()), width=dataset.RasterXSize, height=dataset.RasterYSize,
                metadata=dataset.GetMetadata("IMAGE_STRUCTURE"))
    return data, bands[0].GetNoDataValue(), [band.GetDescription() for band in bands], info


def is_tiled(info):
    """A GeoTIFF is tiled when its blocks are square multiples of 16 rather than full-width strips."""
    block_x, block_y = info["block"]
    return block_x == block_y and block_x % 16 == 0 and block_y > 1


def write_raster(path, data, geotransform, names, nodata=STACK_NODATA, epsg=32645, block=None):
    """A float32 GeoTIFF with band descriptions (optionally tiled with ``block``-pixel tiles)."""
    data = np.asarray(data, dtype=np.float32)
    options = ["COMPRESS=DEFLATE"]
    if block:
        options += ["TILED=YES", "BLOCKXSIZE={}".format(block), "BLOCKYSIZE={}".format(block)]
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), data.shape[2], data.shape[1], data.shape[0],
                                                    gdal.GDT_Float32, options)
    dataset.SetGeoTransform(geotransform)
    spatial = osr.SpatialReference()
    spatial.ImportFromEPSG(epsg)
    dataset.SetProjection(spatial.ExportToWkt())
    for index, name in enumerate(names):
        band = dataset.GetRasterBand(index + 1)
        band.SetNoDataValue(nodata)
        band.SetDescription(name)
        band.WriteArray(data[index])
    dataset = None
    return str(path)


def set_band_description(path, band, text):
    dataset = gdal.Open(str(path), gdal.GA_Update)
    dataset.GetRasterBand(band).SetDescription(text)
    dataset = None


def pixel_of(geotransform, xy):
    """(rows, cols) of the pixels holding map coordinates ``xy`` (n, 2) for a north-up raster."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    cols = np.floor((xy[:, 0] - geotransform[0]) / geotransform[1]).astype(int)
    rows = np.floor((xy[:, 1] - geotransform[3]) / geotransform[5]).astype(int)
    return rows, cols


def pixel_centres(geotransform, rows, cols):
    """Map coordinates (n, 2) of pixel centres."""
    rows, cols = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
    return np.column_stack([geotransform[0] + (cols + 0.5) * geotransform[1],
                            geotransform[3] + (rows + 0.5) * geotransform[5]])


# Vectors ------------------------------------------------------------------------------------

_OGR_TYPES = {"f": ogr.OFTReal, "i": ogr.OFTInteger, "u": ogr.OFTInteger, "O": ogr.OFTString, "U": ogr.OFTString}


def write_points(path, xy, columns, layer="samples", epsg=32645):
    """A GeoPackage point layer; ``columns``: name → values (numbers, strings or None)."""
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    spatial = osr.SpatialReference()
    spatial.ImportFromEPSG(epsg)
    table = source.CreateLayer(layer, spatial, ogr.wkbPoint)
    arrays = {name: np.asarray(values, dtype=object if any(v is None for v in values) else None)
              for name, values in columns.items()}
    for name, values in arrays.items():
        kind = values.dtype.kind
        if kind == "O":
            known = [v for v in values if v is not None]
            kind = np.asarray(known).dtype.kind if known else "f"
        table.CreateField(ogr.FieldDefn(name, _OGR_TYPES[kind]))
    for index, (x, y) in enumerate(np.asarray(xy, dtype=np.float64)):
        feature = ogr.Feature(table.GetLayerDefn())
        for name, values in arrays.items():
            value = values[index]
            if value is None:
                feature.SetFieldNull(name)
            else:
                feature.SetField(name, value.item() if hasattr(value, "item") else value)
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(float(x), float(y))
        feature.SetGeometry(point)
        table.CreateFeature(feature)
    source = None
    return str(path)


def read_points(path, layer=None):
    """(xy (n, 2), {field: list of values}) of a point layer, via OGR."""
    source = ogr.Open(str(path))
    table = source.GetLayerByName(layer) if layer else source.GetLayer(0)
    definition = table.GetLayerDefn()
    names = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    xy, attributes = [], {name: [] for name in names}
    for feature in table:
        geometry = feature.GetGeometryRef()
        xy.append((geometry.GetX(), geometry.GetY()))
        for name in names:
            attributes[name].append(feature.GetField(name))
    return np.array(xy, dtype=np.float64).reshape(-1, 2), attributes


# qgis_process and the engine's Python -------------------------------------------------------

def profile_plugin_link():
    """Where ``make install`` links this checkout as the QGIS profile's plugin."""
    from deepprospect import engine_environment

    return engine_environment.default_profile_folder() / "python" / "plugins" / "deepprospect"


def qgis_process(*arguments, timeout=600):
    """Run ``qgis_process.bin`` headless; returns the CompletedProcess."""
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([QGIS_PROCESS, *arguments], capture_output=True, text=True, timeout=timeout,
                          env=environment)


def qgis_process_run(algorithm, parameters, timeout=600):
    """``qgis_process --json run algorithm -- NAME=value …``; asserts success, returns the results.

    ``parameters``: list of (name, value) pairs (a name may repeat, e.g. for multiple fields).
    """
    completed = qgis_process("--json", "run", algorithm, "--",
                             *["{}={}".format(name, value) for name, value in parameters], timeout=timeout)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(completed.stdout[completed.stdout.index("{"):])["results"]


def engine_python():
    """The engine's interpreter (the installed environment's)."""
    from deepprospect import engine_environment

    return str(engine_environment.engine_python())


def run_in_engine_python(code):
    """Run ``code`` in the engine's Python with the checkout importable as ``deepprospect``;
    returns its standard output.

    For making test data with the engine's own generators: they run in the engine's process,
    never in QGIS's.
    """
    import tempfile

    import_dir = Path(tempfile.mkdtemp(prefix="deepprospect-engine-import-"))
    (import_dir / "deepprospect").symlink_to(ROOT, target_is_directory=True)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    environment.update(PYTHONPATH=str(import_dir), TF_CPP_MIN_LOG_LEVEL="2")
    completed = subprocess.run([engine_python(), "-c", code], capture_output=True, text=True, timeout=600,
                               env=environment, cwd=str(import_dir))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout


def bundle_metadata(path):
    """A model bundle's metadata (the zip's metadata.json), read with the standard library."""
    import zipfile

    with zipfile.ZipFile(path) as bundle:
        return json.loads(bundle.read("metadata.json"))
