"""Step 7, the suite: run tests/hardware against a target and report."""
