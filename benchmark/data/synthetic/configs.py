"""Knobs of the synthetic generators and the version of what they draw.

``StreetsConfig`` and ``ShapesConfig`` are frozen dataclasses of difficulty knobs; every
field is written into the marker of a generated set. ``GENERATOR_VERSION`` stands for
the drawing code itself (``drawing``, ``streets``, ``shapes``), which no field records.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GENERATOR_VERSION", "ShapesConfig", "StreetsConfig"]

#: Bump whenever the same arguments would give different images or masks; it enters
#: the run id, so runs on older images are never mixed with new ones.
GENERATOR_VERSION = "streets-shapes-2"


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
