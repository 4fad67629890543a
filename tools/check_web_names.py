"""Check that the web page's port of name keys, name colours, mentions and for_terminal
(messenger/web/static/names.js) agrees with the Python originals, by running it in Node.

    python tools/check_web_names.py

Needs ``node`` on the PATH.  Prints each disagreement and exits 1 if there is any.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from messenger.protocol.names import for_terminal, name_key  # noqa: E402
from messenger.ui.render import NAME_COLOURS, mentions  # noqa: E402

NAMES = [
    "alice",
    "Alice",
    "ALICE",
    "aIice",
    "ɑlice",
    "ALİCE",
    "ali\u0307ce",
    "ａｌｉｃｅ",
    "bob",
    "b0b",
    "BOB",
    "carol",
    "dave",
    "Вова",
    "ВОВА",
    "вова",
    "नमस्ते",
    "Straße",
    "STRASSE",
    "ςσΣ",
    "Ꭿlice",
    "rnary",
    "mary",
    "x_y-z.1",
    "李小龍",
    "ﬁsh",
    "ǅemal",
    "Ωmega",
    "lia",
    "Ila",
    "user42",
    "émile",
    "e\u0301mile",
    "Zoë",
    "ÆSIR",
    "İstanbul",
    "ıi",
    "Ǆ",
    "ΐ",
    "ᾳ",
    "ŉ",
    "µ",
    "K",
    "Å",
]
TEXTS = [
    ("hi @alice!", "alice"),
    ("malice", "alice"),
    ("ALICE: look", "alice"),
    ("aIice?", "alice"),
    ("alice-bob", "alice"),
    ("bob_alice", "alice"),
    ("привет Вова", "вова"),
    ("no one", "bob"),
    ("b0b there", "bob"),
    ("", "bob"),
    ("hi", ""),
    ("x.alice.y", "alice"),
]
SHOWN = [
    "plain",
    "a\u202eb",
    "tab\there",
    "\x1b[31mred",
    "👨\u200d👩\u200d👧",
    "❤\ufe0f",
    "a\u200bb",
    "\u2066x\u2069",
    "soft\u00adhyphen",
    "\x85c1",
    "\U000e0067tag",
]

DRIVER = """
import { useNameData, nameKey, nameColour, mentions, forDisplay } from "%s";
import { readFileSync } from "node:fs";
const input = JSON.parse(readFileSync(0, "utf-8"));
useNameData(JSON.parse(readFileSync(%s, "utf-8")));
console.log(JSON.stringify({
  keys: input.names.map(nameKey),
  colours: input.names.map(nameColour),
  mentions: input.texts.map(([t, n]) => mentions(t, n)),
  shown: input.shown.map(forDisplay),
}));
"""


def main() -> int:
    static = ROOT / "messenger" / "web" / "static"
    driver = DRIVER % ((static / "names.js").as_uri(), json.dumps(str(static / "namekeys.json")))
    payload = json.dumps({"names": NAMES, "texts": TEXTS, "shown": SHOWN})
    result = subprocess.run(
        ["node", "--input-type=module", "-e", driver],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(result.stdout)
    expected = {
        "keys": [name_key(n) for n in NAMES],
        "colours": [zlib.crc32(name_key(n).encode()) % len(NAME_COLOURS) for n in NAMES],
        "mentions": [mentions(t, n) for t, n in TEXTS],
        "shown": [for_terminal(s) for s in SHOWN],
    }
    bad = 0
    inputs = {"keys": NAMES, "colours": NAMES, "mentions": TEXTS, "shown": SHOWN}
    for part, values in expected.items():
        for item, want, have in zip(inputs[part], values, got[part], strict=True):
            if want != have:
                bad += 1
                print(f"{part}: {item!r}: Python {want!r}, JavaScript {have!r}")
    print(f"{sum(len(v) for v in expected.values())} checks, {bad} disagreements")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
