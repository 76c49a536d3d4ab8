"""One module per command, named after it (``import_`` and ``list_`` for the Python keyword and builtin);
what several commands share lives one level up, in :mod:`archscope.cli`."""
