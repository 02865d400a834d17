"""Benchmarks of chatapp against a live server: `make bench` runs them."""
