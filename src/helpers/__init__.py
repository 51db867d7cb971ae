"""Shared, tested calculations for the ICS Research & Innovation board pack.

Notebooks import from here; nothing here imports from ``boardpack`` or ``sampledata``.
"""
