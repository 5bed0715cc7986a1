"""Pure retry back-off: the delays between connection attempts.

Kept free of I/O and clocks so tests can zero it (``base_s=0``) or check it exactly with a seeded
``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["backoff_delays"]


def backoff_delays(
    base_s: float,
    factor: float,
    max_s: float,
    jitter: float,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield an endless sequence of exponential back-off delays, seconds.

    Delay ``k`` (from 0) is ``min(max_s, base_s * factor**k)`` multiplied by a uniform random
    factor in ``[1 - jitter, 1 + jitter]`` and clipped to ``[0, max_s]``.

    Parameters
    ----------
    base_s
        First delay, seconds (0 gives a sequence of zeros: retries without waiting).
    factor
        Growth per attempt, >= 1.
    max_s
        Upper bound of every delay, seconds.
    jitter
        Relative jitter in ``[0, 1]``; spreads reconnects of several sensors apart.
    rng
        Source of the jitter; a seeded ``random.Random`` makes the sequence reproducible.
        ``None`` uses a fresh unseeded generator.

    Yields
    ------
    float
        The next delay in seconds.

    Raises
    ------
    ValueError
        When an argument is out of range (the message names it).

    Examples
    --------
    >>> d = backoff_delays(0.1, 2.0, 1.0, 0.0)
    >>> [next(d) for _ in range(5)]
    [0.1, 0.2, 0.4, 0.8, 1.0]
    """
    if base_s < 0 or max_s < 0:
        raise ValueError(f"base_s and max_s must be >= 0 seconds, got {base_s} and {max_s}")
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be in [0, 1], got {jitter}")
    rng = rng if rng is not None else random.Random()
    delay_s = base_s
    while True:
        nominal_s = min(max_s, delay_s)
        if jitter > 0:
            nominal_s *= 1.0 + rng.uniform(-jitter, jitter)
        yield min(max_s, max(0.0, nominal_s))
        delay_s = min(max_s, delay_s * factor)
