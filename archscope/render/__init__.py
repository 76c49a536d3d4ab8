"""Rendering: the emitters of the table model (terminal, JSON, CSV, Markdown), the table
builders of each command, and the diagnostic emitters.

No table path imports rich; only the progress bars (:mod:`.console`) do.
"""
