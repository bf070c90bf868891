"""What the jail costs: rendering a whole template (every language x delivery channel) in the
web process (the anchor) and in a limited child process; and how fast a hostile draft is
refused.

    python benchmarks/jail.py [--runs 30]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    spent = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent) * 1000


def main() -> None:
    from notifier import library
    from notifier.library import jail, spec

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    template = library.load_file(ROOT / "templates" / "phone-lines-down.yaml")
    contacts = {"vaxel": library.ContactOption("vaxel", "phone", {"sv": "Växel",
                                                                  "en": "Switchboard"},
                                               "+4681234567", "up")}
    values = library.validate_values(template, {"contacts": "vaxel", "eta": "13:00"}, contacts)
    jail.run(library.render_all, template, values)  # starts the fork server once
    anchor = _median_ms(lambda: library.render_all(template, values), runs)
    jailed = _median_ms(lambda: jail.run(library.render_all, template, values), runs)
    hostile = spec.TemplateSpec(**{**template.__dict__, "content": {
        lang: spec.Variant(**{**template.content[lang].__dict__,
                              "banner_body": "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}"
                                             "{% endfor %}{% endfor %}"})
        for lang in template.content}})

    def refuse() -> None:
        try:
            jail.run(library.render_all, hostile, values)
        except library.RenderError:
            return
        raise AssertionError("the hostile template rendered")

    refused = _median_ms(refuse, runs)
    print(f"render_all, 8 variants, in process (anchor): {anchor:7.1f} ms")
    print(f"render_all in the jail:                      {jailed:7.1f} ms  "
          f"(x{jailed / anchor:.1f} the anchor, +{jailed - anchor:.1f} ms per confirm or preview)")
    print(f"10^8-step loop refused in the jail:          {refused:7.1f} ms  "
          f"(x{refused / anchor:.1f} the anchor)")


if __name__ == "__main__":
    main()
