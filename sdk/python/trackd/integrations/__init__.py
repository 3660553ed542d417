"""Integrations W&B ships in its own package (``wandb.integration.*``), written for trackd.

Each module imports its library at the top: import it only where that library is installed.
The opt-in ``wandb`` package (``trackd compat install``) re-exports them under W&B's paths.
"""
