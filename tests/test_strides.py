"""Strides from contacts: a stride is a contact to the next contact of the same foot."""

from __future__ import annotations

import numpy as np
import pytest

from gait.strides import build_strides, stride_side
from stridecue.constants import LEFT, RIGHT, UNKNOWN, WALKING


@pytest.mark.parametrize(
    ("sides", "expected"),
    [
        ((LEFT, RIGHT, LEFT), LEFT),
        ((RIGHT, LEFT, RIGHT), RIGHT),
        ((UNKNOWN, UNKNOWN, UNKNOWN), UNKNOWN),
        ((UNKNOWN, RIGHT, LEFT), LEFT),  # only the end's foot known: it is the stride's
        ((LEFT, UNKNOWN, LEFT), LEFT),
        ((LEFT, LEFT, RIGHT), None),  # two contacts of one foot in a row
        ((LEFT, RIGHT, RIGHT), None),  # ends on the other foot
        ((LEFT, UNKNOWN, RIGHT), None),  # a step and a half
    ],
)
def test_stride_side(sides, expected) -> None:
    assert stride_side(*sides) == expected


def test_build_strides_skips_a_stride_that_ends_on_the_other_foot() -> None:
    ic_s = np.arange(8) * 0.55
    sides = np.array([LEFT, RIGHT, LEFT, RIGHT, RIGHT, LEFT, RIGHT, LEFT], dtype=object)
    strides = build_strides(ic_s, sides, None, activity=WALKING)
    ends = dict(zip(np.round(ic_s, 6), sides, strict=True))
    assert len(strides) == 4  # 0-2, 1-3, 4-6, 5-7; 2-4 ends on the other foot, 3-5 starts twice
    for start, end, side in zip(strides["start_s"], strides["end_s"], strides["side"], strict=True):
        assert ends[round(start, 6)] == side == ends[round(end, 6)]
