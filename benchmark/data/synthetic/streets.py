"""The ``streets`` generator: a Cityscapes-like street scene and its labelId mask.

A scene is a sky, buildings towards a vanishing point, sidewalks and a road, then trees,
poles (with traffic signs), cars and people drawn far to near, so near objects occlude;
sometimes a cast shadow and a (void) ego-vehicle hood.
"""

from __future__ import annotations

import math

import numpy as np
from cityscapesscripts.helpers.labels import name2label

from benchmark.data.synthetic.configs import StreetsConfig
from benchmark.data.synthetic.drawing import (
    Canvas,
    capsule,
    ellipse,
    finish,
    jitter,
    pick,
    polygon,
    rect,
    rotated_rect,
    smooth_noise,
)

__all__ = ["STREETS_LABEL_IDS", "render_streets"]

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


def _draw_background(rng, c: Canvas, st: _Street, cfg: StreetsConfig, tex: dict) -> None:
    h, w, tx = c.h, c.w, cfg.texture
    yy, xx = c.yy, c.xx
    # Sky: vertical gradient to a lighter horizon, with faint clouds.
    top, low = jitter(rng, pick(rng, _SKY)), jitter(rng, pick(rng, _SKY))
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
        colour = jitter(rng, pick(rng, _BUILDING))
        c.paint((sl, mask), _L["building"], colour, tex["medium"], 0.08 * tx)
        if rng.random() < 0.8:
            px, py = rng.uniform(4, 9) * h / 64, rng.uniform(4, 8) * h / 64
            ox, oy = rng.uniform(0, px), rng.uniform(0, py)
            windows = mask & ((bxx - xa + ox) % px < 0.5 * px) & ((byy + oy) % py < 0.55 * py) & (byy > roof + 0.6 * py)
            glass = jitter(rng, (40, 45, 55)) if rng.random() < 0.5 else low * rng.uniform(0.7, 0.95)
            c.paint((sl, windows), _L["building"], glass, tex["fine"], 0.05 * tx)
    # Ground: sidewalks (paving lines) and the road (lane dashes, sometimes a zebra crossing).
    bottom = h + 1.0
    walk = polygon(c, [(st.horizon, st.vp), (bottom, st.walk_right), (bottom, st.walk_left)])
    if walk is not None:
        sl, mask = walk
        mask = mask & (yy[sl] > st.horizon)
        depth = np.maximum(st.depth(yy[sl]), 1e-3)
        lines = ((1.0 / depth * 1.5) % 1.0 < 0.14) | (((xx[sl] - st.vp) / depth / (0.09 * w)) % 1.0 < 0.1)
        colour = jitter(rng, pick(rng, _SIDEWALK))
        c.paint((sl, mask), _L["sidewalk"], colour, tex["medium"], 0.07 * tx)
        c.paint((sl, mask & lines), _L["sidewalk"], colour * (1 - 0.2 * min(tx, 1.0)))
    road = polygon(c, [(st.horizon, st.vp), (bottom, st.road_right), (bottom, st.road_left)])
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
        paint = jitter(rng, (215, 215, 205), 0.05)
        c.paint((sl, mask & dashes), _L["road"], paint, tex["fine"], 0.05 * tx)
        if rng.random() < 0.3:
            d0 = rng.uniform(0.3, 0.8)
            band = (depth > d0) & (depth < d0 + 0.12)
            stripes = ((xx[sl] - st.vp) / depth / (0.05 * w)) % 1.0 < 0.5
            c.paint((sl, mask & band & stripes), _L["road"], paint, tex["fine"], 0.05 * tx)


def _car(rng, c: Canvas, st: _Street, cfg: StreetsConfig, tex: dict):
    gy = st.ground_row(rng, 0.1, 1.15)
    s = st.depth(gy)
    left, right = st.edge(gy, st.road_left), st.edge(gy, st.road_right)
    cx = left + rng.uniform(0.05, 0.95) * (right - left)
    cw = s * c.w * 0.26 * cfg.object_scale
    colour = jitter(rng, pick(rng, _CAR))
    glass = jitter(rng, (45, 50, 60)) if rng.random() < 0.6 else jitter(rng, pick(rng, _SKY)) * 0.8
    tall = rng.uniform(0.85, 1.25)
    side_view = rng.random() < 0.35
    tx, car = cfg.texture, _L["car"]

    def draw() -> None:
        if side_view:  # long body, round wheels
            length = 1.9 * cw
            x0, x1 = cx - length / 2, cx + length / 2
            c.paint(rect(c, gy - 0.45 * cw * tall, x0, gy - 0.12 * cw, x1), car, colour, tex["medium"], 0.05 * tx)
            base, roof = gy - 0.44 * cw * tall, gy - 0.75 * cw * tall
            cabin = np.array([(base, x0 + 0.12 * length), (roof, x0 + 0.3 * length),
                              (roof, x1 - 0.28 * length), (base, x1 - 0.08 * length)])  # fmt: skip
            c.paint(polygon(c, cabin), car, colour)
            centre = cabin.mean(axis=0)
            c.paint(polygon(c, centre + (cabin - centre) * (0.7, 0.85)), car, glass, tex["fine"], 0.05 * tx)
            for wx in (x0 + 0.2 * length, x1 - 0.2 * length):
                c.paint(ellipse(c, gy - 0.17 * cw, wx, 0.17 * cw, 0.17 * cw, 0.0), car, (22, 22, 24))
        else:  # rear view: wheels, body, trapezoid cabin and window, tail lights
            for sx in (-1, 1):
                c.paint(rect(c, gy - 0.16 * cw, cx + sx * 0.42 * cw, gy, cx + sx * 0.27 * cw), car, (22, 22, 24))
            c.paint(rect(c, gy - 0.5 * cw * tall, cx - 0.5 * cw, gy - 0.1 * cw, cx + 0.5 * cw), car, colour,
                    tex["medium"], 0.05 * tx)  # fmt: skip
            base, roof = gy - 0.5 * cw * tall, gy - 0.8 * cw * tall
            c.paint(polygon(c, [(base, cx - 0.46 * cw), (base, cx + 0.46 * cw), (roof, cx + 0.32 * cw),
                                 (roof, cx - 0.32 * cw)]), car, colour)  # fmt: skip
            c.paint(polygon(c, [(base - 0.03 * cw, cx - 0.39 * cw), (base - 0.03 * cw, cx + 0.39 * cw),
                                 (roof + 0.04 * cw, cx + 0.28 * cw), (roof + 0.04 * cw, cx - 0.28 * cw)]),
                    car, glass, tex["fine"], 0.05 * tx)  # fmt: skip
            for sx in (-1, 1):
                light = rect(c, gy - 0.44 * cw * tall, cx + sx * 0.48 * cw, gy - 0.36 * cw * tall, cx + sx * 0.36 * cw)
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


def _person(rng, c: Canvas, st: _Street, cfg: StreetsConfig, tex: dict):
    gy = st.ground_row(rng, 0.15, 1.05)
    s = st.depth(gy)
    if rng.random() < 0.15:  # crossing the road
        left, right = st.edge(gy, st.road_left), st.edge(gy, st.road_right)
        cx = left + rng.uniform(0.1, 0.9) * (right - left)
    else:
        cx = _sidewalk_x(rng, st, gy, (0.1, 0.9))
    ph = s * c.h * 0.55 * cfg.object_scale * rng.uniform(0.85, 1.15)
    legs, shirt = jitter(rng, rng.uniform(20, 200, size=3)), jitter(rng, rng.uniform(20, 230, size=3))
    skin = jitter(rng, pick(rng, _SKIN), 0.05)
    feet = rng.uniform(0.0, 0.13, size=2) * ph
    hands = rng.uniform(0.06, 0.2, size=2) * ph
    hand_y = rng.uniform(0.4, 0.6, size=2) * ph
    r_leg, r_arm = max(0.5, 0.05 * ph), max(0.5, 0.035 * ph)
    person, tx = _L["person"], cfg.texture

    def draw() -> None:
        hip, shoulder = gy - 0.48 * ph, gy - 0.78 * ph
        for sx, foot in zip((-1, 1), feet):
            c.paint(capsule(c, hip, cx + sx * 0.04 * ph, gy - r_leg, cx + sx * foot, r_leg), person, legs)
        c.paint(capsule(c, hip, cx, shoulder + 0.04 * ph, cx, 0.1 * ph), person, shirt, tex["fine"], 0.1 * tx)
        for sx, hand, hy in zip((-1, 1), hands, hand_y):
            c.paint(capsule(c, shoulder, cx + sx * 0.08 * ph, gy - hy, cx + sx * hand, r_arm), person, shirt)
        c.paint(ellipse(c, gy - 0.9 * ph, cx, 0.075 * ph, 0.065 * ph, 0.0), person, skin)

    return gy, draw


def _pole(rng, c: Canvas, st: _Street, cfg: StreetsConfig, tex: dict):
    gy = st.ground_row(rng, 0.12, 1.05)
    s = st.depth(gy)
    cx = _sidewalk_x(rng, st, gy, (0.05, 0.45))
    height = s * c.h * rng.uniform(0.9, 1.7)
    r = max(0.5, 0.5 * cfg.thin_width * c.h / 64 * s)
    grey = jitter(rng, (1, 1, 1), 0.03) * rng.uniform(55, 150)
    towards_road = 1.0 if cx < st.vp else -1.0
    lamp = rng.random() < 0.35
    arm = (rng.uniform(0.0, 0.12) * height, rng.uniform(0.15, 0.3) * height * towards_road)
    sign = rng.random() < cfg.sign_prob
    sign_kind = rng.integers(5)
    size = max(2.0, s * c.h * 0.1 * cfg.object_scale * rng.uniform(0.7, 1.3))
    sign_y = gy - height * rng.uniform(0.55, 0.85) if not lamp else gy - height * rng.uniform(0.45, 0.65)
    sign_x = cx + rng.choice([0.0, 0.6 * size * towards_road])
    outer, inner = jitter(rng, pick(rng, _SIGN), 0.08), jitter(rng, pick(rng, _SIGN), 0.08)
    pole, tsign = _L["pole"], _L["traffic sign"]

    def shape(scale: float):
        half = 0.5 * size * scale
        if sign_kind == 0:
            return ellipse(c, sign_y, sign_x, half, half, 0.0)
        if sign_kind == 1:  # triangle pointing up
            low = sign_y + 0.8 * half
            return polygon(c, [(sign_y - half, sign_x), (low, sign_x + half), (low, sign_x - half)])
        if sign_kind == 2:  # triangle pointing down
            high = sign_y - 0.8 * half
            return polygon(c, [(sign_y + half, sign_x), (high, sign_x - half), (high, sign_x + half)])
        if sign_kind == 3:  # diamond
            return rotated_rect(c, sign_y, sign_x, half, half, math.pi / 4)
        return rect(c, sign_y - 0.7 * half, sign_x - half, sign_y + 0.7 * half, sign_x + half)

    def draw() -> None:
        top = gy - height
        c.paint(capsule(c, gy, cx, top, cx, r), pole, grey, tex["fine"], 0.05 * cfg.texture)
        if lamp:
            c.paint(capsule(c, top, cx, top + arm[0], cx + arm[1], r), pole, grey)
        if sign:
            c.paint(shape(1.0), tsign, outer)
            if size >= 4:
                c.paint(shape(0.6), tsign, inner)

    return gy, draw


def _tree(rng, c: Canvas, st: _Street, cfg: StreetsConfig, tex: dict):
    gy = st.ground_row(rng, 0.12, 1.0)
    s = st.depth(gy)
    cx = _sidewalk_x(rng, st, gy, (0.6, 1.0))
    trunk = s * c.h * rng.uniform(0.25, 0.45) * cfg.object_scale
    crown = s * c.h * rng.uniform(0.2, 0.35) * cfg.object_scale
    blobs = [(rng.uniform(-0.6, 0.6) * crown, rng.uniform(-0.7, 0.7) * crown, rng.uniform(0.5, 0.9) * crown)
             for _ in range(rng.integers(3, 7))]  # fmt: skip
    leaves, bark = jitter(rng, pick(rng, _VEGETATION)), jitter(rng, (80, 65, 50))
    veg = _L["vegetation"]

    def draw() -> None:
        c.paint(capsule(c, gy, cx, gy - trunk - 0.5 * crown, cx, max(0.5, 0.04 * s * c.h)), veg, bark)
        for dy, dx, r in blobs:
            c.paint(ellipse(c, gy - trunk - crown * 0.6 + dy, cx + dx, r, r, 0.0), veg, leaves, tex["leaves"],
                    0.3 * cfg.texture)  # fmt: skip

    return gy, draw


def render_streets(rng: np.random.Generator, h: int, w: int, cfg: StreetsConfig) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: (image uint8 [H, W, 3], Cityscapes labelIds uint8 [H, W]).

    Every random number comes from ``rng``, so an image depends only on the generator it is
    given (``writing`` gives each image its own).
    """
    c = Canvas(h, w, _L["sky"])
    st = _Street(rng, h, w)
    tex = {
        "large": smooth_noise(rng, h, w, 16 * h / 64),
        "medium": smooth_noise(rng, h, w, 5 * h / 64),
        "leaves": smooth_noise(rng, h, w, 1.5 * h / 64),
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
        c.image[hood] = jitter(rng, pick(rng, _CAR)) * 0.6
    return finish(rng, c, cfg.illumination, cfg.blur, cfg.noise_std), c.labels

