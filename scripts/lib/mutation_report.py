"""Print mutmut's results per module: the score and the surviving mutants.

scripts/mutation runs this after ``mutmut run``. It reads ``mutants/``, where
mutmut keeps a ``.meta`` file of results per mutated module, and
``mutation-equivalents.txt``: the surviving mutants judged equivalent (they
cannot change behaviour), one name per line with the reason after ``#``. The
score of a module is the share of its other mutants that the tests kill.
Exit code 1 when a module scores below TARGET or a listed equivalent is gone
or killed (mutant names change with the code).
"""

import argparse
import json
from pathlib import Path
import subprocess
import sys

REPO = Path(__file__).resolve().parents[2]
MUTANTS = REPO / "mutants" / "custom_components" / "sipgate"
EQUIVALENTS = REPO / "mutation-equivalents.txt"
TARGET = 95.0
# mutmut's exit codes (mutmut.stats.status_by_exit_code) that count as caught.
KILLED = {1, 3, 36, 37, -24, 24, 152, 255}
NOT_RUN = {None, 2, 34}


def equivalents() -> dict[str, str]:
    """Return the mutants judged equivalent, with the reason."""
    found: dict[str, str] = {}
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            found[name.strip()] = reason.strip()
    return found


def main() -> int:
    """Print the table and the survivors; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--diff", action="store_true", help="show the change of each survivor"
    )
    args = parser.parse_args()
    known = equivalents()
    seen: set[str] = set()
    caught: set[str] = set()
    survivors: list[str] = []
    failed = False
    print(
        f"{'module':<18} {'mutants':>8} {'killed':>7} {'equiv.':>7} "
        f"{'left':>5} {'score':>7}"
    )
    for meta in sorted(MUTANTS.glob("*.py.meta")):
        results = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        seen |= set(results)
        checked = {k: v for k, v in results.items() if v not in NOT_RUN}
        killed = [k for k, v in checked.items() if v in KILLED]
        caught |= set(killed)
        equivalent = [k for k in checked if k not in killed and k in known]
        left = [k for k in checked if k not in killed and k not in known]
        judged = len(checked) - len(equivalent)
        score = 100.0 * len(killed) / judged if judged else 100.0
        failed |= score < TARGET or len(checked) < len(results)
        module = meta.name.removesuffix(".meta")
        print(
            f"{module:<18} {len(results):>8} {len(killed):>7} "
            f"{len(equivalent):>7} {len(left):>5} {score:>6.1f}%"
            + ("" if len(checked) == len(results) else "  (not all run)")
        )
        survivors += sorted(left)
    # A listed mutant that is gone or killed: the list is out of date.
    stale = sorted((set(known) - seen) | (set(known) & caught))
    if survivors:
        print(f"\nSurvivors ({len(survivors)}), below {TARGET:g} % is a miss:")
    for name in survivors:
        print(f"  {name}")
        if args.diff:
            diff = subprocess.run(  # noqa: S603
                [sys.executable, "-m", "mutmut", "show", name],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            print("    " + diff.strip().replace("\n", "\n    "))
    if stale:
        print("\nListed as equivalent but gone or killed (update the list):")
        for name in stale:
            print(f"  {name}")
    return 1 if failed or stale else 0


if __name__ == "__main__":
    sys.exit(main())
