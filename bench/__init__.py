"""Benchmark scripts: each prints its figures (``python -m bench.<name> --help``)."""
