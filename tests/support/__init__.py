"""Test support shared by the test files: oracles and child processes."""
