"""Synthetic sample data in the data contract's tables: deterministic, calibrated to the plan.

``generate`` (generate, write, run; ``boardpack sample-data`` calls ``run``) assembles the tables
from ``orgs`` (organisations, places), ``activity`` (studies, recruitment and its breakdowns) and
``programme`` (finance, workforce, innovations, engagement, deliverables). It uses ``helpers``,
never ``boardpack``.
"""
