"""The result models every output is rendered from: the report of one network, the table model, the diagram."""
