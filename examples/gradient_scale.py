"""How large each loss's gradient is against PPCE's, at initialisation: a few CPU passes.

For every tuned method (or those named), on a few batches of ``streets`` images drawn as the
generator draws them (64 x 128, the small scale's size; no file is written) and the small
model at its initialisation (seed 0, train mode, as the first training step sees it), this
prints the global L2 norm of the gradient over the model's parameters of

    PPCE alone,                      |g_ppce|
    the method's extra term at 1x,   |g_term|  (the total minus its PPCE, default lambdas)
    the total at some multipliers    |g_ppce + m g_term|

and the multiplier at which the term's gradient equals PPCE's, m* = |g_ppce| / |g_term|.
The clipping threshold of the small scale (30) is PPCE's largest norm over its first 100
steps: a total far above it is rescaled, and PPCE's share of the step shrinks with it.

``hausdorff_dt`` also gets the scale of its distance weights d_G^2 + d_P^2 at each non-void
pixel for its true class (the weight of that pixel's squared error), which is where its
gradient comes from. SEMEDA and PPCE on edges use an edge net fitted here in 200 steps (a
run fits its own for longer), so their figures are rougher than the others'.

    python examples/gradient_scale.py                      # every tuned method
    python examples/gradient_scale.py hausdorff_dt ppce_edges --batches 3
    python examples/gradient_scale.py hausdorff_dt --warm 300   # after 300 PPCE steps instead
    python examples/gradient_scale.py --terms --edge-net data/prepared/streets-dacdfacb2f6e/edge_net.pt

``--terms`` measures, instead, the ratio |g_term| / |g_ppce| of each term of Table 1 at weight 1
(SEMEDA per layer, before and after ReLU; Ubernet-style's and PPCE on edges' edge terms) and of
every tuned method at its default weights, with the edge net a run of the small scale uses
(``--edge-net``: its prepared file, fitted on ``streets`` at peak 0.9; without it, one fitted here
in 200 steps), and prints them as ``benchmark/term_scales.py`` stores them.

A reading, not a record: the numbers depend on the batch, the initialisation and the point of
training (``--warm``), so they tell the order of magnitude of the weight at which a term
stops dominating PPCE (the centre a gradient-matched grid would take), not a weight to report.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from scipy.ndimage import binary_dilation, distance_transform_edt

import methods
from benchmark.data import cityscapes_lut, dataset_info, normalize, render
from benchmark.models import build_model
from benchmark.spec import scale_settings

MULTIPLIERS = (1 / 2187, 1 / 243, 1 / 27, 1.0, 27.0)


def streets_batches(n_batches: int, batch_size: int = 4, height: int = 64, width: int = 128, first: int = 0):
    """(images uint8 [N, 3, H, W], target int64 [N, H, W] train ids) of the streets generator,
    from its ``first`` training image on."""
    lut = cityscapes_lut()
    out = []
    for b in range(first // batch_size, first // batch_size + n_batches):
        images, masks = [], []
        for i in range(b * batch_size, (b + 1) * batch_size):
            image, mask = render("streets", i, split="train", height=height, width=width)
            images.append(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1))
            masks.append(torch.from_numpy(lut[mask].astype(np.int64)))
        out.append((torch.stack(images), torch.stack(masks)))
    return out


def gradient(model, loss) -> torch.Tensor:
    """The flattened gradient of ``loss`` over the model's trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)])


def edge_net_for(batches, num_classes: int):
    """A quickly fitted edge net (fewer steps than a run's; the scale of its gradient is what counts here)."""
    masks = torch.cat([t for _, t in batches])[:, :, :64]
    return methods.fit_edge_net(masks, num_classes, steps=200, seed=0)


def contour_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the 8-neighbour contour of ``mask`` (0 on it; 0 everywhere without one), the
    definition ``hausdorff_dt`` states: a pixel of the mask with an 8-neighbour inside the image
    outside the mask; the image border is not a contour."""
    outside = binary_dilation(~mask, structure=np.ones((3, 3), bool), border_value=0)
    contour = mask & outside
    return distance_transform_edt(~contour) if contour.any() else np.zeros(mask.shape)


def distance_weights(target: torch.Tensor, logits: torch.Tensor, num_classes: int, alpha: float = 2.0) -> dict:
    """hausdorff_dt's weight d_G^alpha + d_P^alpha at the non-void pixels, for the true class of
    each pixel (the weight its error (S - G)^2 is multiplied by) and over every class."""
    t = target.numpy()
    p = logits.argmax(1).numpy()
    true_w, all_w = [], []
    for i in range(len(t)):
        valid = t[i] != 255
        weights = np.stack([contour_distance(t[i] == c) ** alpha + contour_distance((p[i] == c) & valid) ** alpha
                            for c in range(num_classes)])  # fmt: skip
        true_w.append(np.take_along_axis(weights, np.where(valid, t[i], 0)[None], 0)[0][valid])
        all_w.append(weights[:, valid].ravel())
    true_w, all_w = np.concatenate(true_w), np.concatenate(all_w)
    return {"true class: median": float(np.median(true_w)), "true class: mean": float(true_w.mean()),
            "true class: 99th percentile": float(np.percentile(true_w, 99)), "max": float(all_w.max())}  # fmt: skip


#: Table 1's terms, one at a time at weight 1: (method, parameters).
TABLE1_TERMS = (
    ("semeda", {"lambdas": (1, 0, 0)}), ("semeda", {"lambdas": (0, 1, 0)}), ("semeda", {"lambdas": (0, 0, 1)}),
    ("semeda", {"lambdas": (1, 0, 0), "relu": True}), ("semeda", {"lambdas": (0, 1, 0), "relu": True}),
    ("ubernet", {"lambdas": (1,)}), ("ppce_edges", {"lambdas": (1,)}),
)  # fmt: skip


def term_ratios(terms, batches, edge_net, *, model_seed: int = 0, width: int = 32) -> list[tuple[str, dict, float]]:
    """Per (method, parameters) of ``terms``: mean |g_term| / mean |g_ppce| over ``batches`` at
    initialisation (the model of ``model_seed``, train mode, as the first step sees it)."""
    info = dataset_info("streets")
    out = []
    for name, params in terms:
        cls = methods.method_class(name)
        method = methods.build_method(name, **params)
        if cls.needs_edge_net:
            method.attach_edge_net(edge_net)
        torch.manual_seed(model_seed)
        model = build_model("deeplabv2_small", info.num_classes, edge_head=cls.needs_edge_head, width=width)
        model.train()
        g_ppce, g_term = [], []
        for images, target in batches:
            out_ = model(normalize(images))
            edges = methods.semantic_edges(target, info.ignore_index) if cls.needs_edge_head or cls.needs_edge_net else None
            terms_ = method(out_["logits"], target, edges=edges, edge_logits=out_.get("edge_logits"))
            g_ppce.append(float(gradient(model, terms_["ppce"]).norm()))
            g_term.append(float(gradient(model, terms_["total"] - terms_["ppce"]).norm()))
        out.append((name, params, float(np.mean(g_term) / np.mean(g_ppce))))
    return out


def measure(names, batches, *, model_seed: int = 0, warm: int = 0, width: int = 32) -> list[dict]:
    """Per method, the means over ``batches`` of its terms' values and gradient norms (see the
    module docstring), and ``m_star``, the multiplier at which its term's gradient equals PPCE's."""
    info = dataset_info("streets")
    edge_net = edge_net_for(batches, info.num_classes) if any(methods.method_class(n).needs_edge_net for n in names) else None
    rows = []
    for name in names:
        cls = methods.method_class(name)
        method = methods.build_method(name)
        if cls.needs_edge_net:
            method.attach_edge_net(edge_net)
        torch.manual_seed(model_seed)
        model = build_model("deeplabv2_small", info.num_classes, edge_head=cls.needs_edge_head, width=width)
        model.train()
        if warm:
            warm_up(model, streets_batches(min(warm, 50), first=1000), warm)
        per_batch = []
        for images, target in batches:
            out = model(normalize(images))
            edges = methods.semantic_edges(target, info.ignore_index) if cls.needs_edge_head or cls.needs_edge_net else None
            terms = method(out["logits"], target, edges=edges, edge_logits=out.get("edge_logits"))
            g_ppce = gradient(model, terms["ppce"])
            g_term = gradient(model, terms["total"] - terms["ppce"])
            row = {"ppce": float(terms["ppce"].detach()), "term": float((terms["total"] - terms["ppce"]).detach()),
                   "g_ppce": float(g_ppce.norm()), "g_term": float(g_term.norm())}  # fmt: skip
            for m in MULTIPLIERS:
                row[f"total at {m:g}"] = float((g_ppce + m * g_term).norm())
            if name == "hausdorff_dt":
                row.update(distance_weights(target, out["logits"].detach(), info.num_classes))
            per_batch.append(row)
        mean = {k: float(np.mean([r[k] for r in per_batch])) for k in per_batch[0]}
        mean["method"] = name
        mean["m_star"] = mean["g_ppce"] / mean["g_term"] if mean["g_term"] > 0 else math.inf
        rows.append(mean)
    return rows


def warm_up(model, batches, steps: int) -> None:
    """``steps`` SGD steps of PPCE alone over ``batches`` (the small scale's learning rates, clipped at 30)."""
    s = scale_settings("small")
    backbone, head = model.param_groups()
    opt = torch.optim.SGD([{"params": backbone, "lr": s.lr}, {"params": head, "lr": s.lr * s.head_lr_mult}],
                          momentum=s.momentum, weight_decay=s.weight_decay)  # fmt: skip
    ppce = methods.build_method("ppce")
    for step in range(steps):
        images, target = batches[step % len(batches)]
        loss = ppce(model(normalize(images))["logits"], target)["total"]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
        opt.step()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("methods", nargs="*", help="methods (default: every tuned one)")
    p.add_argument("--batches", type=int, default=3, help="batches of 4 images (default 3)")
    p.add_argument("--warm", type=int, default=0, help="measure after this many PPCE steps (on up to 50 other batches) instead")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--terms", action="store_true", help="Table 1's terms and every tuned method's, as term_scales.py stores them")
    p.add_argument("--edge-net", help="the edge net file to use (default: one fitted here in 200 steps)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = args.methods or [n for n in methods.list_methods() if methods.method_class(n).num_lambdas > 0]
    started = time.time()
    if args.terms:
        batches = streets_batches(args.batches)
        edge_net = methods.load_edge_net(args.edge_net) if args.edge_net else edge_net_for(batches, dataset_info("streets").num_classes)
        tuned = [(n, {}) for n in names if (n, {}) not in TABLE1_TERMS]
        for name, params, ratio in term_ratios(list(TABLE1_TERMS) + tuned, batches, edge_net):
            print(f"    ({name!r}, {params!r}, {ratio:.3g}),")
        print(f"({time.time() - started:.0f} s; edge net F1 {edge_net.info.f1:.3f}, peak {edge_net.info.peak})")
        return
    rows = measure(names, streets_batches(args.batches), warm=args.warm)
    header = f"{'method':14s} {'PPCE':>6s} {'term':>9s} {'|g_ppce|':>9s} {'|g_term|':>9s} {'m*':>9s}  " + " ".join(
        f"{'1/' + str(round(1 / m)) if m < 1 else f'{m:g}':>8s}" for m in MULTIPLIERS)
    print(f"at {'initialisation' if not args.warm else f'{args.warm} PPCE steps'}, streets 64x128, "
          f"{args.batches} batches of 4, deeplabv2_small width 32; last columns: |g_ppce + m g_term| at m =")
    print(header)
    for r in rows:
        print(f"{r['method']:14s} {r['ppce']:6.2f} {r['term']:9.3g} {r['g_ppce']:9.3g} {r['g_term']:9.3g} {r['m_star']:9.3g}  "
              + " ".join(f"{r[f'total at {m:g}']:8.3g}" for m in MULTIPLIERS))
        if r["method"] == "hausdorff_dt":
            print("    d_G^2 + d_P^2: " + ", ".join(f"{k} {r[k]:.4g}" for k in
                  ("true class: median", "true class: mean", "true class: 99th percentile", "max")))  # fmt: skip
    print(f"({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
