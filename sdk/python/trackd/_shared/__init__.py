"""Code shared by the SDK and the daemon: the value codec, the write-ahead-log file format and
the history semantics (step/commit rules, summaries, define_metric).

Nothing here does I/O beyond the file format helpers, and nothing imports ``grpc``, so the
daemon (``trackd_daemon``) and offline runs in the SDK apply the very same rules.
"""
