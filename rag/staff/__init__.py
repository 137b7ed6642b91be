"""Tools for handling units: reply outlines drafted from precedents, 建议 ↔ 答复 alignment.

Uses the answer layer and below, and ``ingest``'s parser for a new proposal's text."""
