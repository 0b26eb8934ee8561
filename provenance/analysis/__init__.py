"""Analysis: stored evidence in, tested findings out."""
