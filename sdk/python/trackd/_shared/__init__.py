"""Code shared by the SDK and the daemon: the value codec, the write-ahead-log file format,
the history semantics (step/commit rules, summaries, define_metric) and the dashboard's
credentials (its token file and login tickets, ``ui_auth``).

Nothing here does I/O beyond the file format helpers and the token file, and nothing imports
``grpc``, so the daemon (``trackd_daemon``) and offline runs in the SDK apply the very same
rules.
"""
