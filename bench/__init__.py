"""shopcore's benchmark: every figure measured against a ceiling taken in the same run.

`make bench` (or `.venv/bin/python -m bench.run`) runs it; bench/README.md explains it.
"""
