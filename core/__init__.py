"""Pure computation: numpy, scipy, rasterio, geopandas. Never qgis, never tensorflow."""
