"""The messenger wire protocol, version 1, without any I/O (being split into modules)."""

from .frames import *  # noqa: F403
from .frames import _cached_name_key  # noqa: F401
