"""Analysis: stored evidence in, tested findings out (``run.analyze``; ``run.evaluate`` for any roles)."""
