"""The ``trackd`` command line: ``trackd daemon ...``, ``trackd runs ...``, ``trackd sync``.

``main.py`` parses the arguments; each command lives in a small module (``daemon.py``,
``runs.py``) that imports grpc and the daemon only inside the command, so that ``trackd --help``
and ``trackd --version`` stay fast.
"""
