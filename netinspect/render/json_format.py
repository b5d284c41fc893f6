"""``--format json``: exactly ``report.to_dict()``, one document."""

from __future__ import annotations

import json

from netinspect.records import InspectionReport


def render_json(report: InspectionReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
