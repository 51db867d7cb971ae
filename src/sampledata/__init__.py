"""Synthetic sample data in the data contract's tables: deterministic, calibrated to the plan.

``generate`` (generate, write, run; ``boardpack sample-data`` calls ``run``) assembles the tables
from ``orgs`` (organisations, places), ``activity`` (studies, recruitment and its breakdowns) and
``programme`` (finance, workforce, innovations, engagement, deliverables); ``cutoff`` cuts data
simulated to a later quarter to an earlier one, as extracted then (with late uploads). It uses ``helpers``,
never ``boardpack``.
"""
