"""The vocabulary every other layer speaks: data types, errors, settings, text and word handling, the lexicon.

Imports nothing of the project."""
