"""Small vectorised quaternion helpers.

Every quaternion is a ``[w, x, y, z]`` numpy array (shape ``(4,)`` for one, ``(N, 4)`` for many).
A quaternion named ``q_a_to_b`` rotates vectors expressed in frame ``a`` into frame ``b``:
``v_b = rotate(q_a_to_b, v_a)``, and ``q_a_to_c = multiply(q_b_to_c, q_a_to_b)``.

All functions broadcast a single quaternion/vector against many, and return ``(4,)``/``(3,)``
results when every input is one-dimensional. Angles are in radians.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "conjugate",
    "from_axis_angle",
    "from_rotation_matrix",
    "from_rotation_vector",
    "from_two_vectors",
    "heading_rad",
    "identity",
    "inclination_rad",
    "multiply",
    "normalize",
    "rotate",
    "rotation_angle_rad",
    "slerp",
    "to_rotation_matrix",
]


def _as_2d(q: np.ndarray, size: int, name: str) -> tuple[np.ndarray, bool]:
    arr = np.asarray(q, dtype=float)
    if arr.shape[-1:] != (size,) or arr.ndim > 2:
        raise ValueError(f"{name} must have shape ({size},) or (N, {size}), got {arr.shape}")
    return np.atleast_2d(arr), arr.ndim == 1


def identity(n: int | None = None) -> np.ndarray:
    """Return the identity quaternion, shape ``(4,)`` or ``(n, 4)``.

    Parameters
    ----------
    n
        Number of rows, or None for a single quaternion.

    Returns
    -------
    numpy.ndarray
        ``[1, 0, 0, 0]`` (repeated).
    """
    if n is None:
        return np.array([1.0, 0.0, 0.0, 0.0])
    out = np.zeros((n, 4))
    out[:, 0] = 1.0
    return out


def normalize(q: np.ndarray) -> np.ndarray:
    """Scale quaternions to unit norm (zero-norm rows become NaN).

    Parameters
    ----------
    q
        ``(4,)`` or ``(N, 4)`` quaternions.

    Returns
    -------
    numpy.ndarray
        Unit quaternions of the same shape.
    """
    q2, one = _as_2d(q, 4, "q")
    norm = np.linalg.norm(q2, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(norm > 0, q2 / np.where(norm > 0, norm, 1.0), np.nan)
    return out[0] if one else out


def conjugate(q: np.ndarray) -> np.ndarray:
    """Return the conjugate (the inverse of a unit quaternion): ``q_b_to_a`` from ``q_a_to_b``.

    Parameters
    ----------
    q
        ``(4,)`` or ``(N, 4)`` quaternions.

    Returns
    -------
    numpy.ndarray
        ``[w, -x, -y, -z]``, same shape.
    """
    out = np.array(q, dtype=float, copy=True)
    out[..., 1:] *= -1.0
    return out


def multiply(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Hamilton product ``q1 * q2`` (apply ``q2`` first, then ``q1``).

    Parameters
    ----------
    q1, q2
        ``(4,)`` or ``(N, 4)`` quaternions; a single one broadcasts against many.

    Returns
    -------
    numpy.ndarray
        The product, ``(4,)`` if both inputs are ``(4,)``, else ``(N, 4)``.
    """
    a, one_a = _as_2d(q1, 4, "q1")
    b, one_b = _as_2d(q2, 4, "q2")
    w1, x1, y1, z1 = a.T
    w2, x2, y2, z2 = b.T
    out = np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=-1,
    )
    return out[0] if (one_a and one_b) else out


def to_rotation_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices of unit quaternions: ``R @ v_a == rotate(q_a_to_b, v_a)``.

    Parameters
    ----------
    q
        ``(4,)`` or ``(N, 4)`` unit quaternions.

    Returns
    -------
    numpy.ndarray
        ``(3, 3)`` or ``(N, 3, 3)``.
    """
    q2, one = _as_2d(q, 4, "q")
    w, x, y, z = q2.T
    r = np.empty((q2.shape[0], 3, 3))
    r[:, 0, 0] = 1 - 2 * (y * y + z * z)
    r[:, 0, 1] = 2 * (x * y - w * z)
    r[:, 0, 2] = 2 * (x * z + w * y)
    r[:, 1, 0] = 2 * (x * y + w * z)
    r[:, 1, 1] = 1 - 2 * (x * x + z * z)
    r[:, 1, 2] = 2 * (y * z - w * x)
    r[:, 2, 0] = 2 * (x * z - w * y)
    r[:, 2, 1] = 2 * (y * z + w * x)
    r[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return r[0] if one else r


def from_rotation_matrix(r: np.ndarray) -> np.ndarray:
    """Unit quaternions (``w >= 0``) from rotation matrices (numerically stable branch choice).

    Parameters
    ----------
    r
        ``(3, 3)`` or ``(N, 3, 3)`` proper rotation matrices.

    Returns
    -------
    numpy.ndarray
        ``(4,)`` or ``(N, 4)`` unit quaternions.
    """
    arr = np.asarray(r, dtype=float)
    if arr.shape[-2:] != (3, 3) or arr.ndim > 3:
        raise ValueError(f"r must have shape (3, 3) or (N, 3, 3), got {arr.shape}")
    one = arr.ndim == 2
    m = arr.reshape(-1, 3, 3)
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    # Four candidate (unnormalised) quaternions; pick the one with the largest diagonal term.
    cand = np.stack(
        [
            np.stack([1 + tr, m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0],
                      m[:, 1, 0] - m[:, 0, 1]], axis=-1),
            np.stack([m[:, 2, 1] - m[:, 1, 2], 1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2],
                      m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0]], axis=-1),
            np.stack([m[:, 0, 2] - m[:, 2, 0], m[:, 0, 1] + m[:, 1, 0],
                      1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2], m[:, 1, 2] + m[:, 2, 1]], axis=-1),
            np.stack([m[:, 1, 0] - m[:, 0, 1], m[:, 0, 2] + m[:, 2, 0],
                      m[:, 1, 2] + m[:, 2, 1], 1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2]], axis=-1),
        ],
        axis=1,
    )
    diag = np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=-1)
    best = np.argmax(diag, axis=1)
    q = cand[np.arange(m.shape[0]), best]
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    q = np.where(q[:, :1] < 0, -q, q)
    return q[0] if one else q


def from_axis_angle(axis: np.ndarray, angle_rad: np.ndarray | float) -> np.ndarray:
    """Quaternions rotating by ``angle_rad`` about ``axis`` (right-hand rule).

    Parameters
    ----------
    axis
        ``(3,)`` or ``(N, 3)`` rotation axes (normalised here; a zero axis gives identity).
    angle_rad
        Scalar or ``(N,)`` angles in radians.

    Returns
    -------
    numpy.ndarray
        ``(4,)`` or ``(N, 4)`` unit quaternions.
    """
    ax, one_ax = _as_2d(axis, 3, "axis")
    ang = np.asarray(angle_rad, dtype=float)
    one = one_ax and ang.ndim == 0
    ang = np.atleast_1d(ang)[:, None]
    norm = np.linalg.norm(ax, axis=1, keepdims=True)
    unit = np.divide(ax, norm, out=np.zeros_like(ax), where=norm > 0)
    q = np.concatenate([np.cos(ang / 2) * np.ones_like(norm), np.sin(ang / 2) * unit], axis=1)
    return q[0] if one else q


def from_rotation_vector(rotvec_rad: np.ndarray) -> np.ndarray:
    """Quaternions from rotation vectors (axis times angle, radians).

    Parameters
    ----------
    rotvec_rad
        ``(3,)`` or ``(N, 3)``.

    Returns
    -------
    numpy.ndarray
        ``(4,)`` or ``(N, 4)`` unit quaternions.
    """
    v, one = _as_2d(rotvec_rad, 3, "rotvec_rad")
    q = from_axis_angle(v, np.linalg.norm(v, axis=1))
    return q[0] if one else q


def rotate(q_a_to_b: np.ndarray, v_a: np.ndarray) -> np.ndarray:
    """Rotate frame-a vectors into frame b.

    Parameters
    ----------
    q_a_to_b
        ``(4,)`` or ``(N, 4)`` unit quaternions.
    v_a
        ``(3,)`` or ``(N, 3)`` vectors in frame a.

    Returns
    -------
    numpy.ndarray
        The vectors in frame b, ``(3,)`` if both inputs are 1-D, else ``(N, 3)``.
    """
    q, one_q = _as_2d(q_a_to_b, 4, "q_a_to_b")
    v, one_v = _as_2d(v_a, 3, "v_a")
    # v + w t + u x t with t = 2 u x v, written per component: the same operations in the same
    # order as with numpy.cross (bit for bit), without its per-call axis handling.
    w, u0, u1, u2 = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    v0, v1, v2 = v[:, 0], v[:, 1], v[:, 2]
    t0 = 2.0 * (u1 * v2 - u2 * v1)
    t1 = 2.0 * (u2 * v0 - u0 * v2)
    t2 = 2.0 * (u0 * v1 - u1 * v0)
    out = np.empty((max(len(q), len(v)), 3))
    out[:, 0] = v0 + w * t0 + (u1 * t2 - u2 * t1)
    out[:, 1] = v1 + w * t1 + (u2 * t0 - u0 * t2)
    out[:, 2] = v2 + w * t2 + (u0 * t1 - u1 * t0)
    return out[0] if (one_q and one_v) else out


def from_two_vectors(v_from: np.ndarray, v_to: np.ndarray) -> np.ndarray:
    """Shortest-arc quaternions rotating direction ``v_from`` onto direction ``v_to``.

    Parameters
    ----------
    v_from, v_to
        ``(3,)`` or ``(N, 3)`` non-zero vectors.

    Returns
    -------
    numpy.ndarray
        ``(4,)`` or ``(N, 4)`` unit quaternions ``q`` with ``rotate(q, v_from) || v_to``.
    """
    a, one_a = _as_2d(v_from, 3, "v_from")
    b, one_b = _as_2d(v_to, 3, "v_to")
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    a, b = np.broadcast_arrays(a, b)
    dot = np.sum(a * b, axis=1)
    q = np.concatenate([(1.0 + dot)[:, None], np.cross(a, b)], axis=1)
    opposite = dot < -1.0 + 1e-12
    if np.any(opposite):
        # 180 degrees about any axis perpendicular to a.
        helper = np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
        perp = np.cross(a, helper)
        perp /= np.linalg.norm(perp, axis=1, keepdims=True)
        q[opposite] = np.concatenate([np.zeros((opposite.sum(), 1)), perp[opposite]], axis=1)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    return q[0] if (one_a and one_b) else q


def rotation_angle_rad(q: np.ndarray) -> np.ndarray:
    """Total rotation angle of unit quaternions, in ``[0, pi]`` radians.

    Parameters
    ----------
    q
        ``(4,)`` or ``(N, 4)``.

    Returns
    -------
    numpy.ndarray
        Scalar array or ``(N,)``.
    """
    q2, one = _as_2d(q, 4, "q")
    out = 2.0 * np.arccos(np.clip(np.abs(q2[:, 0]), 0.0, 1.0))
    return out[0] if one else out


def inclination_rad(q_sensor_to_earth: np.ndarray) -> np.ndarray:
    """Angle between the sensor z axis and the earth z axis (up), radians.

    Parameters
    ----------
    q_sensor_to_earth
        ``(4,)`` or ``(N, 4)`` unit quaternions.

    Returns
    -------
    numpy.ndarray
        Scalar array or ``(N,)`` in ``[0, pi]``.
    """
    q2, one = _as_2d(q_sensor_to_earth, 4, "q_sensor_to_earth")
    _, x, y, _ = q2.T
    out = np.arccos(np.clip(1.0 - 2.0 * (x * x + y * y), -1.0, 1.0))
    return out[0] if one else out


def heading_rad(q: np.ndarray) -> np.ndarray:
    """Heading of the swing-twist decomposition about earth z: ``2 * atan2(z, w)``, wrapped.

    For an error quaternion expressed in the earth frame this is the heading error.

    Parameters
    ----------
    q
        ``(4,)`` or ``(N, 4)`` unit quaternions.

    Returns
    -------
    numpy.ndarray
        Scalar array or ``(N,)`` in ``(-pi, pi]``.
    """
    q2, one = _as_2d(q, 4, "q")
    ang = 2.0 * np.arctan2(q2[:, 3], q2[:, 0])
    out = np.angle(np.exp(1j * ang))
    return out[0] if one else out


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical linear interpolation from ``q0`` (``t=0``) to ``q1`` (``t=1``), shortest path.

    Parameters
    ----------
    q0, q1
        ``(4,)`` or ``(N, 4)`` unit quaternions.
    t
        Scalar or ``(N,)`` interpolation parameters.

    Returns
    -------
    numpy.ndarray
        ``(4,)`` or ``(N, 4)`` unit quaternions.
    """
    a, one_a = _as_2d(q0, 4, "q0")
    b, one_b = _as_2d(q1, 4, "q1")
    tt = np.asarray(t, dtype=float)
    one = one_a and one_b and tt.ndim == 0
    tt = np.atleast_1d(tt)[:, None]
    a, b = np.broadcast_arrays(a, b)
    dot = np.sum(a * b, axis=1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    small = sin_theta < 1e-9
    safe = np.where(small, 1.0, sin_theta)
    wa = np.where(small, 1.0 - tt, np.sin((1.0 - tt) * theta) / safe)
    wb = np.where(small, tt, np.sin(tt * theta) / safe)
    out = normalize(wa * a + wb * b)
    return out[0] if one else out
