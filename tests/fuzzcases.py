"""What the fuzz tests of both ends share: their Hypothesis settings, and JSON text for every kind
of value (the hostile ones included) as a list and as a strategy."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from messenger.protocol import MAX_INT

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# JSON text for every kind of value, the hostile ones included: values Python's json accepts but
# RFC 8259 does not, integers past SQLite's range and Python's digit limit, nesting that
# json.loads takes and json.dumps cannot give back, lone surrogates, odd and huge strings.
FRAGMENTS = [
    "null", "true", "false", "0", "-1", "1", "42", "1.5", "-0.0", "1e-999", "1e308",
    str(MAX_INT), str(MAX_INT + 1), str(-MAX_INT - 1), str(-MAX_INT - 2), str(10**100), "9" * 4300,
    "1" + "0" * 5000, "NaN", "Infinity", "-Infinity", "1e999", "-1e999",
    '""', '" "', '"#"', '"#lobby"', '"#ops"', '"x"', '"\\u0000"', '"\\u001b[31m"', '"\\ud800"',
    '"\\udc80x"', '"\\ud83c\\udf89"', '"\\u202e"', '"\\ufeff"', '"a\\nb"', '"' + "x" * 8000 + '"',
    '"' + "\u00e9" * 3000 + '"', '"' + "\\u00e9" * 2000 + '"', '"' + "\ufdfa" * 2000 + '"',
    "[]", "{}", '[1,"a",null]', '{"a":{"b":[1]}}', "[" * 30 + "]" * 30, "[" * 32 + "]" * 32,
    "[" * 980 + "]" * 980, "[" * 5000 + "]" * 5000, '{"a":' * 900 + "1" + "}" * 900,
    "[1e15" + ",1e15" * 2500 + "]",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([MAX_INT, MAX_INT + 1, -MAX_INT - 1, -MAX_INT - 2, 10**40])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)
fragments = st.sampled_from(FRAGMENTS) | json_values.map(lambda value: json.dumps(value, ensure_ascii=False))
