"""Starting and ending runs: ``init()``, ``login()``, a sweep run's parameters, ``sync`` of offline
runs.
"""
