"""Wire helpers shared by the MPC nodes and the coordinator: encodings, auth, sealing.

Why one module: the node and the coordinator must agree byte for byte on what is
signed and how shares are sealed; keeping both sides' definitions here makes a
mismatch impossible. Nothing here touches the network or a database.

* JSON bodies; bytes are standard base64, big integers are lowercase hex (with a
  leading ``-`` when negative: the last threshold-RSA piece is negative).
* Requests are signed by the coordinator and responses by the node, with Ed25519
  over a domain-separated text that binds the HTTP method, path, target node id
  (so a request for node 1 cannot be replayed at node 2), timestamp, random nonce
  and the SHA-256 of the body; responses bind the request nonce, status and body.
* Secret payloads between parties (DKG shares, dealt RSA pieces) are sealed with
  HPKE base mode (RFC 9180: X25519, HKDF-SHA256, AES-256-GCM) from ``cryptography``;
  ``info`` binds the sealed value to its purpose, key id, session and parties.

Every :class:`WireError` message is a fixed text naming a field, never a value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from mpc.crypto import threshold_rsa
from mpc.crypto.errors import InvalidEncoding
from mpc.crypto.group import GROUPS, PrimeOrderGroup, decode_scalar, encode_scalar
from mpc.crypto.shamir import KeyShare, public_share

PROTOCOL = "cockpit-mpc/1"
HDR_CALLER = "X-Cockpit-Mpc-Caller"
HDR_TIMESTAMP = "X-Cockpit-Mpc-Timestamp"
HDR_NONCE = "X-Cockpit-Mpc-Nonce"
HDR_SIGNATURE = "X-Cockpit-Mpc-Signature"
HDR_NODE = "X-Cockpit-Mpc-Node"

KEY_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
NONCE_RE = re.compile(r"[0-9a-f]{32}")
_HEX_INT_RE = re.compile(r"-?[0-9a-f]{1,4096}")
MAX_NODE_ID = 255

_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class WireError(ValueError):
    """A message or field is malformed; the text names the field only."""


# -- primitive encodings -----------------------------------------------------------------


def check_key_id(value: object) -> str:
    """Key ids are caller-chosen: 1-128 chars of [A-Za-z0-9_.-], starting alphanumeric."""
    if not isinstance(value, str) or KEY_ID_RE.fullmatch(value) is None:
        raise WireError("invalid key id")
    return value


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(value: object, *, field: str = "value", size: int | None = None, max_size: int = 1 << 20) -> bytes:
    """Strict base64 decoding with optional exact size."""
    if not isinstance(value, str) or len(value) > 2 * max_size:
        raise WireError(f"{field}: expected base64 string")
    try:
        data = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise WireError(f"{field}: invalid base64") from None
    if (size is not None and len(data) != size) or len(data) > max_size:
        raise WireError(f"{field}: wrong length")
    return data


def int_e(value: int) -> str:
    """Signed big integer as lowercase hex."""
    return format(value, "x")


def int_d(value: object, *, field: str = "value") -> int:
    """Inverse of :func:`int_e` (at most 16384 bits)."""
    if not isinstance(value, str) or _HEX_INT_RE.fullmatch(value) is None:
        raise WireError(f"{field}: expected hex integer")
    return int(value, 16)


def canonical(obj: Any) -> bytes:
    """Deterministic JSON (sorted keys, no spaces): what gets signed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def length_prefixed(*parts: bytes | str | int) -> bytes:
    """Injective concatenation for HPKE ``info`` and other transcript inputs."""
    out = bytearray()
    for part in parts:
        raw = (
            str(part).encode() if isinstance(part, int) else part.encode() if isinstance(part, str) else part
        )
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


# -- field accessors for untrusted JSON -------------------------------------------------------


def get_dict(obj: object, name: str) -> dict[str, Any]:
    value = obj.get(name) if isinstance(obj, Mapping) else None
    if not isinstance(value, dict):
        raise WireError(f"{name}: expected object")
    return value


def get_list(obj: object, name: str, *, max_len: int = 4096) -> list[Any]:
    value = obj.get(name) if isinstance(obj, Mapping) else None
    if not isinstance(value, list) or len(value) > max_len:
        raise WireError(f"{name}: expected list")
    return value


def get_str(obj: object, name: str, *, max_len: int = 1 << 16) -> str:
    value = obj.get(name) if isinstance(obj, Mapping) else None
    if not isinstance(value, str) or len(value) > max_len:
        raise WireError(f"{name}: expected string")
    return value


def get_int(obj: object, name: str, *, lo: int = 0, hi: int = 1 << 63) -> int:
    value = obj.get(name) if isinstance(obj, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise WireError(f"{name}: expected integer in range")
    return value


def get_bool(obj: object, name: str) -> bool:
    value = obj.get(name) if isinstance(obj, Mapping) else None
    if not isinstance(value, bool):
        raise WireError(f"{name}: expected boolean")
    return value


def get_b64(obj: object, name: str, *, size: int | None = None, max_size: int = 1 << 20) -> bytes:
    value = obj.get(name) if isinstance(obj, Mapping) else None
    return b64d(value, field=name, size=size, max_size=max_size)


def node_id_of(value: object, *, field: str = "node id") -> int:
    """Node ids are Shamir x-coordinates 1..255; JSON object keys carry them as text."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 3:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_NODE_ID:
        raise WireError(f"{field}: expected node id")
    return value


def id_list(obj: object, name: str) -> tuple[int, ...]:
    """A sorted list of distinct node ids."""
    ids = [node_id_of(v, field=name) for v in get_list(obj, name, max_len=MAX_NODE_ID)]
    if len(set(ids)) != len(ids) or not ids:
        raise WireError(f"{name}: expected distinct node ids")
    return tuple(sorted(ids))


# -- request / response authentication ---------------------------------------------------------


def new_nonce() -> str:
    return secrets.token_hex(16)


Audience = int | str
"""Whom a request is for: a provider node's id, or :func:`customer_audience` of a customer node."""


def customer_audience(identity_public_hex: str) -> str:
    """A customer node's audience: derived from its identity key, so it never equals a provider id.

    Signing requests for "customer:<key>" rather than a small integer means a request
    a customer node receives cannot be replayed at a provider node (or another
    customer node), whatever ids the operators chose.
    """
    return f"customer:{identity_public_hex}"


def request_message(
    method: str, path: str, audience: Audience, timestamp: int, nonce: str, body: bytes
) -> bytes:
    """What the coordinator signs: the request bound to one node, one moment, one body."""
    fields = ("cockpit-mpc-request-v1", method, path, str(audience), str(timestamp), nonce, sha256_hex(body))
    return "\n".join(fields).encode()


def response_message(node_id: Audience, nonce: str, status: int, body: bytes) -> bytes:
    """What the node signs: its answer bound to the request nonce, status and body."""
    fields = ("cockpit-mpc-response-v1", str(node_id), nonce, str(status), sha256_hex(body))
    return "\n".join(fields).encode()


def deal_message(deal: Mapping[str, Any]) -> bytes:
    """What a DKG/refresh dealer signs: its whole deal (header, broadcast, sealed shares)."""
    return b"cockpit-mpc-deal-v1\n" + canonical(deal)


def ed25519_public_from_hex(value: object, *, field: str = "public key") -> Ed25519PublicKey:
    raw = _hex32(value, field)
    return Ed25519PublicKey.from_public_bytes(raw)


def x25519_public_from_hex(value: object, *, field: str = "public key") -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(_hex32(value, field))


def _hex32(value: object, field: str) -> bytes:
    if not isinstance(value, str) or re.fullmatch(r"[0-9a-f]{64}", value) is None:
        raise WireError(f"{field}: expected 64 hex digits")
    return bytes.fromhex(value)


def public_hex(key: Ed25519PublicKey | X25519PublicKey | Ed25519PrivateKey | X25519PrivateKey) -> str:
    """Raw 32-byte public key as hex (the form configs and cluster files use)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey | X25519PrivateKey) else key
    return public.public_bytes_raw().hex()


def verify(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


# -- sealing to a node's X25519 key --------------------------------------------------------------


def seal(recipient: X25519PublicKey, plaintext: bytes, info: bytes) -> bytes:
    """HPKE base-mode single-shot encryption (fresh ephemeral key per message)."""
    return _SUITE.encrypt(plaintext, recipient, info=info)


def share_info(purpose: str, key_id: str, session: bytes, group: str, dealer: int, recipient: int) -> bytes:
    """HPKE ``info`` for one DKG/refresh share: only this recipient, in this run, opens it."""
    return length_prefixed("cockpit-mpc-dkg-share-v1", purpose, key_id, session, group, dealer, recipient)


def rsa_share_info(key_id: str, node_id: int, params: Mapping[str, Any]) -> bytes:
    """HPKE ``info`` for dealt RSA pieces, bound to the key's public parameters."""
    digest = hashlib.sha256(canonical(params)).digest()
    return length_prefixed("cockpit-mpc-rsa-share-v1", key_id, node_id, digest)


def open_sealed(private: X25519PrivateKey, ciphertext: bytes, info: bytes) -> bytes:
    """Inverse of :func:`seal`; any failure is one :class:`WireError`."""
    try:
        return _SUITE.decrypt(ciphertext, private, info=info)
    except (InvalidTag, ValueError):
        raise WireError("sealed payload does not open") from None


# -- share and public-parameter codecs (storage and wire) ----------------------------------------


def _labels_from(value: object) -> tuple[tuple[int, ...], ...]:
    if not isinstance(value, list) or len(value) > 4096:
        raise WireError("labels: expected list")
    labels = []
    for label in value:
        if not isinstance(label, list) or len(label) > MAX_NODE_ID:
            raise WireError("labels: expected lists of node ids")
        labels.append(tuple(node_id_of(i, field="labels") for i in label))
    return tuple(labels)


def labels_to_wire(labels: Any) -> list[list[int]]:
    return [list(label) for label in labels]


def rsa_params_to_dict(params: threshold_rsa.RsaPublicParams) -> dict[str, Any]:
    return {
        "modulus": int_e(params.modulus),
        "public_exponent": params.public_exponent,
        "threshold": params.threshold,
        "node_ids": list(params.node_ids),
        "labels": labels_to_wire(params.labels),
    }


def rsa_params_from_dict(obj: object) -> threshold_rsa.RsaPublicParams:
    """Parse and check the public description: labels must be every (t-1)-subset."""
    modulus = int_d(get_str(obj, "modulus"), field="modulus")
    e = get_int(obj, "public_exponent", lo=3, hi=(1 << 32) - 1)
    node_ids = id_list(obj, "node_ids")
    t = get_int(obj, "threshold", lo=2, hi=len(node_ids))
    labels = _labels_from(obj.get("labels") if isinstance(obj, Mapping) else None)
    if not 2048 <= modulus.bit_length() <= 8192 or modulus % 2 == 0 or e % 2 == 0:
        raise WireError("rsa parameters out of range")
    if labels != tuple(combinations(node_ids, t - 1)):
        raise WireError("labels: inconsistent with node ids and threshold")
    return threshold_rsa.RsaPublicParams(modulus, e, t, node_ids, labels)


def rsa_share_to_dict(share: threshold_rsa.RsaNodeShare) -> dict[str, Any]:
    pieces = [[list(label), int_e(value)] for label, value in sorted(share.pieces.items())]
    return {"node_id": share.node_id, "pieces": pieces}


def rsa_share_from_dict(obj: object, params: threshold_rsa.RsaPublicParams) -> threshold_rsa.RsaNodeShare:
    """A node's pieces must be exactly the labels that do not contain the node."""
    node_id = node_id_of(obj.get("node_id") if isinstance(obj, Mapping) else None)
    pieces: dict[tuple[int, ...], int] = {}
    for entry in get_list(obj, "pieces"):
        if not isinstance(entry, list) or len(entry) != 2:
            raise WireError("pieces: expected [label, value] pairs")
        (label,) = _labels_from([entry[0]])
        pieces[label] = int_d(entry[1], field="pieces")
    expected = {a for a in params.labels if node_id not in a}
    if node_id not in params.node_ids or set(pieces) != expected:
        raise WireError("pieces: do not match this node")
    return threshold_rsa.RsaNodeShare(node_id, params.modulus, params.public_exponent, pieces)


def element(group: PrimeOrderGroup, data: bytes, *, allow_identity: bool = False) -> bytes:
    """``group.decode_element`` with the failure reported as a :class:`WireError`."""
    try:
        return group.decode_element(data, allow_identity=allow_identity)
    except InvalidEncoding:
        raise WireError("invalid group element") from None


def scalar(data: bytes) -> int:
    try:
        return decode_scalar(data)
    except InvalidEncoding:
        raise WireError("invalid scalar") from None


def key_share_to_dict(share: KeyShare, *, include_secret: bool) -> dict[str, Any]:
    """Scalar key share (DKG output); ``include_secret`` only for sealed storage."""
    out: dict[str, Any] = {
        "group": share.group.name,
        "threshold": share.threshold,
        "public_key": b64e(share.public_key),
        "public_shares": {str(i): b64e(y) for i, y in sorted(share.public_shares.items())},
        "commitments": [b64e(c) for c in share.commitments],
    }
    if include_secret:  # the public form is identical on every node, so it can be compared
        out["participant_id"] = share.participant_id
        out["secret"] = b64e(encode_scalar(share.secret))
    return out


@dataclass(frozen=True)
class ScalarPublic:
    """The public half of a DKG key: group, t, Y, every Y_i and the Feldman commitments."""

    group: PrimeOrderGroup
    threshold: int
    public_key: bytes
    public_shares: Mapping[int, bytes]
    commitments: tuple[bytes, ...]


def scalar_public_from_dict(obj: object, *, check: bool = True) -> ScalarPublic:
    """Parse the public half and (with ``check``) verify it is consistent.

    Y must equal C_0 and every Y_i must equal Σ C_k·i^k, so a node cannot publish a
    verification share that disagrees with the commitments everybody agreed on.
    Sealed storage skips the n·t scalar multiplications: AES-GCM already vouches for it.
    """
    group = GROUPS.get(get_str(obj, "group", max_len=32))
    if group is None:
        raise WireError("group: unknown")
    threshold = get_int(obj, "threshold", lo=1, hi=MAX_NODE_ID)
    public_key = element(group, get_b64(obj, "public_key", size=32))
    raw_commitments = get_list(obj, "commitments", max_len=MAX_NODE_ID)
    commitments = tuple(
        element(group, b64d(c, field="commitments", size=32), allow_identity=True) for c in raw_commitments
    )
    shares = {
        node_id_of(i): element(group, b64d(y, field="public_shares", size=32))
        for i, y in get_dict(obj, "public_shares").items()
    }
    if len(commitments) != threshold or commitments[0] != public_key:
        raise WireError("commitments: inconsistent")
    if len(shares) < threshold:
        raise WireError("public_shares: too few")
    if check and any(public_share(group, i, commitments) != y for i, y in shares.items()):
        raise WireError("public_shares: inconsistent with commitments")
    return ScalarPublic(group, threshold, public_key, shares, commitments)


def key_share_from_dict(obj: object, *, check: bool = True) -> KeyShare:
    """Inverse of :func:`key_share_to_dict` with the secret (storage only)."""
    pub = scalar_public_from_dict(obj, check=check)
    participant = node_id_of(obj.get("participant_id") if isinstance(obj, Mapping) else None)
    secret = scalar(get_b64(obj, "secret", size=32))
    if participant not in pub.public_shares:
        raise WireError("participant_id: not among the public shares")
    shares = dict(pub.public_shares)
    return KeyShare(pub.group, participant, pub.threshold, secret, pub.public_key, shares, pub.commitments)
