"""Artifact rules shared by the store, the upload actor and the servicer: validation of names,
aliases, tags, metadata and entry paths; W&B's manifest digest; reference resolution."""
