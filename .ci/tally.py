"""Turn unittest's closing lines into 'N passed, N failed, N skipped'."""

import re
import sys
from pathlib import Path

KINDS = "failures|errors|skipped|expected failures|unexpected successes"

text = Path(sys.argv[1]).read_text(encoding="utf-8", errors="replace")
ran = [int(n) for n in re.findall(r"^Ran (\d+) tests? in", text, re.MULTILINE)]
verdicts = re.findall(r"^(?:OK|FAILED)\b.*$", text, re.MULTILINE)
counts = dict.fromkeys(KINDS.split("|"), 0)
if verdicts:
    for key, number in re.findall(rf"({KINDS})=(\d+)", verdicts[-1]):
        counts[key] = int(number)
total = ran[-1] if ran else 0
failed = counts["failures"] + counts["errors"] + counts["unexpected successes"]
skipped = counts["skipped"] + counts["expected failures"]
print(f"tests: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
