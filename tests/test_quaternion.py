"""Tests of the quaternion helpers against scipy's Rotation (seeded random rotations)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from gait import quaternion as quat


def _random_quats(n: int, seed: int = 0) -> np.ndarray:
    xyzw = Rotation.random(n, random_state=seed).as_quat()
    return np.column_stack([xyzw[:, 3], xyzw[:, :3]])


def _to_scipy(q: np.ndarray) -> Rotation:
    return Rotation.from_quat(np.column_stack([q[:, 1:], q[:, :1]]))


def test_rotate_matches_scipy_and_matrix() -> None:
    q = _random_quats(50)
    v = np.random.default_rng(1).normal(size=(50, 3))
    expected = _to_scipy(q).apply(v)
    np.testing.assert_allclose(quat.rotate(q, v), expected, atol=1e-12)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", quat.to_rotation_matrix(q), v), expected,
                               atol=1e-12)


def test_multiply_composes_rotations_in_order() -> None:
    q_a_to_b = _random_quats(20, seed=2)
    q_b_to_c = _random_quats(20, seed=3)
    v_a = np.random.default_rng(4).normal(size=(20, 3))
    q_a_to_c = quat.multiply(q_b_to_c, q_a_to_b)
    np.testing.assert_allclose(quat.rotate(q_a_to_c, v_a),
                               quat.rotate(q_b_to_c, quat.rotate(q_a_to_b, v_a)), atol=1e-12)
    # the conjugate undoes the rotation
    np.testing.assert_allclose(quat.rotate(quat.conjugate(q_a_to_b), quat.rotate(q_a_to_b, v_a)),
                               v_a, atol=1e-12)


def test_matrix_round_trip_all_branches() -> None:
    q = _random_quats(200, seed=5)
    # include 180 degree rotations about each axis (w = 0), where naive formulas break
    q = np.vstack([q, [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]])
    back = quat.from_rotation_matrix(quat.to_rotation_matrix(q))
    same = np.abs(np.sum(back * q, axis=1))
    np.testing.assert_allclose(same, 1.0, atol=1e-12)
    assert back.shape == q.shape
    assert quat.from_rotation_matrix(np.eye(3)).shape == (4,)


def test_axis_angle_and_angle() -> None:
    q = quat.from_axis_angle(np.array([0.0, 0.0, 2.0]), np.pi / 2)
    np.testing.assert_allclose(quat.rotate(q, np.array([1.0, 0.0, 0.0])), [0, 1, 0], atol=1e-15)
    assert quat.rotation_angle_rad(q) == pytest.approx(np.pi / 2)
    assert quat.heading_rad(q) == pytest.approx(np.pi / 2)
    assert quat.inclination_rad(q) == pytest.approx(0.0, abs=1e-12)
    tilt = quat.from_axis_angle(np.array([1.0, 0.0, 0.0]), 0.3)
    assert quat.inclination_rad(tilt) == pytest.approx(0.3)
    rv = np.array([[0.1, -0.2, 0.3]])
    np.testing.assert_allclose(quat.rotate(quat.from_rotation_vector(rv), [1.0, 2.0, 3.0]),
                               Rotation.from_rotvec(rv).apply([1.0, 2.0, 3.0]), atol=1e-12)


def test_from_two_vectors_including_opposite() -> None:
    rng = np.random.default_rng(6)
    a = rng.normal(size=(30, 3))
    b = rng.normal(size=(30, 3))
    b[0] = -a[0]
    q = quat.from_two_vectors(a, b)
    rotated = quat.rotate(q, a)
    cos = np.sum(rotated * b, axis=1) / np.linalg.norm(rotated, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(cos, 1.0, atol=1e-12)


def test_slerp_halfway_and_ends() -> None:
    q0 = quat.identity()
    q1 = quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), 1.0)
    np.testing.assert_allclose(quat.slerp(q0, q1, 0.0), q0, atol=1e-15)
    np.testing.assert_allclose(quat.slerp(q0, q1, 1.0), q1, atol=1e-15)
    half = quat.slerp(q0, -q1, 0.5)  # sign flip must still take the short way
    np.testing.assert_allclose(np.abs(half), quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), 0.5),
                               atol=1e-12)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        quat.multiply(np.zeros(3), quat.identity())
    assert quat.identity(3).shape == (3, 4)
    assert np.isnan(quat.normalize(np.zeros(4))).all()
