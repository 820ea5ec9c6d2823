"""What the documentation shows must be what the program and Kinsta do:
operation ids in examples have the form of real ones (the recorded
fixtures' "cache:clear-<environment uuid>", the prefixes of
tests/sim/kinsta_sim)."""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

sys.path.insert(0, os.path.join(kh.SRC, "tests", "sim"))
import kinsta_sim  # noqa: E402

DOCS = sorted(glob.glob(os.path.join(kh.SRC, "docs", "*.[58]")) +
              glob.glob(os.path.join(kh.SRC, "docs", "*.md")) +
              [os.path.join(kh.SRC, "README.md")])


def test_operation_ids_in_examples_are_real_ones():
    # ACTIONS: action -> (operation id prefix, ...)
    prefixes = {v[0] for v in kinsta_sim.ACTIONS.values() if v[0]}
    assert "cache:clear" in prefixes
    seen = 0
    for path in DOCS:
        text = open(path).read().replace("\\-", "-")
        for m in re.finditer(r"\bop=([^\s`\"]+)", text):
            op = m.group(1)
            if op in ("", "-") or op.startswith(("\\", ",")):
                continue  # the field's name in a list, not an example
            seen += 1
            # a known prefix, "-", then a UUID (or its first part and ...)
            assert any(re.match(re.escape(p) + r"-[0-9a-f]{8}(-|$)", op)
                       for p in prefixes), (path, op)
    assert seen >= 1
