"""Error types: fixed messages, hierarchy, and picklability (task/result transport)."""

from __future__ import annotations

import pickle

import pytest

from keys.backends import (
    BackendError,
    BackendUnavailable,
    InvalidArgument,
    InvalidCiphertext,
    KeyMaterialNotFound,
    KeyStoreIntegrityError,
    UnsupportedOperation,
)

ALL = [BackendUnavailable, InvalidArgument, InvalidCiphertext, KeyMaterialNotFound,
       KeyStoreIntegrityError, UnsupportedOperation]  # fmt: skip


@pytest.mark.parametrize("error", ALL)
def test_hierarchy_and_default_message(error: type[BackendError]) -> None:
    instance = error()
    assert isinstance(instance, BackendError)
    assert str(instance) == error.default_message


@pytest.mark.parametrize("error", ALL)
def test_errors_pickle_round_trip(error: type[BackendError]) -> None:
    restored = pickle.loads(pickle.dumps(error()))
    assert type(restored) is error
    assert str(restored) == error.default_message


def test_invalid_ciphertext_takes_no_detail() -> None:
    with pytest.raises(TypeError):
        InvalidCiphertext("tag mismatch at byte 3")  # type: ignore[call-arg]


def test_invalid_argument_is_a_value_error() -> None:
    assert issubclass(InvalidArgument, ValueError)
