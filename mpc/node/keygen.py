"""Node side of key creation: dealerless DKG, proactive refresh and dealt RSA import.

DKG and refresh run through the coordinator as a relay, in two calls per node:

* ``deal``: the node runs ``dkg.deal`` (or ``deal_refresh``), seals f_i(j) to every
  peer's pinned X25519 key with HPKE (``info`` binds purpose, key id, session,
  group, dealer and recipient) and signs the whole deal with its identity key.
* ``finalize``: the node gets every dealer's signed deal, checks each signature
  against the pinned peer key and the header against the request, opens its own
  share, and runs ``dkg.finalize`` (which checks Feldman commitments and the proof
  of knowledge). Any bad dealer aborts with ``dealer_misbehaved`` naming it.

The coordinator therefore sees only sealed shares and cannot forge or swap a deal.
It does compare the returned ``broadcast_digest`` of all nodes, which catches a
dealer that signed two different deals (equivocation).

Composed keys (customer node): the DKG request also carries the customer part's
public key Y_c and its proof of knowledge (made by the customer node, bound to the
key id). Every node checks the proof, the value goes into every signed deal header
(so all nodes provably agree on it) and is stored with the share; ``/public``
reports it, so the coordinator learns Y_c from t provider nodes, not from a cache.
"""

from __future__ import annotations

import json
from typing import Any

from mpc.crypto import dkg, tprf
from mpc.crypto.errors import InvalidProof
from mpc.crypto.group import GROUPS, RISTRETTO255, encode_scalar
from mpc.crypto.shamir import KeyShare
from mpc.wire import (
    WireError,
    b64d,
    b64e,
    check_key_id,
    deal_message,
    get_b64,
    get_dict,
    get_int,
    get_list,
    get_str,
    id_list,
    key_share_to_dict,
    node_id_of,
    open_sealed,
    rsa_params_from_dict,
    rsa_params_to_dict,
    rsa_share_from_dict,
    rsa_share_info,
    rsa_share_to_dict,
    scalar,
    seal,
    share_info,
    verify,
)

from .context import NodeContext
from .errors import BadRequest, DealerMisbehaved, KeyExists

Body = dict[str, Any]


# -- helpers -----------------------------------------------------------------------------------


def _customer_part(key_id: str, group: object, body: Body) -> str | None:
    """The composed key's Y_c (base64) after checking its proof of knowledge, or None."""
    if body.get("customer_public_key") is None:
        return None
    if group is not RISTRETTO255:
        raise BadRequest("a customer key part needs a ristretto255 key")
    public = get_b64(body, "customer_public_key", size=32)
    proof = get_b64(body, "customer_proof", size=64)
    try:
        tprf.verify_customer_key_proof(public, proof, key_id.encode())
    except InvalidProof:
        raise BadRequest("customer key proof does not verify") from None
    return b64e(public)


def _dkg_config(ctx: NodeContext, body: Body) -> tuple[str, dkg.DkgConfig]:
    key_id = check_key_id(body.get("key_id"))
    group = GROUPS.get(get_str(body, "group", max_len=32))
    if group is None:
        raise BadRequest("unknown group")
    participants = id_list(body, "participants")
    threshold = get_int(body, "threshold", lo=1, hi=len(participants))
    session = get_b64(body, "session_id", max_size=64)
    ctx.require_cluster(participants, threshold)
    if len(session) < 16:
        raise BadRequest("session id too short")
    return key_id, dkg.DkgConfig(group, threshold, participants, session)


def _header(purpose: str, key_id: str, config: dkg.DkgConfig, epoch: int) -> Body:
    return {
        "purpose": purpose,
        "key_id": key_id,
        "session_id": b64e(config.session_id),
        "group": config.group.name,
        "threshold": config.threshold,
        "participants": list(config.participant_ids),
        "epoch": epoch,
    }


def _signed_deal(ctx: NodeContext, header: Body, config: dkg.DkgConfig, deal: dkg.Deal) -> Body:
    sealed = {}
    for j, private in deal.shares.items():
        value = private.value + (1 if ctx.fault("bad-deal") and j != ctx.node_id else 0)
        info = share_info(
            header["purpose"], header["key_id"], config.session_id, config.group.name, ctx.node_id, j
        )
        sealed[str(j)] = b64e(seal(ctx.peers[j].x25519, encode_scalar(value), info))
    pok = deal.broadcast.proof_of_knowledge
    body = {
        **header,
        "dealer_id": ctx.node_id,
        "commitments": [b64e(c) for c in deal.broadcast.commitments],
        "proof": b64e(pok) if pok is not None else None,
        "shares": sealed,
    }
    return {"deal": body, "signature": b64e(ctx.identity.sign(deal_message(body)))}


def _open_one(
    ctx: NodeContext, header: Body, config: dkg.DkgConfig, entry: object
) -> tuple[int, dkg.DealerBroadcast | None, dkg.PrivateShare | None]:
    """Verify one relayed deal; (dealer, None, None) if it is bad in any way."""
    deal = get_dict(entry, "deal")
    dealer = node_id_of(deal.get("dealer_id"), field="dealer_id")
    if dealer not in config.participant_ids:
        raise BadRequest("deal from a non-participant")
    try:
        signature = get_b64(entry, "signature", size=64)
        if not verify(ctx.peers[dealer].identity, signature, deal_message(deal)):
            return dealer, None, None
        if any(deal.get(k) != v for k, v in header.items()):
            return dealer, None, None
        commitments = tuple(b64d(c, field="commitments", size=32) for c in get_list(deal, "commitments"))
        proof = deal.get("proof")
        pok = b64d(proof, field="proof", size=64) if proof is not None else None
        info = share_info(
            header["purpose"], header["key_id"], config.session_id, config.group.name, dealer, ctx.node_id
        )
        sealed = b64d(get_dict(deal, "shares").get(str(ctx.node_id)), field="shares", max_size=256)
        value = scalar(open_sealed(ctx.x25519, sealed, info))
    except WireError:
        return dealer, None, None
    broadcast = dkg.DealerBroadcast(dealer, commitments, pok)
    return dealer, broadcast, dkg.PrivateShare(dealer, ctx.node_id, value)


def _open_deals(
    ctx: NodeContext, header: Body, config: dkg.DkgConfig, body: Body
) -> tuple[list[dkg.DealerBroadcast], list[dkg.PrivateShare]]:
    broadcasts, shares, bad, seen = [], [], set(), set()
    for entry in get_list(body, "deals", max_len=len(config.participant_ids)):
        dealer, broadcast, share = _open_one(ctx, header, config, entry)
        if dealer in seen:
            raise BadRequest("duplicate deal")
        seen.add(dealer)
        if broadcast is None or share is None:
            bad.add(dealer)
        else:
            broadcasts.append(broadcast)
            shares.append(share)
    if bad:
        raise DealerMisbehaved(bad)
    return broadcasts, shares


def _finish(
    config: dkg.DkgConfig,
    broadcasts: list[dkg.DealerBroadcast],
    share: KeyShare,
    epoch: int,
    customer: str | None = None,
) -> Body:
    public = _with_customer(key_share_to_dict(share, include_secret=False), customer)
    return {"public": public, "digest": b64e(dkg.broadcast_digest(config, broadcasts)), "epoch": epoch}


def _guard_dkg(run: Any) -> Any:
    """Map the library's dealer verdict to the node error that names the dealers."""
    try:
        return run()
    except dkg.DealerMisbehaved as exc:
        raise DealerMisbehaved(exc.dealer_ids) from None


# -- dealerless keygen ---------------------------------------------------------------------------


def _dkg_header(key_id: str, config: dkg.DkgConfig, customer: str | None) -> Body:
    header = _header("dkg", key_id, config, 0)
    if customer is not None:
        header["customer_public_key"] = customer
    return header


def dkg_deal(ctx: NodeContext, body: Body) -> Body:
    key_id, config = _dkg_config(ctx, body)
    customer = _customer_part(key_id, config.group, body)
    if ctx.store.exists(key_id):
        raise KeyExists()
    ctx.claim_session(config.session_id)
    deal = dkg.deal(config, ctx.node_id)
    return _signed_deal(ctx, _dkg_header(key_id, config, customer), config, deal)


def dkg_finalize(ctx: NodeContext, body: Body) -> Body:
    key_id, config = _dkg_config(ctx, body)
    customer = _customer_part(key_id, config.group, body)
    header = _dkg_header(key_id, config, customer)
    with ctx.key_lock(key_id):
        broadcasts, shares = _open_deals(ctx, header, config, body)
        share = _guard_dkg(lambda: dkg.finalize(config, ctx.node_id, broadcasts, shares))
        payload = _with_customer(key_share_to_dict(share, include_secret=True), customer)
        ctx.store.create(key_id, "scalar", "dealerless", payload)
    return _finish(config, broadcasts, share, 0, customer)


def _with_customer(payload: Body, customer: str | None) -> Body:
    return payload if customer is None else {**payload, "customer_public_key": customer}


# -- proactive refresh ---------------------------------------------------------------------------


def _refresh_setup(ctx: NodeContext, key_id: str, body: Body) -> tuple[int, KeyShare, dkg.DkgConfig, Body]:
    session = get_b64(body, "session_id", max_size=64)
    if len(session) < 16:
        raise BadRequest("session id too short")
    record, share = ctx.scalar_share(key_id, None)
    ctx.require_cluster(share.participant_ids, share.threshold)
    config = dkg.refresh_config(share, session)
    return record.epoch, share, config, _header("refresh", key_id, config, record.epoch)


def refresh_deal(ctx: NodeContext, key_id: str, body: Body) -> Body:
    _, share, config, header = _refresh_setup(ctx, key_id, body)
    ctx.claim_session(config.session_id)
    return _signed_deal(ctx, header, config, dkg.deal_refresh(share, config.session_id))


def refresh_finalize(ctx: NodeContext, key_id: str, body: Body) -> Body:
    """Stage epoch e+1; a composed key keeps its pinned Y_c (k_c is never refreshed)."""
    with ctx.key_lock(key_id):
        epoch, share, config, header = _refresh_setup(ctx, key_id, body)
        broadcasts, shares = _open_deals(ctx, header, config, body)
        fresh = _guard_dkg(lambda: dkg.finalize_refresh(share, config.session_id, broadcasts, shares))
        customer = ctx.store.load(key_id)[1].get("customer_public_key")
        payload = _with_customer(key_share_to_dict(fresh, include_secret=True), customer)
        ctx.store.put_pending(key_id, epoch + 1, config.session_id.hex(), payload)
    return _finish(config, broadcasts, fresh, epoch + 1, customer)


def refresh_commit(ctx: NodeContext, key_id: str, body: Body) -> Body:
    session = get_b64(body, "session_id", max_size=64)
    with ctx.key_lock(key_id):
        epoch = ctx.store.activate(key_id, session.hex())
    ctx.nonces.drop_key(key_id)  # FROST nonces were bound to the old epoch
    ctx.materials.drop(key_id)  # the old epoch's share is wiped from the store: here too
    return {"epoch": epoch}


# -- dealt threshold RSA -----------------------------------------------------------------------


def rsa_import(ctx: NodeContext, body: Body) -> Body:
    """Receive this node's threshold-RSA pieces, sealed to it by the dealer."""
    key_id = check_key_id(body.get("key_id"))
    raw_params = get_dict(body, "params")
    params = rsa_params_from_dict(raw_params)
    ctx.require_cluster(params.node_ids, params.threshold)
    sealed = get_b64(body, "sealed_share", max_size=1 << 19)
    plain = open_sealed(ctx.x25519, sealed, rsa_share_info(key_id, ctx.node_id, raw_params))
    try:
        share = rsa_share_from_dict(json.loads(plain), params)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("sealed share is malformed") from None
    if share.node_id != ctx.node_id:
        raise BadRequest("sealed share is for another node")
    payload = {"params": rsa_params_to_dict(params), "share": rsa_share_to_dict(share)}
    with ctx.key_lock(key_id):
        ctx.store.create(key_id, "rsa", "dealer", payload)
    return {"public": rsa_params_to_dict(params), "epoch": 0}
