"""The SDK's base: what it prints and how (messages, terminal-safe text, the footer), a run's
directories and log files, limits.
"""
