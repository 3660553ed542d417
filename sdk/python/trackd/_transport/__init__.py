"""Reaching the daemon: finding or starting it, the per-process state, the gRPC connection and its
credentials, the record sender, file uploads, dashboard links.
"""
