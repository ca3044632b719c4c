"""``python -m tuskit_cli`` runs the ``tus`` command."""

from tuskit_cli.main import app

app(prog_name="tus")
