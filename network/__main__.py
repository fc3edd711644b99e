"""Entry point: python -m network ..."""

from network.cli import app

app(prog_name="network")
