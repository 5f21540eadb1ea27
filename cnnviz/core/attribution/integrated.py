"""Integrated gradients (Sundararajan et al. 2017). Work in progress: methods are added here."""

STEPS: dict = {}
