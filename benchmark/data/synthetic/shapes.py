"""The ``shapes`` generator: Pascal-VOC-like object images and their class-id masks.

Six VOC classes, each told apart by its shape, are drawn with textures on a textured
background; VOC's void band (255) is then marked along every object outline.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from benchmark.data.labels import VOC_CLASSES
from benchmark.data.registry import IGNORE_INDEX
from benchmark.data.synthetic.configs import ShapesConfig
from benchmark.data.synthetic.drawing import (
    Canvas,
    capsule,
    ellipse,
    finish,
    jitter,
    polygon,
    rotated_rect,
    smooth_noise,
)

__all__ = ["SHAPES_CLASS_IDS", "render_shapes"]

#: VOC class ids the shapes generator draws, with the shape that stands for each.
SHAPES_CLASS_IDS = {
    name: VOC_CLASSES.index(name)
    for name in ("aeroplane", "bicycle", "boat", "bottle", "sheep", "tvmonitor")
}
_SHAPE_COLOURS = {
    "aeroplane": (180, 190, 225), "bicycle": (200, 40, 40), "boat": (225, 200, 80),
    "bottle": (40, 140, 60), "sheep": (235, 230, 215), "tvmonitor": (40, 40, 50),
}  # fmt: skip


def _shape_regions(rng, c: Canvas, kind: str, cy: float, cx: float, r: float, angle: float, thin: float):
    """Regions (drawn in order, one label) of one object of class ``kind``."""
    ca, sa = math.cos(angle), math.sin(angle)

    def at(u: float, v: float) -> tuple[float, float]:  # object frame (along, across) -> image (y, x)
        return cy + u * sa + v * ca, cx + u * ca - v * sa

    half = max(0.5, thin / 2)
    if kind == "sheep":  # disk or mild ellipse
        return [ellipse(c, cy, cx, r * rng.uniform(0.75, 1.0), r * rng.uniform(0.75, 1.0), angle)]
    if kind == "tvmonitor":  # rectangle at any orientation
        return [rotated_rect(c, cy, cx, r * rng.uniform(0.75, 1.0), r * rng.uniform(0.45, 0.7), angle)]
    if kind == "boat":  # triangle with jittered corners
        corners = angle + np.array([0.0, 2.1, 4.2]) + rng.uniform(-0.35, 0.35, size=3)
        return [polygon(c, [(cy + r * math.sin(t), cx + r * math.cos(t)) for t in corners])]
    if kind == "bottle":  # thin bar, sometimes bent into a V
        length = r * rng.uniform(0.9, 1.2)
        if rng.random() < 0.4:
            bend = rng.uniform(0.6, 1.6) * rng.choice([-1, 1])
            tip = (cy + length * math.sin(angle + bend), cx + length * math.cos(angle + bend))
            return [capsule(c, *at(-length, 0), cy, cx, half), capsule(c, cy, cx, *tip, half)]
        return [capsule(c, *at(-length, 0), *at(length, 0), half)]
    if kind == "bicycle":  # two rims with holes, joined by a thin triangular frame
        wheel = r * rng.uniform(0.38, 0.48)
        rim = min(0.9, max(0.3, 1 - max(thin, 0.15 * wheel, 1.0) / wheel))
        back, front, seat = at(-0.55 * r, 0), at(0.55 * r, 0), at(-0.1 * r, -0.55 * r)
        regions = [ellipse(c, *p, wheel, wheel, 0.0, inner=rim) for p in (back, front)]
        regions += [capsule(c, *a, *b, half) for a, b in ((back, front), (back, seat), (seat, front))]
        return regions
    if kind == "aeroplane":  # fuselage, swept wings and tail: thin parts at three orientations
        sweep = rng.uniform(0.0, 0.35) * r
        body = max(half, 0.12 * r)
        return [
            capsule(c, *at(-r, 0), *at(r, 0), body),
            capsule(c, *at(0.15 * r, 0), *at(0.15 * r - sweep, 0.8 * r), half),
            capsule(c, *at(0.15 * r, 0), *at(0.15 * r - sweep, -0.8 * r), half),
            capsule(c, *at(-0.85 * r, 0), *at(-0.95 * r - 0.5 * sweep, 0.35 * r), half),
            capsule(c, *at(-0.85 * r, 0), *at(-0.95 * r - 0.5 * sweep, -0.35 * r), half),
        ]
    raise AssertionError(kind)


def _pattern(rng, c: Canvas) -> np.ndarray | None:
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
        return smooth_noise(rng, c.h, c.w, period / 2)
    v = -c.xx * math.sin(theta) + c.yy * math.cos(theta)
    return np.where(((u // period) + (v // period)) % 2 == 0, 1.0, -1.0).astype(np.float32)


def render_shapes(rng: np.random.Generator, h: int, w: int, cfg: ShapesConfig) -> tuple[np.ndarray, np.ndarray]:
    """One shapes image: (image uint8 [H, W, 3], VOC class ids uint8 [H, W], 255 void along
    the outlines). Every random number comes from ``rng``, so an image depends only on the
    generator it is given (``writing`` gives each image its own).
    """
    c = Canvas(h, w, 0)
    side = min(h, w)
    # Background: two colours mixed by smooth noise, plus a pattern, like clutter.
    mix = 1 / (1 + np.exp(-2.5 * smooth_noise(rng, h, w, rng.uniform(6, 16) * side / 96)))
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
        free, typical = rng.uniform(30, 225, size=3), jitter(rng, _SHAPE_COLOURS[kind])
        colour = (1 - cfg.class_colour) * free + cfg.class_colour * typical
        texture = _pattern(rng, c)
        for region in _shape_regions(rng, c, kind, cy, cx, r, angle, thin):
            c.paint(region, SHAPES_CLASS_IDS[kind], colour, texture, cfg.texture, instance=k)
    if cfg.void_width > 0:
        # VOC marks a band along every object outline (also between touching objects) as void.
        size = 2 * cfg.void_width + 1
        band = ndimage.maximum_filter(c.instances, size=size) != ndimage.minimum_filter(c.instances, size=size)
        c.labels[band] = IGNORE_INDEX
    return finish(rng, c, cfg.illumination, cfg.blur, cfg.noise_std), c.labels

