"""How a run's settings read as text: the settings in which a spec differs from its scale's
defaults, as ``k=v`` tokens (``grad_clip=None lr=0.0005``). The console tells runs of one
method apart by it, and the report keys its contexts and rows on it, so both read it here."""

from __future__ import annotations

from dataclasses import MISSING, asdict, fields

from benchmark.spec import Settings, scale_settings

__all__ = ["same_value", "settings_text", "overrides_text"]


def same_value(a, b) -> bool:
    """Equality of setting values with lists and tuples alike (a JSON round trip makes lists)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


def settings_text(settings: dict) -> str:
    """``{"grad_clip": None, "lr": 5e-4}`` -> ``"grad_clip=None lr=0.0005"`` (keys sorted)."""
    diffs = []
    for key in sorted(settings):
        value = settings[key]
        if isinstance(value, (list, tuple)):
            value = ",".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value)
        diffs.append(f"{key}={value}")
    return " ".join(diffs)


def overrides_text(spec: dict) -> str:
    """Settings of ``spec`` (a ``RunSpec.to_dict()`` or a record's ``spec``) that differ from
    its scale's defaults, as ``k=v`` text ("" if none)."""
    settings = spec.get("settings") or {}
    try:
        default = asdict(scale_settings(spec["scale"], spec.get("dataset")))
    except (KeyError, ValueError, TypeError):
        default = {}
    # A record stores every setting of its version; one of an earlier version lacks those added
    # since, and ran with what they name as their field default (no clipping, say), which may
    # differ from the scale's. (A record with no settings at all is taken at the defaults.)
    if settings:
        settings = {**_field_defaults(), **settings}
    return settings_text({key: value for key, value in settings.items() if not (key in default and same_value(value, default[key]))})


def _field_defaults() -> dict:
    return {f.name: f.default for f in fields(Settings) if f.default is not MISSING}
