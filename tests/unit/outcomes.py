"""What an oracle is compared with: a call's outcome (its result or the type
of the exception it raised), and float equality down to the bits."""

import math


def outcome(f, *args):
    """f(*args), or the type of the exception it raised."""
    try:
        return f(*args)
    except Exception as exc:  # noqa: BLE001 - the caller compares exception types
        return type(exc)


def same_bits(x, y):
    """Equal as floats down to the sign of zero (a NaN equals a NaN), or the
    same exception type."""
    if isinstance(x, type) or isinstance(y, type):
        return x is y
    if x != x or y != y:
        return x != x and y != y
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)
