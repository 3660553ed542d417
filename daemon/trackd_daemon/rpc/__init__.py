"""The gRPC layer: servicers decode a request, ask an actor or the store, encode the answer.
Errors become gRPC statuses in one place (``errors.py``)."""
