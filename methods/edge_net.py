"""The semantic edge net g_phi (paper section 3.2) and how it is fitted.

g_phi maps a soft segmentation mask S in [0, 1]^{C x H x W} to an edge map: three 3x3
convolutions C -> 16 -> 32 -> 2, ReLU after the first two, softmax at the end. Its
embeddings psi^1, psi^2 (the first two layers' outputs, before or after their ReLU) and
psi^3 (the last layer's logits, which have no ReLU) are what SEMEDA matches.

It is fitted once per dataset on ground-truth masks made to look like a network's softmax
output, softmax(alpha * onehot + sigma * noise), then frozen.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methods._functional import edge_targets, pixel_cross_entropy
from methods.edges import semantic_edges
from methods.progress import progress_bar

__all__ = [
    "EdgeNet",
    "EdgeNetInfo",
    "FitStopped",
    "alpha_for_peak",
    "noisy_softmax",
    "edge_f1",
    "fit_edge_net",
    "save_edge_net",
    "load_edge_net",
    "DEFAULT_PEAK",
    "DEFAULT_SIGMA",
    "LITERAL",
    "LITERAL_SIGMAS",
    "MIN_F1",
    "fit_literal_edge_net",
    "edge_net_inputs",
    "balanced_edge_cross_entropy",
    "EDGE_PATCH_SHARE",
    "EDGE_NET_BORDERS",
    "RECEPTIVE_RADIUS",
    "inner_pixels",
]

#: Peak softmax probability that the fitting input mimics, and the noise on its logits.
#: The paper gives no values. A converged PPCE model is confident away from boundaries
#: and unsure on them; a mean peak of about 0.9 with logit noise of std 1 covers both.
DEFAULT_PEAK = 0.9
DEFAULT_SIGMA = 1.0
#: An edge net below this held-out F1 is refused: SEMEDA would match a poor edge detector.
MIN_F1 = 0.95
#: The paper's literal fitting input, "we add Gaussian noise to S* and then apply a softmax":
#: softmax(onehot + sigma * noise), the one-hot unscaled (alpha = 1). Its sigma is not given;
#: the rule, written before any run, takes the largest sigma of ``LITERAL_SIGMAS`` at which
#: the fitted net passes ``MIN_F1`` (``fit_literal_edge_net``).
LITERAL = "literal"
LITERAL_SIGMAS = (2.0, 1.0, 0.5, 0.25, 0.125, 0.0625)
#: How the edge net's 3x3 convolutions read the pixels past the image border, the first the
#: default: "zeros" (zero padding, as the paper's framework does by default), "reflect" (the
#: pixels mirrored about the border, so the border looks like more of the image: nothing is
#: an edge for being at the border, as in ``semantic_edges``, whose "8 identical neighbours"
#: count only neighbours inside the image), or "uncounted" (zero padding, but the fit does
#: not count the loss of the pixels within ``RECEPTIVE_RADIUS`` of its inputs' border).
EDGE_NET_BORDERS = ("zeros", "reflect", "uncounted")
#: Pixels from a pixel to the edge of the net's 7x7 window (three 3x3 convolutions): a
#: pixel this close to the border sees padding.
RECEPTIVE_RADIUS = 3
#: Share of the fitting patches of ``edge_net_inputs`` centred on an edge pixel. Measured on
#: street scenes at 1024x512 (1.2% edge pixels, 6 fitting masks, F1 on 2 whole held-out
#: ones, 512 patches, 300 steps, plain loss): F1 0.897 with none centred, 0.938 with a
#: quarter, 0.987 with half, 0.974 with three quarters; half with the balanced loss: 0.995
#: (0.9997 in 3000 steps).
EDGE_PATCH_SHARE = 0.5


@dataclass(frozen=True)
class EdgeNetInfo:
    """What an edge net was fitted for and how well it does (stored with its weights)."""

    num_classes: int
    alpha: float
    sigma: float
    f1: float = float("nan")
    #: The fitting input's peak: a fixed value, or the (low, high) range peaks were drawn from
    #: (then ``alpha`` is NaN: each mask had its own), or ``LITERAL`` (alpha 1).
    peak: float | tuple[float, float] | str = DEFAULT_PEAK
    #: How the net's convolutions read past the image border (``EDGE_NET_BORDERS``).
    border: str = "zeros"


class EdgeNet(nn.Module):
    """g_phi: three 3x3 convs C -> 16 -> 32 -> 2 with ReLU after the first two.

    Shape:
        input: [N, C, H, W] soft masks (a softmax over C classes per pixel).
        ``forward`` returns the edge logits [N, 2, H, W] (channel 1 = edge); the paper's
        softmax output is ``forward(s).softmax(1)``, and the cross-entropy of Eq. (4)/(5)
        takes the logits directly.
    """

    def __init__(self, num_classes: int, channels: tuple[int, int] = (16, 32), border: str = "zeros"):
        super().__init__()
        if border not in EDGE_NET_BORDERS:
            raise ValueError(f"edge-net border must be one of {', '.join(EDGE_NET_BORDERS)}, got {border!r}")
        self.num_classes = num_classes
        mode = "reflect" if border == "reflect" else "zeros"
        self.conv1 = nn.Conv2d(num_classes, channels[0], 3, padding=1, padding_mode=mode)
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=1, padding_mode=mode)
        self.conv3 = nn.Conv2d(channels[1], 2, 3, padding=1, padding_mode=mode)
        self.info = EdgeNetInfo(num_classes, alpha=float("nan"), sigma=float("nan"), border=border)

    def embeddings(self, s: torch.Tensor, depth: int = 3, relu: bool = False) -> list[torch.Tensor]:
        """[psi^1, ..., psi^depth] of ``s``; layers past ``depth`` are not computed.

        Shape:
            s: [N, C, H, W]. Returns tensors [N, 16, H, W], [N, 32, H, W], [N, 2, H, W]
            (in channels-last memory layout).

        ``relu=False`` gives psi^1, psi^2 before their ReLU ("before ReLU" in Table 1),
        ``relu=True`` after it; psi^3 is the last layer's logits in both cases.
        """
        _check_depth(depth)
        out = []
        x = _channels_last(s)
        for layer in (self.conv1, self.conv2, self.conv3)[:depth]:
            z = layer(x)
            if layer is self.conv3:
                out.append(z)
                break
            # In place when z itself is not returned (a conv's backward does not need its output).
            x = F.relu(z, inplace=relu)
            out.append(x if relu else z)
        return out

    def embedding_differences(
        self,
        s_pred: torch.Tensor,
        s_target: torch.Tensor,
        depth: int = 3,
        relu: bool = False,
        layers: tuple[int, ...] | list[int] | None = None,
    ) -> list[torch.Tensor | None]:
        """[psi^1(s_pred) - psi^1(s_target), ..., psi^depth(s_pred) - psi^depth(s_target)].

        Shape:
            s_pred, s_target: [N, C, H, W]. Returns ``depth`` tensors [N, c_l, H, W]
            (channels-last layout); None for a layer not in ``layers`` (0-based indices;
            all when None).

        Gradients reach ``s_pred`` only: the target is a constant and its pass stores no
        activations. The same values as differencing two ``embeddings`` calls, up to
        float rounding, for less work: a pre-activation embedding is affine in its
        layer's input, so at the deepest layer conv(a) - conv(b) = conv_without_bias(a - b),
        one convolution instead of two.
        """
        _check_depth(depth)
        wanted = set(range(depth)) if layers is None else set(layers)
        convs = (self.conv1, self.conv2, self.conv3)[:depth]
        x_pred, x_target = _channels_last(s_pred), _channels_last(s_target.detach())
        out: list[torch.Tensor | None] = [None] * depth
        for l, conv in enumerate(convs):
            deepest = l == depth - 1
            if deepest and (conv is self.conv3 or not relu):
                out[l] = _conv_without_bias(conv, x_pred - x_target)
                break
            z_pred = conv(x_pred)
            with torch.no_grad():
                z_target = conv(x_target)
            if relu:
                # a conv's backward does not need its output: both ReLUs may act in place
                x_pred, x_target = F.relu(z_pred, inplace=True), z_target.relu_()
                if l in wanted:
                    out[l] = x_pred - x_target
            else:  # not the deepest layer (that one is affine, above)
                if l in wanted:
                    out[l] = z_pred - z_target  # a subtraction's backward saves neither operand
                x_pred, x_target = F.relu(z_pred, inplace=True), z_target.relu_()
        return out

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.embeddings(s, depth=3)[-1]


def _conv_without_bias(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` without its bias. Reflect padding copies pixels, a linear map, so that
    conv(a) - conv(b) = conv_without_bias(a - b) holds for it as for zero padding."""
    if conv.padding_mode == "zeros":
        return F.conv2d(x, conv.weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)
    ph, pw = conv.padding
    return F.conv2d(F.pad(x, (pw, pw, ph, ph), mode=conv.padding_mode), conv.weight, None, conv.stride, 0, conv.dilation, conv.groups)


def _check_depth(depth: int) -> None:
    if not 1 <= depth <= 3:
        raise ValueError(f"depth must be 1, 2 or 3, got {depth}")


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels-last layout: oneDNN's CPU convolutions with this few channels run
    several times faster on it than on NCHW (5.8 against 15 ms for conv1 at 2x321x321)."""
    return x.contiguous(memory_format=torch.channels_last)


def alpha_for_peak(peak: float, num_classes: int) -> float:
    """The alpha for which softmax(alpha * onehot) puts probability ``peak`` on the true class.

    softmax gives e^a / (e^a + C - 1) = peak, so a = log(peak * (C - 1) / (1 - peak)).
    Defining alpha by its peak keeps the input alike across datasets with different C.
    """
    if not 0 < peak < 1:
        raise ValueError(f"peak must be in (0, 1), got {peak}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    return math.log(peak * (num_classes - 1) / (1 - peak))


def noisy_softmax(
    masks: torch.Tensor,
    num_classes: int,
    alpha: float | torch.Tensor,
    sigma: float,
    *,
    ignore_index: int = 255,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """softmax(alpha * onehot(masks) + sigma * noise), uniform 1/C at void pixels.

    Shape:
        masks: [N, H, W] integer; alpha: a number, or a float tensor [N] (one per mask).
        Returns float32 [N, C, H, W].
    """
    valid = masks != ignore_index
    onehot = F.one_hot(masks.masked_fill(~valid, 0), num_classes).permute(0, 3, 1, 2).float()
    noise = torch.randn(onehot.shape, generator=generator, device="cpu").to(masks.device)
    if isinstance(alpha, torch.Tensor):
        alpha = alpha.to(masks.device, torch.float32).view(-1, 1, 1, 1)
    probs = (alpha * onehot + sigma * noise).softmax(1)
    return torch.where(valid.unsqueeze(1), probs, probs.new_full((), 1.0 / num_classes))


def edge_f1(edge_logits: torch.Tensor, edges: torch.Tensor, valid: torch.Tensor) -> tuple[int, int, int]:
    """Counts (tp, fp, fn) of predicted edges (argmax == 1) over the ``valid`` pixels.

    Shape:
        edge_logits: [N, 2, H, W]; edges, valid: [N, H, W] bool.
    """
    pred = edge_logits.argmax(1).bool() & valid
    truth = edges & valid
    tp = int((pred & truth).sum())
    return tp, int((pred & ~truth).sum()), int((~pred & truth).sum())


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def check_peak(peak) -> float | tuple[float, float] | str:
    """A fitting-input peak: a number in (0, 1), a range (low, high) with 0 < low <= high < 1,
    or ``LITERAL``."""
    if peak == LITERAL:
        return LITERAL
    if isinstance(peak, (list, tuple)):
        if len(peak) != 2 or not all(isinstance(p, (int, float)) for p in peak) or not 0 < peak[0] <= peak[1] < 1:
            raise ValueError(f"edge-net peak range must be (low, high) with 0 < low <= high < 1, got {peak!r}")
        return (float(peak[0]), float(peak[1]))
    if not isinstance(peak, (int, float)) or not 0 < peak < 1:
        raise ValueError(f"edge-net peak must be a number in (0, 1), a (low, high) range or {LITERAL!r}, got {peak!r}")
    return float(peak)


def draw_alphas(n: int, peak, num_classes: int, generator: torch.Generator) -> torch.Tensor | float:
    """The alpha of each of ``n`` masks: fixed for a fixed peak, else from a peak drawn
    uniformly in the range per mask (a float tensor [n])."""
    peak = check_peak(peak)
    if not isinstance(peak, tuple):
        return alpha_for_peak(peak, num_classes)
    low, high = peak
    peaks = low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.log(peaks * (num_classes - 1) / (1 - peaks)).float()


def balanced_edge_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Class-balanced cross-entropy of the edge class (HED's weighting), per non-void pixel.

    Shape:
        logits: [N, 2, H, W]; labels: [N, H, W] int64 in {0, 1} or ``ignore_index``.
        Returns a scalar.

    With beta the share of non-edge pixels among the non-void pixels of the batch, an edge
    pixel's loss is weighted by beta and a non-edge pixel's by 1 - beta, and the weighted
    sum is divided by the number of non-void pixels. Both classes then carry the same total
    weight. Where edges are about 1% of the pixels, the plain mean is almost all non-edge
    terms: "no edge anywhere" is already right on 99% of them, and a fit of a few hundred
    steps leaves that answer slowly or not at all. A batch without edge (or without
    non-edge) pixels gives 0: its only class has weight 0.
    """
    valid = labels != ignore_index
    n_valid = valid.sum().clamp_min(1)
    beta = 1 - (labels == 1).sum() / n_valid
    weight = torch.stack([1 - beta, beta]).to(logits.dtype)
    return F.cross_entropy(logits, labels, weight=weight, ignore_index=ignore_index, reduction="sum") / n_valid


def edge_net_inputs(
    masks: Sequence[torch.Tensor],
    *,
    patches: int = 512,
    size: int = 64,
    edge_share: float = EDGE_PATCH_SHARE,
    held_out: float = 0.2,
    max_held_out: int = 32,
    ignore_index: int = 255,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Fitting patches and whole held-out masks for ``fit_edge_net`` where edges are sparse.

    Shape:
        masks: a sequence of M >= 2 integer label maps [H_i, W_i] (sizes may differ; uint8
        is enough and saves memory). Returns (patches int64 [patches, size, size],
        held-out masks: a list of int64 [H_i, W_i]).

    The last ``held_out`` fraction of the masks (at least 1, at most ``max_held_out``) is
    held out whole: the edge net's F1 is computed on every pixel of them, the same
    distribution a segmentation network's output has. ``patches`` patches are drawn from
    the other masks, spread evenly over them (several per mask when there are few masks);
    each is centred on an edge pixel of its mask (drawn uniformly) with probability
    ``edge_share``, else placed uniformly, and moved inside the mask where the centre is
    near its border. A mask smaller than ``size`` is padded with ``ignore_index``.

    Why: the net sees a 7x7 window, so patches carry all it learns from. One uniform
    patch per mask, where edge pixels are about 1% of the pixels (Cityscapes at 1024x512),
    gives a few hundred edge pixels from a handful of masks; centring half the patches
    on edges raises their share about twofold and makes every fitting mask count.
    """
    m = len(masks)
    if m < 2:
        raise ValueError(f"need at least 2 masks (one held out), got {m}")
    if patches < 1 or size < 1 or not 0 <= edge_share <= 1:
        raise ValueError(f"need patches >= 1, size >= 1 and edge_share in [0, 1], got {patches}, {size}, {edge_share}")
    generator = torch.Generator().manual_seed(0) if generator is None else generator
    n_val = min(max_held_out, max(1, int(round(held_out * m))))
    n_fit = m - n_val
    if n_fit < 1:
        raise ValueError(f"no mask left to fit on: {m} masks, {n_val} held out")
    # mask j gets the patches k with k * n_fit // patches == j: counts differ by at most 1
    counts = torch.bincount(torch.arange(patches) * n_fit // patches, minlength=n_fit).tolist()
    out = []
    for j, count in enumerate(counts):
        if not count:
            continue
        mask = _pad_to(masks[j], size, ignore_index)
        h, w = mask.shape
        ys, xs = semantic_edges(mask[None], ignore_index)[0].nonzero(as_tuple=True)
        for _ in range(count):
            centred = float(torch.rand((), generator=generator)) < edge_share and len(ys) > 0
            if centred:
                e = int(torch.randint(len(ys), (), generator=generator))
                y = min(max(int(ys[e]) - size // 2, 0), h - size)
                x = min(max(int(xs[e]) - size // 2, 0), w - size)
            else:
                y = int(torch.randint(h - size + 1, (), generator=generator))
                x = int(torch.randint(w - size + 1, (), generator=generator))
            out.append(mask[y : y + size, x : x + size].long())
    return torch.stack(out), [masks[j].long() for j in range(n_fit, m)]


def _pad_to(mask: torch.Tensor, size: int, fill: int) -> torch.Tensor:
    """``mask`` [H, W] padded at the bottom and right with ``fill`` to at least ``size`` x ``size``."""
    h, w = mask.shape
    if h >= size and w >= size:
        return mask
    return F.pad(mask, (0, max(0, size - w), 0, max(0, size - h)), value=fill)


class FitStopped(RuntimeError):
    """A fit ended early because its ``stop`` said so (a sweep that ended while it fitted)."""


def fit_edge_net(
    masks: torch.Tensor,
    num_classes: int,
    *,
    peak: float | tuple[float, float] = DEFAULT_PEAK,
    alpha: float | None = None,
    sigma: float = DEFAULT_SIGMA,
    steps: int = 400,
    batch_size: int = 16,
    lr: float = 1e-2,
    held_out: float = 0.2,
    ignore_index: int = 255,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = False,
    balance: bool = False,
    val_masks: Sequence[torch.Tensor] | None = None,
    border: str = "zeros",
    stop: Callable[[], bool] | None = None,
) -> EdgeNet:
    """Fit g_phi on ground-truth masks against their semantic edges (Eq. 4), then freeze it.

    Shape:
        masks: [M, H, W] int64 ground-truth label maps (already at training size);
        val_masks: None, or a sequence of int64 [H_i, W_i] held-out masks.

    Without ``val_masks``, the last ``held_out`` fraction of the masks is kept out of
    fitting; with them (``edge_net_inputs`` makes both), every mask is fitted on and the
    held-out masks are scored whole, one at a time. The F1 of the edge class on the
    held-out masks (fresh noise, argmax, the same input distribution, every non-void
    pixel) is stored in ``net.info.f1``. ``balance`` weights the loss of the rare class up
    (``balanced_edge_cross_entropy``) instead of the plain mean over pixels. ``border``: how
    the net reads past the image border (``EDGE_NET_BORDERS``); "uncounted" leaves the loss
    of the pixels within ``RECEPTIVE_RADIUS`` of each fitting input's border out of the fit
    (the held-out F1 counts them, as it counts every pixel).

    ``alpha`` defaults to ``alpha_for_peak(peak, num_classes)``; a ``peak`` range
    ``(low, high)`` instead draws one peak per mask, uniformly, in fitting and in the
    held-out F1 alike (a segmentation network's softmax moves from near-uniform to
    confident during training). Adam is used rather than the paper's unspecified
    optimiser because the net is tiny and the task simple: it converges in a few hundred
    steps on CPU. ``progress`` reports the steps (``methods.progress_bar``: a bar on a
    terminal, ten lines elsewhere). ``stop``, asked before every step, ends the fit with
    ``FitStopped`` when it returns True (a fit in a thread of a sweep that ended meanwhile).
    """
    least = 2 if val_masks is None else 1
    if masks.dim() != 3 or masks.shape[0] < least:
        raise ValueError(f"masks must be [M, H, W] with M >= {least}, got shape {tuple(masks.shape)}")
    if val_masks is not None and not len(val_masks):
        raise ValueError("val_masks is empty: give at least one held-out mask, or None to hold out a share of masks")
    peak = check_peak(peak)
    ranged = isinstance(peak, tuple)
    if ranged and alpha is not None:
        raise ValueError("give either a peak range or an alpha, not both")
    if peak == LITERAL:
        alpha = 1.0
    elif not ranged:
        alpha = alpha_for_peak(peak, num_classes) if alpha is None else float(alpha)
    device = torch.device(device)
    if val_masks is None:
        n_val = max(1, int(round(held_out * masks.shape[0])))
        fit_masks, held = masks[:-n_val].to(device), masks[-n_val:].to(device)
        val_batches = [held[start : start + batch_size] for start in range(0, held.shape[0], batch_size)]
    else:  # whole masks, perhaps of several sizes: one at a time
        fit_masks = masks.to(device)
        val_batches = [m.to(device, torch.long)[None] for m in val_masks]
    fit_edges = semantic_edges(fit_masks, ignore_index)
    counted = inner_pixels(fit_masks.shape[-2:], device) if border == "uncounted" else None
    loss_of = balanced_edge_cross_entropy if balance else pixel_cross_entropy

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = EdgeNet(num_classes, border=border).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    iterator = progress_bar(range(steps), desc="fit edge net", leave=False) if progress else range(steps)
    for _ in iterator:
        if stop is not None and stop():
            raise FitStopped("the edge net's fit was stopped before its last step")
        idx = torch.randint(fit_masks.shape[0], (min(batch_size, fit_masks.shape[0]),), generator=generator).to(device)
        batch = fit_masks[idx]
        alphas = draw_alphas(len(idx), peak, num_classes, generator) if ranged else alpha
        inputs = noisy_softmax(batch, num_classes, alphas, sigma, ignore_index=ignore_index, generator=generator)
        labels = edge_targets(fit_edges[idx], batch, ignore_index)
        if counted is not None:
            labels = labels.masked_fill(~counted, ignore_index)
        loss = loss_of(net(inputs), labels, ignore_index)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()

    counts = [0, 0, 0]
    with torch.no_grad():
        for batch in val_batches:
            alphas = draw_alphas(len(batch), peak, num_classes, generator) if ranged else alpha
            inputs = noisy_softmax(batch, num_classes, alphas, sigma, ignore_index=ignore_index, generator=generator)
            for i, c in enumerate(edge_f1(net(inputs), semantic_edges(batch, ignore_index), batch != ignore_index)):
                counts[i] += c
    net.info = EdgeNetInfo(num_classes, alpha=float("nan") if ranged else alpha, sigma=sigma, f1=_f1(*counts), peak=peak,
                           border=border)  # fmt: skip
    return net.requires_grad_(False).eval()


def inner_pixels(shape: torch.Size | tuple[int, int], device: torch.device | str = "cpu") -> torch.Tensor:
    """bool [H, W]: the pixels farther than ``RECEPTIVE_RADIUS`` from the border, whose 7x7
    window lies inside the image."""
    h, w = shape
    inner = torch.zeros((h, w), dtype=torch.bool, device=device)
    r = RECEPTIVE_RADIUS
    inner[r : h - r, r : w - r] = True
    return inner


def fit_literal_edge_net(masks: torch.Tensor, num_classes: int, *, sigmas=LITERAL_SIGMAS, min_f1: float = MIN_F1, **fit) -> EdgeNet:
    """The edge net of the paper's literal fitting input (``LITERAL``), sigma by the rule:
    fitted at each sigma of ``sigmas`` from the largest down, the first whose held-out F1
    reaches ``min_f1`` is returned (the last one tried when none does: ``save_edge_net``
    refuses it). ``fit``: the other arguments of ``fit_edge_net``."""
    for sigma in sorted(sigmas, reverse=True):
        net = fit_edge_net(masks, num_classes, peak=LITERAL, sigma=sigma, **fit)
        if net.info.f1 >= min_f1:
            break
    return net


def save_edge_net(net: EdgeNet, path: str | os.PathLike, *, min_f1: float = MIN_F1) -> None:
    """Save a fitted edge net as a small ``.pt`` (weights plus ``EdgeNetInfo``), atomically.

    Refuses (``ValueError``) a net whose held-out F1 is below ``min_f1``.
    """
    if not net.info.f1 >= min_f1:
        raise ValueError(
            f"edge net F1 {net.info.f1:.3f} is below {min_f1}; fit it longer (steps) or on more masks before saving"
        )
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save({"state_dict": net.state_dict(), "info": asdict(net.info)}, tmp)
    os.replace(tmp, path)


def load_edge_net(path: str | os.PathLike, device: str | torch.device = "cpu") -> EdgeNet:
    """Load a frozen edge net saved by ``save_edge_net``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"edge net file not found: {path}; fit one with fit_edge_net and save_edge_net")
    blob = torch.load(path, map_location=device, weights_only=True)
    stored = dict(blob["info"])
    if isinstance(stored.get("peak"), list):
        stored["peak"] = tuple(stored["peak"])
    info = EdgeNetInfo(**stored)
    net = EdgeNet(info.num_classes, border=info.border).to(device)
    net.load_state_dict(blob["state_dict"])
    net.info = info
    return net.requires_grad_(False).eval()
