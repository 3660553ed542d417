"""Artifacts in the dashboard: a project's collections and portfolios, a version's page with
its files, previews and lineage graph, alias and tag edits.

``api`` serves the JSON API, ``pages`` the HTML pages, ``lineage`` builds and lays out the
graph (pure); ``web/artifact_view.py`` shapes the answers (pure; the run page shows a run's
artifacts with it too).
"""
