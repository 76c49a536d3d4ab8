"""The spec language: YAML text → a located spec (sources, overrides, edits, expressions, schema, the
bundled specs), and the importers that write that same language from PyTorch, ONNX and Ultralytics."""
