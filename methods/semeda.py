"""SEMEDA: match the frozen edge net's embeddings of prediction and target (Eq. (6)-(7)).

    L_tot = PPCE + sum_l lambda_l * mean_{non-void (i,j)} || psi^l_ij(S_hat) - psi^l_ij(S*) ||_1

where ||.||_1 sums over the layer's channels at pixel (i, j). S_hat is the softmax output,
S* the one-hot target, which takes the detached prediction's values at void pixels (they
feed their neighbours' receptive fields but have no target; their own differences are
zero and are masked out anyway).
"""

from __future__ import annotations

import torch

from methods._functional import masked_mean, one_hot_target, pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


#: Readings of |.| in Eq. (6), which the paper does not pin down: the L1 norm of the
#: c-dimensional difference as written ("sum"), or that norm divided by c ("mean"), the
#: normalisation of the feature-reconstruction loss of Johnson et al. that the paper names
#: as its model. With "mean" a lambda weighs a layer independently of its width.
CHANNEL_READINGS = ("sum", "mean")


def difference_l1(difference: torch.Tensor, valid: torch.Tensor, channels: str = "sum") -> torch.Tensor:
    """Per-pixel L1 norm over channels of psi_pred - psi_target, averaged over ``valid`` pixels.

    ``channels="mean"`` divides the per-pixel norm by the layer's channel count c.

    Shape:
        difference: [N, c, H, W]; valid: [N, H, W] bool. Returns a scalar.
    """
    norm = difference.abs().sum(1)
    if channels == "mean":
        norm = norm / difference.shape[1]
    return masked_mean(norm, valid)


@register_method
class SEMEDA(StructureLoss):
    """PPCE + the edge-aware embedding loss. Terms: ``ppce``, ``semeda_l`` per weighted layer, ``total``.

    ``lambdas`` = (lambda_1, lambda_2, lambda_3), one per edge-net layer; layers whose
    lambda is zero, and layers past the deepest non-zero one, are not computed.
    ``relu=False`` matches psi^1, psi^2 before their ReLU (the paper's best variant),
    ``relu=True`` after it. ``channels`` reads |.| of Eq. (6) as the channels' L1 norm
    (``"sum"``, as written, the default) or as its mean over the layer's channels
    (``"mean"``); see ``CHANNEL_READINGS``.
    """

    name = "semeda"
    minima = {"ppce": 0.0, "semeda_1": 0.0, "semeda_2": 0.0, "semeda_3": 0.0}
    needs_edge_net = True
    num_lambdas = 3
    default_lambdas = (0.0, 1.0, 0.0)

    def __init__(self, *, lambdas=None, relu: bool = False, channels: str = "sum", ignore_index: int = 255):
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        if not isinstance(relu, bool):
            raise ValueError(f"method 'semeda': relu must be True or False, got {relu!r}")
        if channels not in CHANNEL_READINGS:
            raise ValueError(f"method 'semeda': channels must be one of {', '.join(CHANNEL_READINGS)}, got {channels!r}")
        self.relu = relu
        self.channels = channels

    @property
    def params(self) -> dict:
        return {"lambdas": list(self.lambdas), "relu": self.relu, "channels": self.channels}

    @classmethod
    def describe(cls, params: dict) -> str:
        """``semeda(0,1,0) before ReLU``, ``semeda(1,0,0) after ReLU channels=mean``."""
        params = dict(params)
        relu = bool(params.pop("relu", False))
        channels = params.pop("channels", "sum")
        text = super().describe(params) + (" after ReLU" if relu else " before ReLU")
        return text + (f" channels={channels}" if channels != "sum" else "")

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        terms = {"ppce": ppce}
        total = ppce
        layers = [l for l, lam in enumerate(self.lambdas) if lam > 0]
        if layers:
            edge_net = self._frozen_edge_net(logits.shape[1])
            # channels-last once here, for the edge net's convolutions (see edge_net._channels_last)
            probs = logits.softmax(1).contiguous(memory_format=torch.channels_last)
            valid = target != self.ignore_index
            # S* is constant (its void pixels take the *detached* prediction): its pass runs
            # without a graph, and only psi(S_hat) - psi(S*) is formed, see embedding_differences.
            s_target = one_hot_target(target, probs, self.ignore_index)
            differences = edge_net.embedding_differences(probs, s_target, layers[-1] + 1, self.relu, layers)
            for l in layers:
                term = difference_l1(differences[l], valid, self.channels)
                terms[f"semeda_{l + 1}"] = term
                total = total + self.lambdas[l] * term
        terms["total"] = total
        return terms
