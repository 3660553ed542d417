"""Artifacts in the dashboard: a project's collections and portfolios, a version's page with
its files, previews and lineage graph, alias and tag edits.

``api`` serves the JSON API, ``pages`` the HTML pages, ``view`` shapes the answers (pure) and
``lineage`` builds and lays out the graph (pure).
"""
