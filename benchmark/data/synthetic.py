"""Embedded synthetic datasets, drawn locally from a seed and written in official layouts.

* ``streets``: Cityscapes-like street scenes (road, sidewalk, building, vegetation, sky,
  cars, people, thin poles, small traffic signs, and an ego-vehicle hood that is void),
  written as ``leftImg8bit`` PNGs and ``gtFine`` labelIds, so the Cityscapes reader
  maps them to the 19 train ids exactly as it does real data.
* ``shapes``: Pascal-VOC-like object images (six VOC classes told apart by shape:
  disks, rectangles, triangles, thin bars, wheels with holes, crosses with thin wings)
  on textured background, with VOC's void band (255) along every object outline,
  written as JPEGs, palette PNGs and split lists.

Colours overlap between classes and every region is textured, so colour alone does not
give the class; thin parts and many boundary orientations make boundary pixels hard.
Difficulty knobs live in :class:`StreetsConfig` and :class:`ShapesConfig`.

Every image comes from its own generator ``numpy.random.default_rng([seed, split,
index])`` (split 0 = train, 1 = val), so an image does not depend on how many others
are drawn, and the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from cityscapesscripts.helpers.labels import name2label
from PIL import Image, ImageFilter
from scipy import ndimage

from benchmark.data.labels import VOC_CLASSES, voc_palette
from benchmark.data.registry import IGNORE_INDEX, DatasetError, dataset_info

__all__ = [
    "GENERATOR_VERSION",
    "MARKER_FILE",
    "StreetsConfig",
    "ShapesConfig",
    "STREETS_LABEL_IDS",
    "SHAPES_CLASS_IDS",
    "generate",
    "render",
    "synthetic_datasets",
]

#: Bump whenever the same arguments would give different images or masks; it enters
#: the run id, so runs on older images are never mixed with new ones.
GENERATOR_VERSION = "streets-shapes-2"

#: Written last into a generated folder: name, version, sizes, seed and config.
MARKER_FILE = "generator.json"

_SPLITS = ("train", "val")

# --------------------------------------------------------------------------- configs


def _check_range(name: str, value: tuple, low: float = 0.0) -> None:
    if len(value) != 2 or not (low <= value[0] <= value[1]):
        raise ValueError(f"{name} must be a (min, max) pair with {low} <= min <= max, got {value!r}")


@dataclass(frozen=True)
class StreetsConfig:
    """Knobs of the ``streets`` generator (defaults documented field by field).

    Object counts are inclusive (min, max) ranges per image. Sizes in pixels refer to
    a 64-pixel-high image and scale with the height and with depth in the scene.
    """

    noise_std: float = 3.0  #: sensor noise, std in grey levels (0-255), added after the blur
    blur: float = 0.5  #: Gaussian blur radius in px: soft object boundaries as a camera gives
    illumination: float = 0.05  #: gain drawn in 1 +- this, plus a left-right gradient of up to this
    shadow_prob: float = 0.0  #: chance of a cast shadow darkening one side of the street
    texture: float = 0.3  #: scales every texture amplitude (0 = flat colours)
    cars: tuple[int, int] = (1, 2)
    people: tuple[int, int] = (1, 4)
    poles: tuple[int, int] = (2, 5)
    trees: tuple[int, int] = (1, 3)
    thin_width: float = 10.0  #: width (px) of the nearest poles; never below 1 px
    object_scale: float = 2.4  #: multiplies the size of cars, people, trees and signs
    sign_prob: float = 1.0  #: chance that a pole carries a traffic sign
    ego_vehicle_prob: float = 0.25  #: chance of a (void) ego-vehicle hood at the bottom

    def __post_init__(self) -> None:
        for name in ("cars", "people", "poles", "trees"):
            _check_range(name, getattr(self, name))
        for name in ("noise_std", "blur", "texture", "thin_width", "object_scale"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("illumination", "shadow_prob", "sign_prob", "ego_vehicle_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class ShapesConfig:
    """Knobs of the ``shapes`` generator (defaults documented field by field).

    Sizes in pixels refer to a 96-pixel image side and scale with ``min(H, W)``.
    """

    noise_std: float = 8.0  #: sensor noise, std in grey levels (0-255), added after the blur
    blur: float = 0.5  #: Gaussian blur radius in px
    illumination: float = 0.25  #: gain drawn in 1 +- this, plus a gradient of up to this
    texture: float = 0.15  #: amplitude of object and background textures (relative brightness)
    objects: tuple[int, int] = (2, 5)  #: objects per image, inclusive range
    object_size: tuple[float, float] = (0.22, 0.45)  #: object radius as a fraction of min(H, W)
    thin_width: float = 10.0  #: width (px) of thin parts: bars, wheel rims, frames, wings
    void_width: int = 1  #: void band reaches this many px to each side of an outline (0 = none)
    class_colour: float = 0.85  #: pull of an object's random colour towards its class colour
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        _check_range("objects", self.objects)
        _check_range("object_size", self.object_size)
        if self.object_size[1] > 1:
            raise ValueError(f"object_size must lie in [0, 1], got {self.object_size!r}")
        for name in ("noise_std", "blur", "texture", "thin_width", "void_width"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("illumination", "class_colour"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")


# --------------------------------------------------------------------------- drawing


@lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (yy, xx), float32 [H, W] each, read-only."""
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float32) + 0.5, np.arange(w, dtype=np.float32) + 0.5, indexing="ij")
    yy.flags.writeable = False
    xx.flags.writeable = False
    return yy, xx


class _Canvas:
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


def _capsule(c: _Canvas, y0, x0, y1, x1, r):
    """Pixels closer than r to the segment (y0, x0)-(y1, x1): poles, limbs, bars."""
    sl = c.window(min(y0, y1) - r, max(y0, y1) + r, min(x0, x1) - r, max(x0, x1) + r)
    if sl is None:
        return None
    yy, xx = c.yy[sl], c.xx[sl]
    dy, dx = y1 - y0, x1 - x0
    length2 = dy * dy + dx * dx
    t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / length2, 0.0, 1.0) if length2 > 0 else 0.0
    return sl, (yy - y0 - t * dy) ** 2 + (xx - x0 - t * dx) ** 2 < r * r


def _polygon(c: _Canvas, points):
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


def _rect(c: _Canvas, y0, x0, y1, x1):
    """Axis-aligned rectangle [y0, y1) x [x0, x1) in continuous coordinates."""
    return _polygon(c, [(y0, x0), (y0, x1), (y1, x1), (y1, x0)])


def _rotated_rect(c: _Canvas, cy, cx, half_len, half_wid, angle):
    u = np.array([math.sin(angle), math.cos(angle)]) * half_len  # (dy, dx) along the long side
    v = np.array([math.cos(angle), -math.sin(angle)]) * half_wid
    centre = np.array([cy, cx])
    return _polygon(c, [centre + u + v, centre + u - v, centre - u - v, centre - u + v])


def _ellipse(c: _Canvas, cy, cx, ry, rx, angle, inner: float = 0.0):
    """Ellipse; with ``0 < inner < 1`` a ring whose hole is the ellipse scaled by ``inner``."""
    r = max(ry, rx)
    sl = c.window(cy - r, cy + r, cx - r, cx + r)
    if sl is None:
        return None
    dy, dx = c.yy[sl] - cy, c.xx[sl] - cx
    ca, sa = math.cos(angle), math.sin(angle)
    q = ((dx * ca + dy * sa) / rx) ** 2 + ((-dx * sa + dy * ca) / ry) ** 2
    return sl, (q < 1.0) & (q >= inner * inner) if inner > 0 else q < 1.0


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
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


def _finish(rng: np.random.Generator, c: _Canvas, illumination: float, blur: float, noise_std: float) -> np.ndarray:
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


def _jitter(rng: np.random.Generator, colour, amount: float = 0.12) -> np.ndarray:
    return np.clip(np.asarray(colour, np.float32) * rng.uniform(1 - amount, 1 + amount, size=3), 0, 255)


def _pick(rng: np.random.Generator, options):
    return options[rng.integers(len(options))]


# --------------------------------------------------------------------------- streets

#: Cityscapes labelIds the streets generator draws (ego vehicle maps to void).
STREETS_LABEL_IDS = {
    name: name2label[name].id
    for name in (
        "road", "sidewalk", "building", "pole", "traffic sign", "vegetation", "sky", "person", "car",
        "ego vehicle",
    )
}  # fmt: skip
_L = STREETS_LABEL_IDS

_SKY = ((110, 160, 220), (165, 190, 220), (200, 202, 208), (140, 165, 200))
_BUILDING = ((120, 120, 120), (165, 150, 125), (145, 85, 65), (80, 80, 90), (190, 185, 170), (110, 120, 100))
_SIDEWALK = ((150, 150, 150), (170, 160, 140), (125, 122, 118), (160, 120, 110))
_VEGETATION = ((70, 110, 45), (50, 85, 40), (100, 120, 60), (130, 105, 55), (60, 90, 70))
_CAR = ((30, 30, 35), (205, 205, 210), (150, 155, 160), (160, 30, 30), (40, 60, 130), (90, 90, 95), (210, 190, 60))
_SKIN = ((225, 190, 160), (190, 140, 110), (120, 80, 60))
_SIGN = ((200, 30, 30), (30, 70, 170), (230, 200, 40), (235, 235, 235))


class _Street:
    """Scene geometry: horizon, vanishing point and the road and sidewalk edges meeting there."""

    def __init__(self, rng: np.random.Generator, h: int, w: int):
        self.h, self.w = h, w
        self.horizon = h * rng.uniform(0.36, 0.5)
        self.vp = w * rng.uniform(0.3, 0.7)
        self.road_left = self.vp - w * rng.uniform(0.4, 0.65)
        self.road_right = self.vp + w * rng.uniform(0.4, 0.65)
        self.walk_left = self.road_left - w * rng.uniform(0.2, 0.45)
        self.walk_right = self.road_right + w * rng.uniform(0.2, 0.45)

    def depth(self, y):
        """Scale of an object standing at image row y: 0 at the horizon, 1 at the bottom."""
        return (y - self.horizon) / (self.h - self.horizon)

    def edge(self, y, x_bottom):
        """x of the ground line from the vanishing point to x_bottom at the bottom, at row y."""
        return self.vp + (x_bottom - self.vp) * self.depth(y)

    def ground_row(self, rng: np.random.Generator, low: float = 0.12, high: float = 1.08) -> float:
        return self.horizon + (self.h - self.horizon) * rng.uniform(low, high)


def _draw_background(rng, c: _Canvas, st: _Street, cfg: StreetsConfig, tex: dict) -> None:
    h, w, tx = c.h, c.w, cfg.texture
    yy, xx = c.yy, c.xx
    # Sky: vertical gradient to a lighter horizon, with faint clouds.
    top, low = _jitter(rng, _pick(rng, _SKY)), _jitter(rng, _pick(rng, _SKY))
    t = np.clip(yy / st.horizon, 0, 1)[..., None]
    c.image[:] = top * (1 - t) + np.minimum(low * 1.1, 255) * t
    c.image *= (1 + 0.06 * tx * tex["large"])[..., None]
    # Buildings: blocks whose roof lines fall towards the vanishing point; window grids.
    x, reach = 0.0, max(st.vp, w - st.vp)
    while x < w:
        xa, xb = x, min(x + w * rng.uniform(0.08, 0.3), w)
        x = xb
        rise = st.horizon * rng.uniform(0.25, 1.15)
        sl = c.window(0, h, xa, xb - 1e-3)
        if sl is None:
            continue
        byy, bxx = yy[sl], xx[sl]
        roof = st.horizon - rise * (0.25 + 0.75 * np.abs(bxx - st.vp) / reach)
        mask = (byy >= roof) & (bxx >= xa) & (bxx < xb)
        colour = _jitter(rng, _pick(rng, _BUILDING))
        c.paint((sl, mask), _L["building"], colour, tex["medium"], 0.08 * tx)
        if rng.random() < 0.8:
            px, py = rng.uniform(4, 9) * h / 64, rng.uniform(4, 8) * h / 64
            ox, oy = rng.uniform(0, px), rng.uniform(0, py)
            windows = mask & ((bxx - xa + ox) % px < 0.5 * px) & ((byy + oy) % py < 0.55 * py) & (byy > roof + 0.6 * py)
            glass = _jitter(rng, (40, 45, 55)) if rng.random() < 0.5 else low * rng.uniform(0.7, 0.95)
            c.paint((sl, windows), _L["building"], glass, tex["fine"], 0.05 * tx)
    # Ground: sidewalks (paving lines) and the road (lane dashes, sometimes a zebra crossing).
    bottom = h + 1.0
    walk = _polygon(c, [(st.horizon, st.vp), (bottom, st.walk_right), (bottom, st.walk_left)])
    if walk is not None:
        sl, mask = walk
        mask = mask & (yy[sl] > st.horizon)
        depth = np.maximum(st.depth(yy[sl]), 1e-3)
        lines = ((1.0 / depth * 1.5) % 1.0 < 0.14) | (((xx[sl] - st.vp) / depth / (0.09 * w)) % 1.0 < 0.1)
        colour = _jitter(rng, _pick(rng, _SIDEWALK))
        c.paint((sl, mask), _L["sidewalk"], colour, tex["medium"], 0.07 * tx)
        c.paint((sl, mask & lines), _L["sidewalk"], colour * (1 - 0.2 * min(tx, 1.0)))
    road = _polygon(c, [(st.horizon, st.vp), (bottom, st.road_right), (bottom, st.road_left)])
    if road is not None:
        sl, mask = road
        mask = mask & (yy[sl] > st.horizon)
        grey = rng.uniform(70, 115)
        c.paint((sl, mask), _L["road"], (grey, grey, grey * 1.03), tex["medium"] + 0.5 * tex["fine"], 0.08 * tx)
        depth = np.maximum(st.depth(yy[sl]), 1e-3)
        centre = st.edge(yy[sl], rng.uniform(0.4, 0.6) * (st.road_left + st.road_right))
        phase = rng.uniform(0, 1)
        on_line = np.abs(xx[sl] - centre) < np.maximum(0.012 * w * depth, 0.35)
        dashes = on_line & ((1.0 / depth * 0.8 + phase) % 1.0 < 0.5)
        paint = _jitter(rng, (215, 215, 205), 0.05)
        c.paint((sl, mask & dashes), _L["road"], paint, tex["fine"], 0.05 * tx)
        if rng.random() < 0.3:
            d0 = rng.uniform(0.3, 0.8)
            band = (depth > d0) & (depth < d0 + 0.12)
            stripes = ((xx[sl] - st.vp) / depth / (0.05 * w)) % 1.0 < 0.5
            c.paint((sl, mask & band & stripes), _L["road"], paint, tex["fine"], 0.05 * tx)


def _car(rng, c: _Canvas, st: _Street, cfg: StreetsConfig, tex: dict):
    gy = st.ground_row(rng, 0.1, 1.15)
    s = st.depth(gy)
    left, right = st.edge(gy, st.road_left), st.edge(gy, st.road_right)
    cx = left + rng.uniform(0.05, 0.95) * (right - left)
    cw = s * c.w * 0.26 * cfg.object_scale
    colour = _jitter(rng, _pick(rng, _CAR))
    glass = _jitter(rng, (45, 50, 60)) if rng.random() < 0.6 else _jitter(rng, _pick(rng, _SKY)) * 0.8
    tall = rng.uniform(0.85, 1.25)
    side_view = rng.random() < 0.35
    tx, car = cfg.texture, _L["car"]

    def draw() -> None:
        if side_view:  # long body, round wheels
            length = 1.9 * cw
            x0, x1 = cx - length / 2, cx + length / 2
            c.paint(_rect(c, gy - 0.45 * cw * tall, x0, gy - 0.12 * cw, x1), car, colour, tex["medium"], 0.05 * tx)
            base, roof = gy - 0.44 * cw * tall, gy - 0.75 * cw * tall
            cabin = np.array([(base, x0 + 0.12 * length), (roof, x0 + 0.3 * length),
                              (roof, x1 - 0.28 * length), (base, x1 - 0.08 * length)])  # fmt: skip
            c.paint(_polygon(c, cabin), car, colour)
            centre = cabin.mean(axis=0)
            c.paint(_polygon(c, centre + (cabin - centre) * (0.7, 0.85)), car, glass, tex["fine"], 0.05 * tx)
            for wx in (x0 + 0.2 * length, x1 - 0.2 * length):
                c.paint(_ellipse(c, gy - 0.17 * cw, wx, 0.17 * cw, 0.17 * cw, 0.0), car, (22, 22, 24))
        else:  # rear view: wheels, body, trapezoid cabin and window, tail lights
            for sx in (-1, 1):
                c.paint(_rect(c, gy - 0.16 * cw, cx + sx * 0.42 * cw, gy, cx + sx * 0.27 * cw), car, (22, 22, 24))
            c.paint(_rect(c, gy - 0.5 * cw * tall, cx - 0.5 * cw, gy - 0.1 * cw, cx + 0.5 * cw), car, colour,
                    tex["medium"], 0.05 * tx)  # fmt: skip
            base, roof = gy - 0.5 * cw * tall, gy - 0.8 * cw * tall
            c.paint(_polygon(c, [(base, cx - 0.46 * cw), (base, cx + 0.46 * cw), (roof, cx + 0.32 * cw),
                                 (roof, cx - 0.32 * cw)]), car, colour)  # fmt: skip
            c.paint(_polygon(c, [(base - 0.03 * cw, cx - 0.39 * cw), (base - 0.03 * cw, cx + 0.39 * cw),
                                 (roof + 0.04 * cw, cx + 0.28 * cw), (roof + 0.04 * cw, cx - 0.28 * cw)]),
                    car, glass, tex["fine"], 0.05 * tx)  # fmt: skip
            for sx in (-1, 1):
                light = _rect(c, gy - 0.44 * cw * tall, cx + sx * 0.48 * cw, gy - 0.36 * cw * tall, cx + sx * 0.36 * cw)
                c.paint(light, car, (185, 25, 25))

    return gy, draw


def _sidewalk_x(rng, st: _Street, gy: float, near_road: tuple[float, float]) -> float:
    """x on a random sidewalk at row gy; ``near_road`` is the (min, max) fraction from the kerb."""
    f = rng.uniform(*near_road)
    if rng.random() < 0.5:
        kerb, outer = st.edge(gy, st.road_left), st.edge(gy, st.walk_left)
    else:
        kerb, outer = st.edge(gy, st.road_right), st.edge(gy, st.walk_right)
    return kerb + f * (outer - kerb)


def _person(rng, c: _Canvas, st: _Street, cfg: StreetsConfig, tex: dict):
    gy = st.ground_row(rng, 0.15, 1.05)
    s = st.depth(gy)
    if rng.random() < 0.15:  # crossing the road
        left, right = st.edge(gy, st.road_left), st.edge(gy, st.road_right)
        cx = left + rng.uniform(0.1, 0.9) * (right - left)
    else:
        cx = _sidewalk_x(rng, st, gy, (0.1, 0.9))
    ph = s * c.h * 0.55 * cfg.object_scale * rng.uniform(0.85, 1.15)
    legs, shirt = _jitter(rng, rng.uniform(20, 200, size=3)), _jitter(rng, rng.uniform(20, 230, size=3))
    skin = _jitter(rng, _pick(rng, _SKIN), 0.05)
    feet = rng.uniform(0.0, 0.13, size=2) * ph
    hands = rng.uniform(0.06, 0.2, size=2) * ph
    hand_y = rng.uniform(0.4, 0.6, size=2) * ph
    r_leg, r_arm = max(0.5, 0.05 * ph), max(0.5, 0.035 * ph)
    person, tx = _L["person"], cfg.texture

    def draw() -> None:
        hip, shoulder = gy - 0.48 * ph, gy - 0.78 * ph
        for sx, foot in zip((-1, 1), feet):
            c.paint(_capsule(c, hip, cx + sx * 0.04 * ph, gy - r_leg, cx + sx * foot, r_leg), person, legs)
        c.paint(_capsule(c, hip, cx, shoulder + 0.04 * ph, cx, 0.1 * ph), person, shirt, tex["fine"], 0.1 * tx)
        for sx, hand, hy in zip((-1, 1), hands, hand_y):
            c.paint(_capsule(c, shoulder, cx + sx * 0.08 * ph, gy - hy, cx + sx * hand, r_arm), person, shirt)
        c.paint(_ellipse(c, gy - 0.9 * ph, cx, 0.075 * ph, 0.065 * ph, 0.0), person, skin)

    return gy, draw


def _pole(rng, c: _Canvas, st: _Street, cfg: StreetsConfig, tex: dict):
    gy = st.ground_row(rng, 0.12, 1.05)
    s = st.depth(gy)
    cx = _sidewalk_x(rng, st, gy, (0.05, 0.45))
    height = s * c.h * rng.uniform(0.9, 1.7)
    r = max(0.5, 0.5 * cfg.thin_width * c.h / 64 * s)
    grey = _jitter(rng, (1, 1, 1), 0.03) * rng.uniform(55, 150)
    towards_road = 1.0 if cx < st.vp else -1.0
    lamp = rng.random() < 0.35
    arm = (rng.uniform(0.0, 0.12) * height, rng.uniform(0.15, 0.3) * height * towards_road)
    sign = rng.random() < cfg.sign_prob
    sign_kind = rng.integers(5)
    size = max(2.0, s * c.h * 0.1 * cfg.object_scale * rng.uniform(0.7, 1.3))
    sign_y = gy - height * rng.uniform(0.55, 0.85) if not lamp else gy - height * rng.uniform(0.45, 0.65)
    sign_x = cx + rng.choice([0.0, 0.6 * size * towards_road])
    outer, inner = _jitter(rng, _pick(rng, _SIGN), 0.08), _jitter(rng, _pick(rng, _SIGN), 0.08)
    pole, tsign = _L["pole"], _L["traffic sign"]

    def shape(scale: float):
        half = 0.5 * size * scale
        if sign_kind == 0:
            return _ellipse(c, sign_y, sign_x, half, half, 0.0)
        if sign_kind == 1:  # triangle pointing up
            low = sign_y + 0.8 * half
            return _polygon(c, [(sign_y - half, sign_x), (low, sign_x + half), (low, sign_x - half)])
        if sign_kind == 2:  # triangle pointing down
            high = sign_y - 0.8 * half
            return _polygon(c, [(sign_y + half, sign_x), (high, sign_x - half), (high, sign_x + half)])
        if sign_kind == 3:  # diamond
            return _rotated_rect(c, sign_y, sign_x, half, half, math.pi / 4)
        return _rect(c, sign_y - 0.7 * half, sign_x - half, sign_y + 0.7 * half, sign_x + half)

    def draw() -> None:
        top = gy - height
        c.paint(_capsule(c, gy, cx, top, cx, r), pole, grey, tex["fine"], 0.05 * cfg.texture)
        if lamp:
            c.paint(_capsule(c, top, cx, top + arm[0], cx + arm[1], r), pole, grey)
        if sign:
            c.paint(shape(1.0), tsign, outer)
            if size >= 4:
                c.paint(shape(0.6), tsign, inner)

    return gy, draw


def _tree(rng, c: _Canvas, st: _Street, cfg: StreetsConfig, tex: dict):
    gy = st.ground_row(rng, 0.12, 1.0)
    s = st.depth(gy)
    cx = _sidewalk_x(rng, st, gy, (0.6, 1.0))
    trunk = s * c.h * rng.uniform(0.25, 0.45) * cfg.object_scale
    crown = s * c.h * rng.uniform(0.2, 0.35) * cfg.object_scale
    blobs = [(rng.uniform(-0.6, 0.6) * crown, rng.uniform(-0.7, 0.7) * crown, rng.uniform(0.5, 0.9) * crown)
             for _ in range(rng.integers(3, 7))]  # fmt: skip
    leaves, bark = _jitter(rng, _pick(rng, _VEGETATION)), _jitter(rng, (80, 65, 50))
    veg = _L["vegetation"]

    def draw() -> None:
        c.paint(_capsule(c, gy, cx, gy - trunk - 0.5 * crown, cx, max(0.5, 0.04 * s * c.h)), veg, bark)
        for dy, dx, r in blobs:
            c.paint(_ellipse(c, gy - trunk - crown * 0.6 + dy, cx + dx, r, r, 0.0), veg, leaves, tex["leaves"],
                    0.3 * cfg.texture)  # fmt: skip

    return gy, draw


def _render_streets(rng: np.random.Generator, h: int, w: int, cfg: StreetsConfig) -> tuple[np.ndarray, np.ndarray]:
    c = _Canvas(h, w, _L["sky"])
    st = _Street(rng, h, w)
    tex = {
        "large": _smooth_noise(rng, h, w, 16 * h / 64),
        "medium": _smooth_noise(rng, h, w, 5 * h / 64),
        "leaves": _smooth_noise(rng, h, w, 1.5 * h / 64),
        "fine": rng.standard_normal((h, w), dtype=np.float32),
    }
    _draw_background(rng, c, st, cfg, tex)
    objects = []
    for make, (lo, hi) in ((_tree, cfg.trees), (_pole, cfg.poles), (_car, cfg.cars), (_person, cfg.people)):
        objects += [make(rng, c, st, cfg, tex) for _ in range(rng.integers(lo, hi + 1))]
    for _, draw in sorted(objects, key=lambda o: o[0]):  # far to near: near objects occlude
        draw()
    if rng.random() < cfg.shadow_prob:
        side = rng.choice([-1.0, 1.0])
        line = st.edge(c.yy, st.vp + side * w * rng.uniform(0.1, 0.6))
        shadow = (c.yy > st.horizon) & (side * (c.xx - line) > 0) & (c.labels != _L["sky"])
        c.image[shadow] *= rng.uniform(0.5, 0.75)
    if rng.random() < cfg.ego_vehicle_prob:
        depth, bulge = h * rng.uniform(0.06, 0.12), rng.uniform(0.2, 0.5)
        hood = c.yy > h - depth * (1 - bulge * ((c.xx - w / 2) / (w / 2)) ** 2)
        c.labels[hood] = _L["ego vehicle"]
        c.image[hood] = _jitter(rng, _pick(rng, _CAR)) * 0.6
    return _finish(rng, c, cfg.illumination, cfg.blur, cfg.noise_std), c.labels


# --------------------------------------------------------------------------- shapes

#: VOC class ids the shapes generator draws, with the shape that stands for each.
SHAPES_CLASS_IDS = {
    name: VOC_CLASSES.index(name)
    for name in ("aeroplane", "bicycle", "boat", "bottle", "sheep", "tvmonitor")
}
_SHAPE_COLOURS = {
    "aeroplane": (180, 190, 225), "bicycle": (200, 40, 40), "boat": (225, 200, 80),
    "bottle": (40, 140, 60), "sheep": (235, 230, 215), "tvmonitor": (40, 40, 50),
}  # fmt: skip


def _shape_regions(rng, c: _Canvas, kind: str, cy: float, cx: float, r: float, angle: float, thin: float):
    """Regions (drawn in order, one label) of one object of class ``kind``."""
    ca, sa = math.cos(angle), math.sin(angle)

    def at(u: float, v: float) -> tuple[float, float]:  # object frame (along, across) -> image (y, x)
        return cy + u * sa + v * ca, cx + u * ca - v * sa

    half = max(0.5, thin / 2)
    if kind == "sheep":  # disk or mild ellipse
        return [_ellipse(c, cy, cx, r * rng.uniform(0.75, 1.0), r * rng.uniform(0.75, 1.0), angle)]
    if kind == "tvmonitor":  # rectangle at any orientation
        return [_rotated_rect(c, cy, cx, r * rng.uniform(0.75, 1.0), r * rng.uniform(0.45, 0.7), angle)]
    if kind == "boat":  # triangle with jittered corners
        corners = angle + np.array([0.0, 2.1, 4.2]) + rng.uniform(-0.35, 0.35, size=3)
        return [_polygon(c, [(cy + r * math.sin(t), cx + r * math.cos(t)) for t in corners])]
    if kind == "bottle":  # thin bar, sometimes bent into a V
        length = r * rng.uniform(0.9, 1.2)
        if rng.random() < 0.4:
            bend = rng.uniform(0.6, 1.6) * rng.choice([-1, 1])
            tip = (cy + length * math.sin(angle + bend), cx + length * math.cos(angle + bend))
            return [_capsule(c, *at(-length, 0), cy, cx, half), _capsule(c, cy, cx, *tip, half)]
        return [_capsule(c, *at(-length, 0), *at(length, 0), half)]
    if kind == "bicycle":  # two rims with holes, joined by a thin triangular frame
        wheel = r * rng.uniform(0.38, 0.48)
        rim = min(0.9, max(0.3, 1 - max(thin, 0.15 * wheel, 1.0) / wheel))
        back, front, seat = at(-0.55 * r, 0), at(0.55 * r, 0), at(-0.1 * r, -0.55 * r)
        regions = [_ellipse(c, *p, wheel, wheel, 0.0, inner=rim) for p in (back, front)]
        regions += [_capsule(c, *a, *b, half) for a, b in ((back, front), (back, seat), (seat, front))]
        return regions
    if kind == "aeroplane":  # fuselage, swept wings and tail: thin parts at three orientations
        sweep = rng.uniform(0.0, 0.35) * r
        body = max(half, 0.12 * r)
        return [
            _capsule(c, *at(-r, 0), *at(r, 0), body),
            _capsule(c, *at(0.15 * r, 0), *at(0.15 * r - sweep, 0.8 * r), half),
            _capsule(c, *at(0.15 * r, 0), *at(0.15 * r - sweep, -0.8 * r), half),
            _capsule(c, *at(-0.85 * r, 0), *at(-0.95 * r - 0.5 * sweep, 0.35 * r), half),
            _capsule(c, *at(-0.85 * r, 0), *at(-0.95 * r - 0.5 * sweep, -0.35 * r), half),
        ]
    raise AssertionError(kind)


def _pattern(rng, c: _Canvas) -> np.ndarray | None:
    """A full-frame texture of about unit amplitude: plain, stripes, blotches or checks."""
    kind = rng.integers(4)
    period = rng.uniform(3, 9) * min(c.h, c.w) / 96
    theta = rng.uniform(0, math.pi)
    u = c.xx * math.cos(theta) + c.yy * math.sin(theta)
    if kind == 0:
        return None
    if kind == 1:
        return np.sin(2 * math.pi * u / period)
    if kind == 2:
        return _smooth_noise(rng, c.h, c.w, period / 2)
    v = -c.xx * math.sin(theta) + c.yy * math.cos(theta)
    return np.where(((u // period) + (v // period)) % 2 == 0, 1.0, -1.0).astype(np.float32)


def _render_shapes(rng: np.random.Generator, h: int, w: int, cfg: ShapesConfig) -> tuple[np.ndarray, np.ndarray]:
    c = _Canvas(h, w, 0)
    side = min(h, w)
    # Background: two colours mixed by smooth noise, plus a pattern, like clutter.
    mix = 1 / (1 + np.exp(-2.5 * _smooth_noise(rng, h, w, rng.uniform(6, 16) * side / 96)))
    c1, c2 = rng.uniform(30, 225, size=3), rng.uniform(30, 225, size=3)
    c.image[:] = c1 * (1 - mix[..., None]) + c2 * mix[..., None]
    pattern = _pattern(rng, c)
    if pattern is not None:
        c.image *= (1 + 0.5 * cfg.texture * pattern)[..., None]
    names = list(SHAPES_CLASS_IDS)
    thin = cfg.thin_width * side / 96
    for k in range(1, rng.integers(cfg.objects[0], cfg.objects[1] + 1) + 1):
        kind = names[rng.integers(len(names))]
        r = rng.uniform(*cfg.object_size) * side
        cy, cx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
        angle = rng.uniform(0, 2 * math.pi)
        free, typical = rng.uniform(30, 225, size=3), _jitter(rng, _SHAPE_COLOURS[kind])
        colour = (1 - cfg.class_colour) * free + cfg.class_colour * typical
        texture = _pattern(rng, c)
        for region in _shape_regions(rng, c, kind, cy, cx, r, angle, thin):
            c.paint(region, SHAPES_CLASS_IDS[kind], colour, texture, cfg.texture, instance=k)
    if cfg.void_width > 0:
        # VOC marks a band along every object outline (also between touching objects) as void.
        size = 2 * cfg.void_width + 1
        band = ndimage.maximum_filter(c.instances, size=size) != ndimage.minimum_filter(c.instances, size=size)
        c.labels[band] = IGNORE_INDEX
    return _finish(rng, c, cfg.illumination, cfg.blur, cfg.noise_std), c.labels


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class _Generator:
    config_type: type
    render: object  # (rng, h, w, config) -> (image uint8 [H, W, 3], mask uint8 [H, W])
    write: object  # (root, split, index, image, mask, config) -> None


def _streets_path(split: str, index: int) -> tuple[str, str]:
    city = f"{split}city{index // 500:02d}"  # Cityscapes groups frames by city; no "_" in names
    stem = f"{city}_{index:06d}_000019"
    return (f"leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png", f"gtFine/{split}/{city}/{stem}_gtFine_labelIds.png")


def _write_streets(root: Path, split: str, index: int, image: np.ndarray, mask: np.ndarray, cfg) -> None:
    image_path, mask_path = (root / p for p in _streets_path(split, index))
    image_path.parent.mkdir(parents=True, exist_ok=True)
    mask_path.parent.mkdir(parents=True, exist_ok=True)
    # Fast zlib level: noisy images barely compress further and saving dominates the time.
    Image.fromarray(image).save(image_path, compress_level=1)
    Image.fromarray(mask).save(mask_path, compress_level=6)


_VOC_PALETTE = voc_palette().tobytes()


def _shapes_id(split: str, index: int) -> str:
    return f"{split}_{index:06d}"


def _write_shapes(root: Path, split: str, index: int, image: np.ndarray, mask: np.ndarray, cfg: ShapesConfig) -> None:
    voc = root / "VOCdevkit" / "VOC2012"
    stem = _shapes_id(split, index)
    Image.fromarray(image).save(voc / "JPEGImages" / f"{stem}.jpg", quality=cfg.jpeg_quality)
    palette_mask = Image.fromarray(mask)
    palette_mask.putpalette(_VOC_PALETTE)  # mode L -> P, as VOC's SegmentationClass PNGs
    palette_mask.save(voc / "SegmentationClass" / f"{stem}.png")


_GENERATORS = {
    "streets": _Generator(StreetsConfig, _render_streets, _write_streets),
    "shapes": _Generator(ShapesConfig, _render_shapes, _write_shapes),
}


def synthetic_datasets() -> list[str]:
    """Names of the datasets :func:`generate` can write."""
    return sorted(_GENERATORS)


def _generator(name: str) -> _Generator:
    if name not in _GENERATORS:
        raise ValueError(f"unknown synthetic dataset {name!r}; valid: {', '.join(synthetic_datasets())}")
    return _GENERATORS[name]


def _resolve(name: str, height, width, config):
    gen = _generator(dataset_info(name).generator or name)
    default_h, default_w = dataset_info(name).image_size
    height, width = height or default_h, width or default_w
    if int(height) != height or int(width) != width or height < 16 or width < 16:
        raise ValueError(f"height and width must be integers >= 16, got {height}x{width}")
    config = gen.config_type() if config is None else config
    if not isinstance(config, gen.config_type):
        raise TypeError(f"config for {name!r} must be a {gen.config_type.__name__}, got {type(config).__name__}")
    return gen, int(height), int(width), config


def render(
    name: str, index: int, *, split: str = "train", height: int | None = None, width: int | None = None,
    seed: int = 0, config: StreetsConfig | ShapesConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one image as :func:`generate` would, without writing it.

    Returns (image uint8 [H, W, 3], mask uint8 [H, W]): Cityscapes labelIds for
    ``streets``, VOC class ids with 255 void for ``shapes`` (before JPEG encoding).
    """
    gen, height, width, config = _resolve(name, height, width, config)
    if split not in _SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(_SPLITS)}")
    rng = np.random.default_rng([seed, _SPLITS.index(split), index])
    return gen.render(rng, height, width, config)


def _marker(name: str, n_train: int, n_val: int, height: int, width: int, seed: int, config) -> dict:
    return json.loads(json.dumps({
        "name": name,
        "generator_version": GENERATOR_VERSION,
        "params": {"n_train": n_train, "n_val": n_val, "height": height, "width": width, "seed": seed},
        "config": asdict(config),
    }))  # fmt: skip


def _flatten(marker: dict) -> dict:
    flat = {"name": marker.get("name"), "generator_version": marker.get("generator_version")}
    flat.update(marker.get("params", {}))
    flat.update({f"config.{k}": v for k, v in marker.get("config", {}).items()})
    return flat


def _compare(root: Path, existing: dict, wanted: dict) -> None:
    old, new = _flatten(existing), _flatten(wanted)
    keys = sorted(set(old) | set(new))
    diffs = [f"{k}: {old.get(k)!r} on disk, {new.get(k)!r} requested" for k in keys if old.get(k) != new.get(k)]
    if diffs:
        raise DatasetError(
            f"{root} holds a different generated set ({'; '.join(diffs)}); delete it or generate into another folder"
        )


def _read_marker(root: Path) -> dict | None:
    path = root / MARKER_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"unreadable {path} ({err}); delete {root} and generate again") from err


def generate(
    name: str, root: str | os.PathLike, *, n_train: int, n_val: int, height: int | None = None,
    width: int | None = None, seed: int = 0, config: StreetsConfig | ShapesConfig | None = None,
) -> Path:
    """Write synthetic dataset ``name`` under ``root`` and return ``root``.

    ``streets`` follows the Cityscapes layout (``root/leftImg8bit``, ``root/gtFine``),
    ``shapes`` the VOC 2012 layout under ``root/VOCdevkit/VOC2012`` (lists ``train``,
    ``val``, ``trainval``); both are read by :func:`benchmark.data.load_split`.
    Height and width default to ``dataset_info(name).image_size``.

    Atomic: files are written into a temporary sibling folder renamed to ``root`` at
    the end. Idempotent: ``root/generator.json`` records name, version and every
    parameter; a second call with the same ones returns at once, a call with others
    raises :class:`DatasetError` naming the differences.
    """
    gen, height, width, config = _resolve(name, height, width, config)
    # n_train 0: a set drawn only to score on (the tuning split of a weight search).
    for label, n, least in (("n_train", n_train, 0), ("n_val", n_val, 1)):
        if int(n) != n or n < least:
            raise ValueError(f"{label} must be an integer >= {least}, got {n!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    root = Path(root).expanduser()
    wanted = _marker(name, int(n_train), int(n_val), height, width, int(seed), config)
    existing = _read_marker(root)
    if existing is not None:
        _compare(root, existing, wanted)
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DatasetError(f"{root} exists and holds no {MARKER_FILE}; generate into a new or empty folder")

    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        if dataset_info(name).reader == "voc":
            voc = tmp / "VOCdevkit" / "VOC2012"
            for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
                (voc / sub).mkdir(parents=True)
        counts = {"train": int(n_train), "val": int(n_val)}
        for split_code, split in enumerate(_SPLITS):
            for index in range(counts[split]):
                rng = np.random.default_rng([int(seed), split_code, index])
                image, mask = gen.render(rng, height, width, config)
                gen.write(tmp, split, index, image, mask, config)
        if dataset_info(name).reader == "voc":
            lists = {s: [_shapes_id(s, i) for i in range(counts[s])] for s in _SPLITS}
            lists["trainval"] = lists["train"] + lists["val"]
            for split, ids in lists.items():
                (voc / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        (tmp / MARKER_FILE).write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")
        try:
            os.rename(tmp, root)  # replaces an empty folder; fails if another writer finished first
        except OSError:
            existing = _read_marker(root)
            if existing is None:
                raise
            _compare(root, existing, wanted)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root

