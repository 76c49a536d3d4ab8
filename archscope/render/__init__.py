"""Rendering: rich tables for people, JSON/CSV/Markdown for machines, diagnostic emitters.

Only this package and the CLI import rich.
"""
