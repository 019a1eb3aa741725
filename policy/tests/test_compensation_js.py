"""The page's money (static/js/compensation.js) is the server's, to the last of 6 places:
every vector the Python computed (compensation_vectors.py), run in Chromium."""

import json
from pathlib import Path

import pytest

from policy.tests.compensation_vectors import PATH

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "static" / "js"

# What the page computes for one case, as the vector's `expected` would write it.
RUN = """(cases) => {
  const C = window.celcCompensation;
  const A = C._arithmetic;
  function compute(c) {
    switch (c.kind) {
      case "outage": {
        const one = C.outageOwed(c.facts, c.policies, c.at);
        const many = C.outagesOwed([c.facts], c.policies, c.at)[c.facts.id];
        return one === many ? one : {outageOwed: one, outagesOwed: many};
      }
      case "household": return C.householdOwed(c.outages, c.policies, c.at).byOutage;
      case "still_growing": return C.stillGrowing(c.outages, c.policies, c.at);
      case "rate": return C.rate(c.terms, c.value_per_second, c.s);
      case "witnessed_before": return C.witnessedBefore(c.facts, c.at);
      case "value_at": return C.valueAt(c.facts, c.at);
      case "arithmetic": {
        const a = new C.Decimal(c.a), b = new C.Decimal(c.b);
        if (c.op === "places") return A.places(a);
        const got = c.op === "exp" || c.op === "ln" ? A[c.op](a) : A[c.op](a, b);
        return new C.Decimal(c.expected).eq(got) ? c.expected : got.toString();
      }
    }
    return "unknown kind " + c.kind;
  }
  return cases.map((c) => {
    try { return compute(c); } catch (e) { return "error: " + e.message; }
  });
}"""


def test_the_page_computes_every_vector_as_the_python_does(page):
    cases = json.loads(PATH.read_text())["cases"]
    page.set_content("<!doctype html><title>compensation.js</title>")
    page.add_script_tag(path=STATIC / "vendor" / "decimal.min.js")
    page.add_script_tag(path=STATIC / "compensation.js")

    got = []
    for start in range(0, len(cases), 100):
        got += page.evaluate(RUN, cases[start : start + 100])

    mismatches = [
        (n, case, result)
        for n, (case, result) in enumerate(zip(cases, got, strict=True))
        if result != case["expected"]
    ]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ; the first:\n" + "\n".join(
        f"case {n} ({case['kind']}, {case['tags']}): page {result!r}, Python "
        f"{case['expected']!r}\n  {json.dumps(case)[:2000]}"
        for n, case, result in mismatches[:3]
    )
    assert len(cases) >= 1000
