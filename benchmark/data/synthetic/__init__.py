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

Modules, each importing only those listed before it:

* ``configs``: ``StreetsConfig`` and ``ShapesConfig``, and ``GENERATOR_VERSION``, to bump
  whenever the drawing code below changes an image or a mask;
* ``drawing``: the canvas, the shapes painted on it, smooth noise, colour jitter and the
  camera (light, blur, sensor noise);
* ``streets``: the ``streets`` scene and its Cityscapes labelIds (``STREETS_LABEL_IDS``);
* ``shapes``: the ``shapes`` objects and their VOC class ids (``SHAPES_CLASS_IDS``);
* ``writing``: ``render`` and ``generate``: the sets in their official layouts, with the
  marker file (``MARKER_FILE``) that makes a second call with the same arguments a no-op.
"""

from benchmark.data.synthetic.configs import GENERATOR_VERSION, ShapesConfig, StreetsConfig
from benchmark.data.synthetic.streets import STREETS_LABEL_IDS
from benchmark.data.synthetic.shapes import SHAPES_CLASS_IDS
from benchmark.data.synthetic.writing import MARKER_FILE, generate, render, synthetic_datasets

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
