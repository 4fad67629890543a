"""The version of messenger, in one place: the package, the server's welcome and the build read it."""

__version__ = "0.1.0"
