"""The tiled IDW evaluator behind :mod:`core.idw`: exact ``invdistnn`` values for a window of cells.

Speed: the grid is cut into small square tiles of ``T × T`` cells (``T`` a power of two ≤ 32, so
tiles never straddle the 256-pixel windows of the block pipeline). One k-d-tree query per tile
centre returns a candidate set that provably holds every cell's ``K`` nearest samples (triangle
inequality: they lie within ``d_K(centre) + 2h`` of the centre, ``h`` the tile's half-diagonal);
the exact per-cell selection and weighting are then dense float32 array operations, run on all
cores. A cell's value depends only on its tile, never on the window it is computed in.
"""
import math

import numpy as np

#: Elements of the (tiles, cells, candidates) work arrays handled at once per thread.
CHUNK_ELEMENTS = 131072


class TiledIdw:
    """The tiled IDW evaluator for one set of samples (see the module docstring).

    ``xy`` (n, 2) map units, distinct; ``values`` float64 (n, n_fields); ``transform`` the grid's
    north-up affine transform; ``power`` P; ``neighbors`` K (0: all); ``radius`` R (0: none).
    """

    def __init__(self, xy, values, transform, power, neighbors, radius):
        from scipy.spatial import cKDTree

        self.n = len(xy)
        self.tree = cKDTree(xy)
        # index n = "no sample", infinitely far away
        self.xs, self.ys = np.append(xy[:, 0], np.inf), np.append(xy[:, 1], np.inf)
        # Values are centred and scaled to about ±1 so float32 keeps precision and huge values cannot overflow.
        low, high = values.min(axis=0), values.max(axis=0)
        self.low, self.high = low, high
        self.centre = low / 2 + high / 2
        self.scale = np.where(high / 2 - low / 2 > 0, high / 2 - low / 2, 1.0)
        scaled = (values / 2 - self.centre / 2) / self.scale * 2
        self.values = np.vstack([scaled, np.zeros((1, values.shape[1]))]).astype(np.float32)
        self.transform = transform
        self.cell = float(transform.a)
        self.power = float(power)
        self.k = neighbors if 0 < neighbors < self.n else 0   # 0: every sample takes part
        self.radius = radius
        self.tile = self._tile_size(xy)
        offsets = (np.arange(self.tile) - (self.tile - 1) / 2.0) * self.cell
        self.cell_dx = np.tile(offsets, self.tile).astype(np.float32)
        self.cell_dy = np.repeat(-offsets, self.tile).astype(np.float32)
        self.half_diagonal = math.hypot(offsets[0], offsets[0])
        # a sample this close to a cell centre counts as on it (GDAL: d² < 1e-13)
        self.hit_distance2 = np.float32(max(1e-13, (1e-6 * self.cell) ** 2))
        self.candidates = self._initial_candidates(xy)

    def _tile_size(self, xy):
        if not self.k:
            return 8
        span = xy.max(axis=0) - xy.min(axis=0)
        area = max(span[0] * span[1], (self.cell * 8) ** 2)
        # typical distance to the K-th sample, in cells; tiles of about a third of it
        kth = math.sqrt(self.k * area / (math.pi * self.n)) / self.cell
        return int(min(32, max(2, 2 ** round(math.log2(max(1.0, kth / 3))))))

    def _initial_candidates(self, xy):
        span = xy.max(axis=0) - xy.min(axis=0)
        if not self.k:
            if not self.radius:
                return self.n
            # all samples within the radius: about density × π (R + h)², with a margin
            area = max(span[0] * span[1], self.cell ** 2)
            expected = self.n * math.pi * (self.radius + self.half_diagonal) ** 2 / area
            return int(min(self.n, math.ceil(expected * 1.3) + 4))
        kth = math.sqrt(self.k * max(span[0] * span[1], self.cell ** 2) / (math.pi * self.n))
        grow = ((kth + 2 * self.half_diagonal) / max(kth, 1e-12)) ** 2
        return int(min(self.n, math.ceil(self.k * grow * 1.3) + 4))

    def window(self, row0, col0, rows, cols, pool, nodata):
        """Float32 (n_fields, rows, cols) for the cells ``row0 … row0 + rows - 1`` × ``col0 … col0 + cols - 1``.

        ``row0`` and ``col0`` must be multiples of the tile size (any multiple of 32 is), so the
        tiles, and therefore the values, are the same whatever window a cell is computed in.
        ``pool``: a thread pool for the tiles' jobs; ``nodata`` where no sample is within R.
        """
        tile = self.tile
        tiles_y, tiles_x = -(-rows // tile), -(-cols // tile)
        ty, tx = np.divmod(np.arange(tiles_y * tiles_x), tiles_x)
        centres = np.column_stack([
            self.transform.c + (col0 + tx * tile + tile / 2.0) * self.cell,
            self.transform.f - (row0 + ty * tile + tile / 2.0) * self.cell])
        out = np.empty((len(centres), tile * tile, self.values.shape[1]), dtype=np.float32)
        jobs = []
        self._plan(np.arange(len(centres)), centres, self.candidates, jobs)
        list(pool.map(lambda job: self._evaluate(job, centres, out), jobs))
        grid = out.reshape(tiles_y, tiles_x, tile, tile, -1).transpose(4, 0, 2, 1, 3)
        grid = grid.reshape(-1, tiles_y * tile, tiles_x * tile)[:, :rows, :cols]
        grid = grid.astype(np.float64) * self.scale[:, None, None] + self.centre[:, None, None]
        # IDW is a weighted mean: keep float32 rounding from stepping outside the samples' range
        grid = np.clip(grid, self.low[:, None, None], self.high[:, None, None])
        return np.where(np.isnan(grid), nodata, grid).astype(np.float32)

    def _plan(self, tiles, centres, count, jobs):
        """Find for ``tiles`` candidate sets that surely contain every cell's neighbours; queue the work."""
        bound = self.radius + self.half_diagonal if self.radius else np.inf
        count = min(count, self.n)
        if not self.k and not self.radius:
            # every sample counts for every cell: no search, one shared candidate list
            per_job = max(1, CHUNK_ELEMENTS // (self.tile * self.tile * self.n))
            jobs.extend((tiles[start:start + per_job], None) for start in range(0, len(tiles), per_job))
            return
        if count == self.n and not self.radius:
            index = np.broadcast_to(np.arange(self.n), (len(tiles), self.n))
            complete = np.ones(len(tiles), bool)
        else:
            distance = np.empty((len(tiles), count))
            index = np.empty((len(tiles), count), dtype=np.int64)
            step = max(1, 4_000_000 // count)      # bounded memory for large candidate counts
            for start in range(0, len(tiles), step):
                part = slice(start, start + step)
                found_distance, found_index = self.tree.query(centres[tiles[part]], k=count,
                                                              distance_upper_bound=bound, workers=-1)
                distance[part] = found_distance.reshape(-1, count)
                index[part] = found_index.reshape(-1, count)
            if self.k:
                reach = (distance[:, self.k - 1] + 2 * self.half_diagonal) * (1 + 1e-9) + 1e-9 * self.cell
                reach = np.minimum(reach, bound)
            else:
                reach = np.full(len(tiles), bound)
            complete = (distance[:, -1] >= reach) | (count >= self.n)
        if (~complete).any():
            self._plan(tiles[~complete], centres, count * 2, jobs)
        tiles, index = tiles[complete], index[complete]
        per_job = max(1, CHUNK_ELEMENTS // (self.tile * self.tile * max(1, index.shape[1])))
        for start in range(0, len(tiles), per_job):
            jobs.append((tiles[start:start + per_job], index[start:start + per_job]))

    def _evaluate(self, job, centres, out):
        tiles, index = job
        if index is None:
            self._evaluate_all(tiles, centres, out)
            return
        # offsets from the tile centre: small numbers, so float32 keeps sub-millimetre precision
        ox = (self.xs[index] - centres[tiles, 0, None]).astype(np.float32)               # (t, m)
        oy = (self.ys[index] - centres[tiles, 1, None]).astype(np.float32)
        dx = np.subtract(ox[:, None, :], self.cell_dx[None, :, None])
        distance2 = np.subtract(oy[:, None, :], self.cell_dy[None, :, None])
        np.square(dx, out=dx)
        np.square(distance2, out=distance2)
        distance2 += dx                                                                  # (t, cells, m)
        del dx
        if self.k and index.shape[1] > self.k:
            # np.sort of short rows is several times faster than np.partition here
            ordered = np.sort(distance2, axis=2)
            threshold, nearest = ordered[..., self.k - 1:self.k], ordered[..., 0]
            del ordered
        else:
            threshold, nearest = np.float32(np.inf), distance2.min(axis=2)
        if self.radius:
            threshold = np.minimum(threshold, np.float32(self.radius) ** 2)
        selected = distance2 <= threshold
        np.maximum(distance2, self.hit_distance2, out=distance2)
        if self.power == 2.0:
            weight = np.reciprocal(distance2, out=distance2)
        else:
            weight = np.power(distance2, np.float32(-self.power / 2.0), out=distance2)
        weight *= selected
        gathered = self.values[index]                                               # (t, m, fields)
        total = weight.sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            result = np.matmul(weight, gathered) / total[..., None]
        result[total == 0] = np.nan
        hits = np.nonzero(nearest < self.hit_distance2)
        if len(hits[0]):
            which = np.argmin(self._distance2_rows(tiles, index, centres, hits), axis=1)
            result[hits] = gathered[hits[0], which]
        out[tiles] = result

    def _evaluate_all(self, tiles, centres, out):
        """Every sample weighs on every cell (NEIGHBORS = 0, no radius): one dense product per job."""
        n = self.n
        ox = (self.xs[:n] - centres[tiles, 0, None]).astype(np.float32)                  # (t, n)
        oy = (self.ys[:n] - centres[tiles, 1, None]).astype(np.float32)
        dx = np.subtract(ox[:, None, :], self.cell_dx[None, :, None])
        distance2 = np.subtract(oy[:, None, :], self.cell_dy[None, :, None])
        np.square(dx, out=dx)
        np.square(distance2, out=distance2)
        distance2 += dx
        del dx
        nearest = distance2.min(axis=2)
        np.maximum(distance2, self.hit_distance2, out=distance2)
        if self.power == 2.0:
            weight = np.reciprocal(distance2, out=distance2)
        else:
            weight = np.power(distance2, np.float32(-self.power / 2.0), out=distance2)
        total = weight.sum(axis=2)
        result = (weight.reshape(-1, n) @ self.values[:n]).reshape(len(tiles), -1, self.values.shape[1])
        result /= total[..., None]
        hits = np.nonzero(nearest < self.hit_distance2)
        if len(hits[0]):
            index = np.broadcast_to(np.arange(n), (len(tiles), n))
            which = np.argmin(self._distance2_rows(tiles, index, centres, hits), axis=1)
            result[hits] = self.values[which]
        out[tiles] = result

    def _distance2_rows(self, tiles, index, centres, hits):
        """Exact (float64) squared distances for the cells ``hits`` that sit on a sample."""
        tile_rows, cells = hits
        ox = self.xs[index[tile_rows]] - centres[tiles[tile_rows], 0, None]
        oy = self.ys[index[tile_rows]] - centres[tiles[tile_rows], 1, None]
        return (ox - self.cell_dx[cells][:, None]) ** 2 + (oy - self.cell_dy[cells][:, None]) ** 2
