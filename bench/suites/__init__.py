"""The bench's suites, one module each, in the order `make bench` runs them.

Each module has NAME and run(bench) -> {figure key: number}: it prints its
lines as it measures (each goal from bench/goals.py beside its figure) and
returns the figures for the closing table; a suite that cannot run here
prints why and returns {}.
"""
from . import api, cloud, firmware, image, lab, postgres, registry, render, serve, storm

SUITES = {m.NAME: m for m in (image, serve, api, postgres, cloud, storm, lab, firmware, registry, render)}
