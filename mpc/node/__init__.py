"""The MPC node service: one process per share holder (``python -m mpc.node --config node.json``).

Modules: ``config`` (node config, key files, cluster file), ``masterkey`` (sealing
key interface + file implementation), ``store`` (SQLite share store), ``auth``
(request verification, replay cache, response signing), ``keygen`` (DKG, refresh,
RSA import), ``ops`` (TPRF, FROST, RSA partials, state, destroy, public),
``server`` (HTTP), ``local`` (development cluster runner). See ``mpc/node/README.md``.
"""
