"""How alike two attribution maps are: Spearman rank correlation and SSIM (Wang et al. 2004).

Both take maps of the same shape [H, W] (tensors or arrays) and work in float64 on the CPU.
"""

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

SSIM_SIGMA = 1.5
"""Standard deviation in pixels of SSIM's Gaussian window (Wang et al. 2004)."""
SSIM_WINDOW = 11
"""Side in pixels of SSIM's window (Wang et al. 2004: 11×11)."""
SSIM_K1, SSIM_K2 = 0.01, 0.03
"""SSIM's stabilising constants: C1 = (K1·L)², C2 = (K2·L)² for a data range L."""


def _values(map_: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(map_, torch.Tensor):
        map_ = map_.detach().cpu().numpy()
    return np.asarray(map_, dtype=np.float64)


def _same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"maps to compare must have the same shape, not {a.shape} and {b.shape}")


def spearman(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Spearman's rank correlation of two maps' pixel values, in [-1, 1] (:func:`scipy.stats.spearmanr`:
    the Pearson correlation of their average ranks). Identical maps give 1; otherwise a constant map gives
    0, as it has no order to correlate."""
    x, y = _values(a), _values(b)
    _same_shape(x, y)
    if np.array_equal(x, y):
        return 1.0
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(np.clip(stats.spearmanr(x.ravel(), y.ravel()).statistic, -1.0, 1.0))


def unit_scaled(map_: torch.Tensor | np.ndarray) -> np.ndarray:
    """A map linearly scaled to [0, 1] (its minimum to 0, its maximum to 1); a constant map gives zeros."""
    values = _values(map_)
    low, high = values.min(), values.max()
    if high == low:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def gaussian_window(sigma: float = SSIM_SIGMA, size: int = SSIM_WINDOW) -> np.ndarray:
    """Normalised 1-D Gaussian weights [size] of standard deviation ``sigma`` pixels."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def _local_mean(image: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    rows = F.conv2d(image, weights.view(1, 1, -1, 1))
    return F.conv2d(rows, weights.view(1, 1, 1, -1))


def ssim(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, *, data_range: float = 1.0,
         sigma: float = SSIM_SIGMA, window: int = SSIM_WINDOW) -> float:
    """Mean structural similarity of two maps [H, W] (Wang et al. 2004), at most 1 (identical maps).

    Local means, variances and covariance are weighted by a ``window``×``window`` Gaussian of
    ``sigma`` pixels (population statistics) and the SSIM index is averaged over every window lying
    wholly inside the map (no padding), as in the paper's code; equals scikit-image's
    ``structural_similarity(a, b, data_range=1, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)``. ``data_range``: the values' range L (1 for maps in [0, 1])."""
    x, y = _values(a), _values(b)
    _same_shape(x, y)
    if x.ndim != 2 or min(x.shape) < window:
        raise ValueError(f"SSIM needs 2-D maps of at least {window}×{window} pixels, not shape {x.shape}")
    weights = torch.from_numpy(gaussian_window(sigma, window))
    images = torch.from_numpy(np.stack([x, y, x * x, y * y, x * y]))[:, None]
    mean_x, mean_y, mean_xx, mean_yy, mean_xy = _local_mean(images, weights)[:, 0]
    var_x, var_y = mean_xx - mean_x**2, mean_yy - mean_y**2
    cov = mean_xy - mean_x * mean_y
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    index = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / ((mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2))
    return float(index.mean())
