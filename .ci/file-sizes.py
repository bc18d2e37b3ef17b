#!/usr/bin/env python3
"""Files of about 500 lines at most (issue 12).

The non-test part of each `.rs` file under `src/` and `demo/src/` (what
comes before its first `#[cfg(test)]`) must be at most LIMIT lines, unless
its module docs say why it is one concern that reads best whole: a `//!`
line containing "kept whole". A file that grows past the limit either
splits by concern or says why it does not.

    python3 .ci/file-sizes.py
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIMIT = 500


def non_test_lines(text):
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]":
            return i
    return len(lines)


def main():
    bad = []
    for crate in (ROOT / "src", ROOT / "demo" / "src"):
        for path in sorted(crate.rglob("*.rs")):
            text = path.read_text()
            n = non_test_lines(text)
            if n <= LIMIT:
                continue
            docs = [l for l in text.split("\n") if l.startswith("//!")]
            if any("kept whole" in l.lower() for l in docs):
                continue
            bad.append(f"{path.relative_to(ROOT)}: {n} lines before its tests")
    if bad:
        print(f"files over {LIMIT} lines: split them by concern, or say in the module docs")
        print("why each is one concern that reads best whole (a `//!` line with \"kept whole\"):")
        for b in bad:
            print("  " + b)
        return 1
    print(f"file sizes: every file within {LIMIT} lines or kept whole with a reason")
    return 0


if __name__ == "__main__":
    sys.exit(main())
