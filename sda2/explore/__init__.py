"""Explore: read a dataset for the See step: overview counts, browsing, evaluation, the map, the FiftyOne App."""
