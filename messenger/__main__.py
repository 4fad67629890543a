"""``python -m messenger`` runs the command line."""

from .launch import main

main()
