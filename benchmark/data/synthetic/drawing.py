"""Drawing primitives of the generators: the canvas, the shapes painted on it, smooth
noise, colour jitter, and the camera (light, blur, sensor noise) that makes it an image.

Positions are continuous ``(y, x)`` with pixel centres at ``+0.5``. A shape function
returns a region, ``(window slices, bool mask of the window)``, or None when the shape
lies outside the image; :meth:`Canvas.paint` accepts either.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter

__all__ = [
    "Canvas",
    "capsule",
    "ellipse",
    "finish",
    "jitter",
    "pick",
    "polygon",
    "rect",
    "rotated_rect",
    "smooth_noise",
]


@lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (yy, xx), float32 [H, W] each, read-only."""
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float32) + 0.5, np.arange(w, dtype=np.float32) + 0.5, indexing="ij")
    yy.flags.writeable = False
    xx.flags.writeable = False
    return yy, xx


class Canvas:
    """Label map, float RGB image and instance map drawn back to front (painter's order).

    Shapes are evaluated only inside their bounding window, so small objects cost
    little; a region is ``(window slices, bool mask of the window)``.
    """

    def __init__(self, h: int, w: int, background: int):
        self.h, self.w = h, w
        self.yy, self.xx = _grid(h, w)
        self.labels = np.full((h, w), background, dtype=np.uint8)
        self.image = np.zeros((h, w, 3), dtype=np.float32)
        self.instances = np.zeros((h, w), dtype=np.int32)

    def window(self, ymin: float, ymax: float, xmin: float, xmax: float):
        y0, y1 = max(math.floor(ymin), 0), min(math.ceil(ymax) + 1, self.h)
        x0, x1 = max(math.floor(xmin), 0), min(math.ceil(xmax) + 1, self.w)
        if y0 >= y1 or x0 >= x1:
            return None
        return np.s_[y0:y1, x0:x1]

    def paint(self, region, label: int, colour, texture=None, amount: float = 0.0, instance: int = 0) -> None:
        """Set label, colour (times ``1 + amount * texture``) and instance inside ``region``."""
        if region is None:
            return
        sl, mask = region
        self.labels[sl][mask] = label
        colour = np.asarray(colour, dtype=np.float32)
        if texture is not None and amount:
            shade = 1.0 + amount * texture[sl][mask]
            self.image[sl][mask] = shade[:, None] * colour
        else:
            self.image[sl][mask] = colour
        if instance:
            self.instances[sl][mask] = instance


def capsule(c: Canvas, y0, x0, y1, x1, r):
    """Pixels closer than r to the segment (y0, x0)-(y1, x1): poles, limbs, bars."""
    sl = c.window(min(y0, y1) - r, max(y0, y1) + r, min(x0, x1) - r, max(x0, x1) + r)
    if sl is None:
        return None
    yy, xx = c.yy[sl], c.xx[sl]
    dy, dx = y1 - y0, x1 - x0
    length2 = dy * dy + dx * dx
    t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / length2, 0.0, 1.0) if length2 > 0 else 0.0
    return sl, (yy - y0 - t * dy) ** 2 + (xx - x0 - t * dx) ** 2 < r * r


def polygon(c: Canvas, points):
    """Pixels inside a convex polygon given as [(y, x), ...] in either orientation."""
    pts = np.asarray(points, dtype=np.float64)
    sl = c.window(pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max())
    if sl is None:
        return None
    yy, xx = c.yy[sl], c.xx[sl]
    nxt = np.roll(pts, -1, axis=0)
    sign = np.sign(np.sum(pts[:, 1] * nxt[:, 0] - nxt[:, 1] * pts[:, 0])) or 1.0
    mask = np.ones(yy.shape, dtype=bool)
    for (ya, xa), (yb, xb) in zip(pts, nxt):
        mask &= sign * ((xb - xa) * (yy - ya) - (yb - ya) * (xx - xa)) >= 0
    return sl, mask


def rect(c: Canvas, y0, x0, y1, x1):
    """Axis-aligned rectangle [y0, y1) x [x0, x1) in continuous coordinates."""
    return polygon(c, [(y0, x0), (y0, x1), (y1, x1), (y1, x0)])


def rotated_rect(c: Canvas, cy, cx, half_len, half_wid, angle):
    """Rectangle centred at (cy, cx), ``2 * half_len`` long along ``angle`` (radians from the
    x axis) and ``2 * half_wid`` wide: monitors and diamond signs at any orientation."""
    u = np.array([math.sin(angle), math.cos(angle)]) * half_len  # (dy, dx) along the long side
    v = np.array([math.cos(angle), -math.sin(angle)]) * half_wid
    centre = np.array([cy, cx])
    return polygon(c, [centre + u + v, centre + u - v, centre - u - v, centre - u + v])


def ellipse(c: Canvas, cy, cx, ry, rx, angle, inner: float = 0.0):
    """Ellipse; with ``0 < inner < 1`` a ring whose hole is the ellipse scaled by ``inner``."""
    r = max(ry, rx)
    sl = c.window(cy - r, cy + r, cx - r, cx + r)
    if sl is None:
        return None
    dy, dx = c.yy[sl] - cy, c.xx[sl] - cx
    ca, sa = math.cos(angle), math.sin(angle)
    q = ((dx * ca + dy * sa) / rx) ** 2 + ((-dx * sa + dy * ca) / ry) ** 2
    return sl, (q < 1.0) & (q >= inner * inner) if inner > 0 else q < 1.0


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """float32 [H, W] smooth noise of about unit std: a coarse Gaussian grid, bilinearly upsampled."""
    gh, gw = int(h / cell) + 2, int(w / cell) + 2
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    ys = (np.arange(h, dtype=np.float32) + 0.5) / cell
    xs = (np.arange(w, dtype=np.float32) + 0.5) / cell
    y0, x0 = ys.astype(np.int64), xs.astype(np.int64)
    fy, fx = (ys - y0)[:, None], xs - x0
    rows = grid[y0] * (1 - fy) + grid[y0 + 1] * fy
    # Bilinear interpolation of unit-variance noise has std about 0.6 on average.
    return (rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx) / 0.6


def finish(rng: np.random.Generator, c: Canvas, illumination: float, blur: float, noise_std: float) -> np.ndarray:
    """Global gain, gradient and colour cast, then camera blur and sensor noise -> uint8 [H, W, 3]."""
    gain = rng.uniform(1 - illumination, 1 + illumination)
    gradient = rng.uniform(-illumination, illumination)
    cast = rng.uniform(0.95, 1.05, size=3).astype(np.float32)
    light = gain * (1 + gradient * (c.xx[0] / c.w - 0.5))
    image = c.image * light[None, :, None] * cast
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    if blur > 0:
        image = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(blur)))
    noise = rng.standard_normal(image.shape, dtype=np.float32) * noise_std
    return np.clip(image + noise + 0.5, 0, 255).astype(np.uint8)


def jitter(rng: np.random.Generator, colour, amount: float = 0.12) -> np.ndarray:
    """``colour`` (3 values, 0-255) with each channel scaled by its own factor in 1 +- ``amount``,
    float32 [3] clipped to 0-255: objects drawn from one palette entry still differ in colour."""
    return np.clip(np.asarray(colour, np.float32) * rng.uniform(1 - amount, 1 + amount, size=3), 0, 255)


def pick(rng: np.random.Generator, options):
    """One element of the sequence ``options``, uniformly; unlike ``rng.choice`` it returns the
    element as is (a colour tuple of a palette stays a tuple, not a row of a 2-D array)."""
    return options[rng.integers(len(options))]
