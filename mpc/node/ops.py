"""Node side of key use and lifecycle: TPRF, FROST, threshold RSA, state, destroy, public.

Every key operation goes through :meth:`NodeContext.usable`, so a disabled, held or
destroyed key is refused here regardless of who asks. A customer node serves the
same ``tprf/evaluate`` route with its whole key part k_c (``tprf.evaluate_customer``)
and creates that part itself in :func:`customer_generate`. Each answer names the share
epoch it used, so the coordinator notices a refresh and re-reads public data
before blaming a node for a proof that does not verify.
"""

from __future__ import annotations

from typing import Any

from mpc.crypto import frost, threshold_rsa, tprf
from mpc.crypto.group import ED25519, RISTRETTO255, encode_scalar
from mpc.wire import (
    PROTOCOL,
    WireError,
    b64d,
    b64e,
    check_key_id,
    get_b64,
    get_bool,
    get_dict,
    get_list,
    get_str,
    int_d,
    int_e,
    key_share_from_dict,
    key_share_to_dict,
    node_id_of,
    public_hex,
    rsa_params_from_dict,
    rsa_params_to_dict,
)

from .context import VERSION, NodeContext
from .errors import BadRequest, KeyExists, KeyHeld

Body = dict[str, Any]
MAX_BATCH = 1024
MAX_PRF_INPUT = (1 << 16) - 1
MAX_MESSAGE = 1 << 19


# -- threshold PRF -------------------------------------------------------------------------------


def tprf_evaluate(ctx: NodeContext, key_id: str, body: Body) -> Body:
    """Z_i = k_i·H(x) for a batch of inputs, with one batched DLEQ proof."""
    raw = get_list(body, "inputs", max_len=MAX_BATCH)
    if not raw:
        raise BadRequest("at least one input is required")
    inputs = [b64d(x, field="inputs", max_size=MAX_PRF_INPUT) for x in raw]
    if ctx.is_customer:
        record, secret = ctx.customer_secret(key_id)
        partial = tprf.evaluate_customer(secret, inputs)
    else:
        record, share = ctx.scalar_share(key_id, RISTRETTO255)
        partial = tprf.evaluate_partial_batch(share, inputs)
    elements = list(partial.elements)
    if ctx.fault("bad-partial"):
        elements[0] = RISTRETTO255.add(elements[0], RISTRETTO255.generator)
    return {"epoch": record.epoch, "elements": [b64e(z) for z in elements], "proof": b64e(partial.proof)}


def customer_generate(ctx: NodeContext, body: Body) -> Body:
    """Customer node: create k_c here; only Y_c = k_c·G and a proof of knowledge leave.

    The proof is bound to the key id, so the provider nodes (which check it before
    they pin Y_c) know the customer node holds log(Y_c) for this very key.
    """
    key_id = check_key_id(body.get("key_id"))
    with ctx.key_lock(key_id):
        if ctx.store.exists(key_id):
            raise KeyExists()
        secret = tprf.new_customer_key()
        public_key = RISTRETTO255.scalar_base_mult(secret)
        proof = tprf.customer_key_proof(secret, key_id.encode())
        payload = {
            "group": RISTRETTO255.name,
            "public_key": b64e(public_key),
            "secret": b64e(encode_scalar(secret)),
        }
        ctx.store.create(key_id, "customer", "customer-node", payload)
        del secret, payload
    return {"key_id": key_id, "public_key": b64e(public_key), "proof": b64e(proof), "epoch": 0}


# -- FROST ---------------------------------------------------------------------------------------


def frost_commit(ctx: NodeContext, key_id: str, body: Body) -> Body:
    """Round 1: fresh nonces kept here (single use, expiring); only commitments leave."""
    record, share = ctx.scalar_share(key_id, ED25519)
    nonces, commitment = frost.commit(share)
    commitment_id = ctx.nonces.put(key_id, record.epoch, nonces)
    return {
        "epoch": record.epoch,
        "commitment_id": commitment_id,
        "identifier": commitment.identifier,
        "hiding": b64e(commitment.hiding),
        "binding": b64e(commitment.binding),
    }


def _commitments(body: Body) -> list[frost.SigningCommitment]:
    out = []
    for entry in get_list(body, "commitments", max_len=255):
        identifier = node_id_of(entry.get("identifier") if isinstance(entry, dict) else None)
        hiding, binding = get_b64(entry, "hiding", size=32), get_b64(entry, "binding", size=32)
        out.append(frost.SigningCommitment(identifier, hiding, binding))
    return out


def frost_sign(ctx: NodeContext, key_id: str, body: Body) -> Body:
    """Round 2: consume the nonces of ``commitment_id`` (even if signing then fails)."""
    commitment_id = get_str(body, "commitment_id", max_len=64)
    message = get_b64(body, "message", max_size=MAX_MESSAGE)
    commitments = _commitments(body)
    epoch, nonces = ctx.nonces.take(commitment_id, key_id)
    record, share = ctx.scalar_share(key_id, ED25519)
    if record.epoch != epoch:
        raise BadRequest("commitment belongs to an earlier share epoch")
    z = frost.sign(share, nonces, message, commitments)
    if ctx.fault("bad-partial"):
        z = (z + 1) % ED25519.order
    return {"epoch": record.epoch, "share": b64e(encode_scalar(z))}


# -- threshold RSA ------------------------------------------------------------------------------


def rsa_partial(ctx: NodeContext, key_id: str, body: Body) -> Body:
    """c^(Σ r_A) mod N for each requested group of labels (one group on the fast path)."""
    record, params, share = ctx.rsa_share(key_id)
    ciphertext = int_d(get_str(body, "ciphertext", max_len=4096), field="ciphertext")
    groups = get_list(body, "groups", max_len=len(params.labels))
    values = []
    for group in groups:
        labels = [tuple(node_id_of(i, field="groups") for i in label) for label in _list(group)]
        value = threshold_rsa.partial_decrypt(share, ciphertext, labels).value
        if ctx.fault("bad-partial"):
            value = value * 2 % params.modulus
        values.append(int_e(value))
    return {"epoch": record.epoch, "values": values}


def _list(value: object) -> list[Any]:
    if not isinstance(value, list) or any(not isinstance(v, list) for v in value):
        raise WireError("groups: expected lists of labels")
    return value


# -- lifecycle -----------------------------------------------------------------------------------


def set_state(ctx: NodeContext, key_id: str, body: Body) -> Body:
    """The coordinator's enable/disable. It cannot enable a key the operator holds."""
    enabled = get_bool(body, "enabled")
    if enabled and ctx.store.live(key_id).held:
        raise KeyHeld()
    record = ctx.store.set_state(key_id, enabled)
    if not enabled:
        ctx.nonces.drop_key(key_id)
        ctx.materials.drop(key_id)
    return {"state": record.state, "held": record.held}


def destroy(ctx: NodeContext, key_id: str, body: Body) -> Body:
    with ctx.key_lock(key_id):
        ctx.store.destroy(key_id)
    ctx.nonces.drop_key(key_id)
    ctx.materials.drop(key_id)
    return {"state": "destroyed"}


def public(ctx: NodeContext, key_id: str, body: Body) -> Body:
    """Public data only (allowed for disabled keys; destroyed keys are gone)."""
    record, payload = ctx.store.load(key_id)
    out: Body = {
        "key_id": key_id,
        "kind": record.kind,
        "state": record.state,
        "epoch": record.epoch,
        "provenance": record.provenance,
        "held": record.held,
    }
    if record.kind == "scalar":
        out["scalar"] = key_share_to_dict(key_share_from_dict(payload, check=False), include_secret=False)
        if "customer_public_key" in payload:  # composed key: the Y_c pinned at generation
            out["customer_public_key"] = payload["customer_public_key"]
    elif record.kind == "customer":
        out["customer"] = {"group": payload["group"], "public_key": payload["public_key"]}
    else:
        out["rsa"] = rsa_params_to_dict(rsa_params_from_dict(get_dict(payload, "params")))
    return out


def node_info(ctx: NodeContext, body: Body) -> Body:
    """Authenticated self-description, for enrolment checks (a 200 proves the node trusts the caller)."""
    audience = ctx.audience
    return {
        "role": ctx.config.role,
        "audience": audience if isinstance(audience, str) else str(audience),
        "identity_public_key": public_hex(ctx.identity),
        "x25519_public_key": public_hex(ctx.x25519),
        "version": VERSION,
        "protocol": PROTOCOL,
    }


def health(ctx: NodeContext) -> Body:
    return {"node_id": ctx.node_id, "version": VERSION, "protocol": PROTOCOL, "keys": ctx.store.count()}
