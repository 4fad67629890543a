"""The fan-out benchmark's parts; benchmarks/fanout.py is the entry point (see benchmarks/README.md)."""
