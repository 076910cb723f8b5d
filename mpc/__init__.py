"""MPC: threshold cryptography (pure library ``mpc.crypto``), the node service and the coordinator client."""
