"""Fail unless every module of the integration reaches its coverage target.

Reads ``coverage json`` output: at least 95 % for every module and 100 % for
``config_flow.py``.
"""

import json
from pathlib import Path
import sys

TARGETS = {"config_flow.py": 100.0}
DEFAULT_TARGET = 95.0


def main(report: str) -> int:
    """Print each module's coverage and return 1 if one misses its target."""
    files = json.loads(Path(report).read_text(encoding="utf-8"))["files"]
    failed = False
    for path, data in sorted(files.items()):
        percent = data["summary"]["percent_covered"]
        target = TARGETS.get(Path(path).name, DEFAULT_TARGET)
        ok = percent >= target
        failed |= not ok
        print(f"{'ok  ' if ok else 'FAIL'} {percent:6.2f} % (>= {target:g} %) {path}")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
