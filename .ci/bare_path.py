"""Print a PATH on which Graphviz's `dot` and Chromium (with its driver) cannot be found.

CI's second pass runs the suite as on a fresh machine that has none of the system packages the
full pass installs. They cannot be uninstalled for one pass, so this makes a folder of links to
every other program on PATH (the first of each name, as the shell would find it) and prints
that folder, for ``PATH="$(python3 .ci/bare_path.py DIR)" ...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HIDDEN = {"dot", "chromium", "chromium-browser", "chromedriver"}


def main() -> None:
    folder = Path(sys.argv[1]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        entry.unlink()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not os.path.isdir(directory) or Path(directory).resolve() == folder:
            continue
        for program in sorted(os.listdir(directory)):
            link, target = folder / program, Path(directory) / program
            if program in HIDDEN or link.is_symlink() or not os.access(target, os.X_OK) or target.is_dir():
                continue
            link.symlink_to(target)
    print(folder)


if __name__ == "__main__":
    main()
