"""Engines behind the optimize facades: one module per algorithm family, no SciPy surface."""
