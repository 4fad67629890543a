"""``python -m messenger`` runs the command line."""

from .cli import main

main()
