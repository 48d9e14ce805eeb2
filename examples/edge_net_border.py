"""How the edge net reads the image border, measured: the held-out F1 of each way, a few CPU minutes.

The paper's literal fitting input, softmax(onehot + sigma * noise), is an affine map of the
one-hot plus noise: its channels sum to 1 inside the image and to 0 in the zero padding, a
step as large as a class boundary's. Fitted on 64x64 patches with zero padding, the net has
to learn that the padding is no edge, and the held-out F1 is decided there: the 3-pixel ring
of a 64x64 patch is 18% of its pixels, where the edges are a few percent.

For each way of reading the border (``methods.EDGE_NET_BORDERS``) and each fitting input (the
fixed peak 0.9 with sigma 1, the literal input at a few sigmas), this fits the net as the small
scale does (``streets`` masks at 64 x 128 drawn as the generator draws them, one uniform
64 x 64 patch per fitting mask, 1000 steps, plain loss) and prints its F1 on whole held-out
masks (64 x 128, the size the net is used at in training):

    all       every non-void pixel of the held-out masks, the image border included
    interior  the pixels farther than 3 px from the border (the net's window inside the image)
    patches   the held-out share of the fitting patches, every pixel: the F1 the floor of 0.95
              reads at the small scale (``fit_edge_net``'s own measure)

plus "whole", the zero-padded net fitted on whole masks instead of patches (its own held-out
fifth of them scored whole in the "patches" column), and "whole-reflect", with reflect padding.

    python examples/edge_net_border.py                     # every way, every input
    python examples/edge_net_border.py --borders zeros reflect --sigmas 0.0625 --peaks

A reading, not a record; the choice it informs is written in docs/protocol.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import methods
from benchmark.data import cityscapes_lut, render

NUM_CLASSES, IGNORE = 19, 255


def streets_masks(first: int, count: int, height: int = 64, width: int = 128) -> torch.Tensor:
    """int64 [count, H, W] train ids of the streets generator's training masks ``first``...``first+count-1``."""
    lut = cityscapes_lut()
    return torch.stack([torch.from_numpy(lut[render("streets", i, split="train", height=height, width=width)[1]].astype(np.int64))
                        for i in range(first, first + count)])  # fmt: skip


def uniform_patches(masks: torch.Tensor, size: int = 64, seed: int = 0) -> torch.Tensor:
    """One uniformly placed ``size`` x ``size`` patch per mask, as the small scale fits (int64 [M, size, size])."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for mask in masks:
        h, w = mask.shape
        y = int(torch.randint(h - size + 1, (1,), generator=g))
        x = int(torch.randint(w - size + 1, (1,), generator=g))
        out.append(mask[y : y + size, x : x + size])
    return torch.stack(out)


def f1_on(net: methods.EdgeNet, masks: torch.Tensor, peak, sigma: float, ring: int = 0, seed: int = 1) -> float:
    """The edge class's F1 of ``net`` on ``masks`` under fresh noise, counting the non-void
    pixels farther than ``ring`` from the border (0: every one)."""
    alpha = 1.0 if peak == methods.LITERAL else methods.alpha_for_peak(peak, NUM_CLASSES)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        inputs = methods.noisy_softmax(masks, NUM_CLASSES, alpha, sigma, ignore_index=IGNORE, generator=g)
        valid = masks != IGNORE
        if ring:
            valid[:, :ring] = valid[:, -ring:] = valid[:, :, :ring] = valid[:, :, -ring:] = False
        tp, fp, fn = methods.edge_f1(net(inputs), methods.semantic_edges(masks, IGNORE), valid)
    return 2 * tp / (2 * tp + fp + fn)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--borders", nargs="+", default=[*methods.EDGE_NET_BORDERS, "whole", "whole-reflect"])
    p.add_argument("--sigmas", nargs="*", type=float, default=[0.25, 0.0625], help="the literal input's sigmas")
    p.add_argument("--peaks", nargs="*", type=float, default=[0.9], help="fixed peaks (sigma 1) fitted too")
    p.add_argument("--fit-masks", type=int, default=512, help="masks fitted on, the last fifth's patches held out")
    p.add_argument("--held-out", type=int, default=64, help="whole masks scored")
    p.add_argument("--steps", type=int, default=1000)
    args = p.parse_args()
    torch.set_num_threads(1)
    fit_masks = streets_masks(0, args.fit_masks)
    held = streets_masks(args.fit_masks, args.held_out)
    patches = uniform_patches(fit_masks)
    inputs = [(methods.LITERAL, s) for s in args.sigmas] + [(peak, 1.0) for peak in args.peaks]
    print(f"{'border':10s} {'input':18s} {'all':>6s} {'interior':>9s} {'patches':>8s} {'fit s':>6s}")
    for border in args.borders:
        for peak, sigma in inputs:
            started = time.perf_counter()
            whole = border.startswith("whole")
            fitted = fit_masks if whole else patches
            net = methods.fit_edge_net(fitted, NUM_CLASSES, peak=peak, sigma=sigma, steps=args.steps, ignore_index=IGNORE, seed=0,
                                       border=border.partition("-")[2] or "zeros" if whole else border)  # fmt: skip
            seconds = time.perf_counter() - started
            name = f"peak {peak}" if peak != methods.LITERAL else "literal"
            print(f"{border:10s} {name + f', s={sigma:g}':18s} {f1_on(net, held, peak, sigma):6.3f} "
                  f"{f1_on(net, held, peak, sigma, ring=methods.RECEPTIVE_RADIUS):9.3f} {net.info.f1:8.3f} {seconds:6.0f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
