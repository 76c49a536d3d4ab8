"""The command-line interface: thin typer commands over :mod:`archscope.api`."""
