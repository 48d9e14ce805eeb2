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
#: The distance of Eq. (6): "l1", the L1 norm of the difference over channels as written, or
#: "l2", its squared L2 norm (the sum of squares over channels, as in the feature-reconstruction
#: loss of Johnson et al.): section 4.3 says the embeddings are matched "in terms of L1 or L2 loss".
NORMS = ("l1", "l2")
#: What psi^3 is: "logits", the last layer's output before its softmax, or "softmax", the
#: edge map the net outputs (the paper: the last layer "has SoftMax activation").
THIRD_LAYERS = ("logits", "softmax")


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


def difference_norm(difference: torch.Tensor, valid: torch.Tensor, channels: str = "sum", norm: str = "l1") -> torch.Tensor:
    """Per-pixel norm over channels of psi_pred - psi_target (``NORMS``: L1, or squared L2),
    averaged over ``valid`` pixels; ``channels="mean"`` divides it by the channel count c.

    Shape:
        difference: [N, c, H, W]; valid: [N, H, W] bool. Returns a scalar.
    """
    if norm == "l1":
        return difference_l1(difference, valid, channels)
    squared = difference.square().sum(1)
    if channels == "mean":
        squared = squared / difference.shape[1]
    return masked_mean(squared, valid)


@register_method
class SEMEDA(StructureLoss):
    """PPCE + the edge-aware embedding loss. Terms: ``ppce``, ``semeda_l`` per weighted layer, ``total``.

    ``lambdas`` = (lambda_1, lambda_2, lambda_3), one per edge-net layer; layers whose
    lambda is zero, and layers past the deepest non-zero one, are not computed.
    ``relu=False`` matches psi^1, psi^2 before their ReLU (the paper's best variant),
    ``relu=True`` after it. ``channels`` reads |.| of Eq. (6) as the channels' L1 norm
    (``"sum"``, as written, the default) or as its mean over the layer's channels
    (``"mean"``); see ``CHANNEL_READINGS``. ``norm`` is the distance (``NORMS``: "l1", the
    default, or the squared "l2"), ``third`` what psi^3 is (``THIRD_LAYERS``: the last layer's
    "logits", the default, or its "softmax" output). Both enter the parameters, and so the run
    id, only away from their defaults, so the runs made before them keep their ids.
    """

    name = "semeda"
    minima = {"ppce": 0.0, "semeda_1": 0.0, "semeda_2": 0.0, "semeda_3": 0.0}
    needs_edge_net = True
    num_lambdas = 3
    default_lambdas = (0.0, 1.0, 0.0)
    params_stated_away_from_default = {"norm": NORMS[0], "third": THIRD_LAYERS[0]}

    def __init__(self, *, lambdas=None, relu: bool = False, channels: str = "sum", norm: str = "l1", third: str = "logits",
                 ignore_index: int = 255):  # fmt: skip
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        if not isinstance(relu, bool):
            raise ValueError(f"method 'semeda': relu must be True or False, got {relu!r}")
        for name, value, valid in (("channels", channels, CHANNEL_READINGS), ("norm", norm, NORMS), ("third", third, THIRD_LAYERS)):
            if value not in valid:
                raise ValueError(f"method 'semeda': {name} must be one of {', '.join(valid)}, got {value!r}")
        self.relu = relu
        self.channels = channels
        self.norm = norm
        self.third = third

    @property
    def params(self) -> dict:
        params = {"lambdas": list(self.lambdas), "relu": self.relu, "channels": self.channels}
        for name, default in self.params_stated_away_from_default.items():
            if getattr(self, name) != default:
                params[name] = getattr(self, name)
        return params

    @classmethod
    def describe(cls, params: dict) -> str:
        """``semeda(0,1,0) before ReLU``, ``semeda(1,0,0) after ReLU channels=mean``."""
        params = dict(params)
        relu = bool(params.pop("relu", False))
        channels = params.pop("channels", "sum")
        norm, third = params.pop("norm", NORMS[0]), params.pop("third", THIRD_LAYERS[0])
        text = super().describe(params) + (" after ReLU" if relu else " before ReLU")
        text += f" channels={channels}" if channels != "sum" else ""
        text += f" norm={norm}" if norm != NORMS[0] else ""
        return text + (f" third={third}" if third != THIRD_LAYERS[0] else "")

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
            if self.third == "softmax" and 2 in layers:
                differences = self._with_softmax_third(edge_net, probs, s_target, layers)
            else:
                differences = edge_net.embedding_differences(probs, s_target, layers[-1] + 1, self.relu, layers)
            for l in layers:
                term = difference_norm(differences[l], valid, self.channels, self.norm)
                terms[f"semeda_{l + 1}"] = term
                total = total + self.lambdas[l] * term
        terms["total"] = total
        return terms

    def _with_softmax_third(self, edge_net, probs: torch.Tensor, s_target: torch.Tensor, layers: list[int]) -> list:
        """The differences of ``layers`` with psi^3 the net's softmax output (not affine in its
        input: both passes are made whole, the target's without a graph)."""
        shallow = [l for l in layers if l < 2]
        differences = edge_net.embedding_differences(probs, s_target, shallow[-1] + 1, self.relu, shallow) if shallow else []
        differences = list(differences) + [None] * (3 - len(differences))
        with torch.no_grad():
            target_map = edge_net(s_target).softmax(1)
        differences[2] = edge_net(probs).softmax(1) - target_map
        return differences
