"""argparse ``type=`` helpers for numbers with ranges (each refusal one line naming the value)."""

from __future__ import annotations

import argparse
import math

def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text}")
    return value


def seed_int(text: str) -> int:
    """argparse type: a random seed, an integer in [0, 2⁶³)."""
    value = _number(text, int)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a seed in [0, 2^63), got {text}")
    return value


def float_in(low: float | None = None, high: float | None = None, low_open: bool = True, high_open: bool = False):
    """argparse type: a finite float in the range ``low``–``high`` (``None`` = unbounded; open ends by default
    at ``low``, closed at ``high``)."""
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    span = f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"

    def parse(text: str) -> float:
        value = _number(text, float)
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected a number in {span}, got {text}")
        return value

    parse.__name__ = f"float in {span}"
    return parse


positive_float = float_in(0.0)
positive_float.__doc__ = "argparse type: a finite float > 0."
non_negative_float = float_in(0.0, low_open=False)
non_negative_float.__doc__ = "argparse type: a finite float ≥ 0."
