"""Tests by threat: what an attacker with a free account tries, and what stops it."""
