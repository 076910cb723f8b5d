"""RFC 5649 over a block encryptor must equal cryptography's AES-KWP byte for byte."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding, aes_key_wrap_with_padding

from keys.backends import _keywrap

# RFC 5649 section 6 test vectors (192-bit KEK)
RFC_KEK = bytes.fromhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
RFC_VECTORS = [
    (
        "c37b7e6492584340bed12207808941155068f738",
        "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
    ),
    ("466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"),
]


def _ecb(kek: bytes):
    def encrypt_block(block: bytes) -> bytes:
        encryptor = Cipher(algorithms.AES(kek), modes.ECB()).encryptor()
        return encryptor.update(block) + encryptor.finalize()

    return encrypt_block


@pytest.mark.parametrize(("plain", "wrapped"), RFC_VECTORS)
def test_rfc5649_vectors(plain: str, wrapped: str) -> None:
    assert _keywrap.wrap_with_padding(_ecb(RFC_KEK), bytes.fromhex(plain)).hex() == wrapped


@pytest.mark.parametrize("size", [*list(range(1, 70)), 255, 1024])
def test_matches_cryptography(size: int) -> None:
    kek = os.urandom(32)
    material = os.urandom(size)
    wrapped = _keywrap.wrap_with_padding(_ecb(kek), material)
    assert wrapped == aes_key_wrap_with_padding(kek, material)
    assert aes_key_unwrap_with_padding(kek, wrapped) == material


def test_rejects_empty() -> None:
    with pytest.raises(ValueError):
        _keywrap.wrap_with_padding(_ecb(os.urandom(32)), b"")
