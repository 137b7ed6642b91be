"""Grounding evals: datasets, metrics, baselines, reports and the pinned gate (`proposals eval`)."""
