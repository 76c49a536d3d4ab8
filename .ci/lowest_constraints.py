"""Print pip constraints that pin every requirement of pyproject.toml to its declared lower bound.

CI installs the project with these in a second venv and runs the suite there, so each `>=` in
pyproject.toml is a release the suite is known to pass on (the dependency policy in docs/getting-started.md).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
extras = sys.argv[1:] or ["test"]
requirements = list(project["dependencies"])
for extra in extras:
    requirements += [r for r in project["optional-dependencies"][extra] if not r.startswith("archscope")]
for requirement in requirements:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(?:[^;]*?)>=\s*([^,;\s]+)", requirement)
    if match:
        print(f"{match.group(1)}=={match.group(2)}")
