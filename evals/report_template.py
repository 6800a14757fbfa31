"""The Jinja template of the HTML report: one self-contained page (inline CSS and SVG, no scripts)."""
# ruff: noqa: E501  (HTML and CSS lines of a template; wrapping them would change the page)

from __future__ import annotations

TEMPLATE = """<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dasan eval · {{ title }}</title>
<style>
:root { --ok: #1e7d3a; --bad: #c0392b; --skip: #8a6d00; --line: #ddd; --muted: #666; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 20px 24px 60px; color: #222; line-height: 1.45;
  font: 14px/1.45 system-ui, -apple-system, "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #222; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0 0 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; }
.skip { color: var(--skip); font-weight: 600; }
.banner { padding: 10px 14px; border-radius: 6px; font-size: 16px; font-weight: 600; margin: 12px 0; }
.banner.ok { background: #e6f4ea; border: 1px solid var(--ok); } .banner.bad { background: #fbe9e7; border: 1px solid var(--bad); }
.suite { border: 1px solid var(--line); border-radius: 8px; padding: 4px 16px 12px; margin: 16px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px 28px; align-items: flex-start; margin: 8px 0; }
details { border-top: 1px solid var(--line); padding: 4px 0; }
details > summary { cursor: pointer; }
details .body { padding: 6px 0 6px 22px; }
pre { white-space: pre-wrap; word-break: break-word; background: #f7f7f7; padding: 6px 8px; margin: 4px 0;
  font: 12.5px/1.45 ui-monospace, "D2Coding", "Noto Sans Mono CJK KR", monospace; max-height: 320px; overflow: auto; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; background: #eee; font-size: 12px; margin-left: 4px; }
.muted { color: var(--muted); }
</style>
</head>
<body>
<h1>dasan eval · {{ title }}</h1>
<p class="meta">{{ report.started_at }} · {{ "%.1f"|format(report.seconds) }} s
 · commit {{ report.git_commit or "unknown" }}{% if report.git_dirty %} (uncommitted changes){% endif %}
 · judge {{ "on" if report.judge else "off" }}</p>

{% if gate %}
<div class="banner {{ 'ok' if gate.passed else 'bad' }}">gate {{ "PASSED" if gate.passed else "FAILED" }}:
 {{ gate.checks|length - gate.failures|length }} of {{ gate.checks|length }} checks hold</div>
{% if gate.failures %}{{ check_table(gate.failures) }}{% endif %}
<details><summary>{{ gate_passes|length }} passing check(s)</summary><div class="body">{{ check_table(gate_passes) }}</div></details>
{% endif %}

<h2>Summary</h2>
<table>
<tr><th>suite</th><th>kind</th><th>dataset</th><th>status</th><th>cases</th><th>passed</th><th>p50 ms</th><th>p95 ms</th></tr>
{% for s in suites %}
<tr><td><a href="#{{ s.anchor }}">{{ s.result.suite }}</a></td><td>{{ s.result.kind or "–" }}</td>
<td>{{ s.result.dataset.name }} <span class="muted">@{{ s.result.dataset.version }}</span></td>
<td class="{{ s.status_class }}">{{ s.result.status }}</td><td class="num">{{ s.result.cases|length }}</td>
<td class="num">{{ s.passed }}</td>
<td class="num">{{ "%.1f"|format(s.result.latency.p50_ms) if s.result.latency else "–" }}</td>
<td class="num">{{ "%.1f"|format(s.result.latency.p95_ms) if s.result.latency else "–" }}</td></tr>
{% endfor %}
</table>
<div class="charts">{{ overview_chart }}{{ latency_chart }}</div>
{% if latency_rows %}
<h3>Latency by kind</h3>
<table><tr><th>kind</th><th>cases</th><th>p50 ms</th><th>p95 ms</th><th>max ms</th></tr>
{% for k in latency_rows %}<tr><td>{{ k.kind }}</td><td class="num">{{ k.count }}</td><td class="num">{{ "%.1f"|format(k.p50) }}</td>
<td class="num">{{ "%.1f"|format(k.p95) }}</td><td class="num">{{ "%.1f"|format(k.max) }}</td></tr>{% endfor %}
</table>
{% endif %}

<details><summary>Settings</summary><div class="body"><table>
{% for key, value in report.settings|dictsort %}<tr><th>{{ key }}</th><td>{{ value }}</td></tr>{% endfor %}
</table></div></details>

{% for s in suites %}
<section class="suite" id="{{ s.anchor }}">
<h2>{{ s.result.suite }} <span class="tag">{{ s.result.kind or "?" }}</span> <span class="tag">{{ s.result.dataset.path }}</span></h2>
{% if s.result.status != "ran" %}
<p class="{{ s.status_class }}">{{ s.result.status }}: {{ s.result.reason }}</p>
{% else %}
{% if s.result.options %}<p class="muted">{% for k, v in s.result.options|dictsort %}{{ k }}={{ v }}{% if not loop.last %} · {% endif %}{% endfor %}</p>{% endif %}
<table><tr><th>metric</th><th>value</th><th>cases</th><th>passed</th></tr>
{% for m in s.metrics %}
<tr><td>{{ m.name }}{% if not m.higher_is_better %} <span class="muted">(lower is better)</span>{% endif %}</td>
<td class="num">{{ m.shown }}</td><td class="num">{{ m.count }}</td><td class="num">{{ m.passed }}</td></tr>
{% endfor %}
</table>
<div class="charts">{% for chart in s.charts %}{{ chart }}{% endfor %}</div>
<h3>Cases</h3>
{% for c in s.failing %}{{ case_block(c, True) }}{% endfor %}
{% if s.passing %}
<details><summary>{{ s.passing|length }} passing case(s)</summary><div class="body">
{% for c in s.passing %}{{ case_block(c, False) }}{% endfor %}
</div></details>
{% endif %}
{% endif %}
</section>
{% endfor %}
</body>
</html>
"""

CHECK_MACRO = """{% macro check_table(checks) %}
<table>
<tr><th>suite</th><th>metric</th><th>check</th><th>expected</th><th>actual</th><th>result</th><th>note</th></tr>
{% for c in checks %}
<tr><td>{{ c.suite }}</td><td>{{ c.metric }}</td><td>{{ c.kind }}</td><td>{{ c.expected }}</td>
<td class="num">{{ c.actual }}</td><td class="{{ 'ok' if c.passed else 'bad' }}">{{ "ok" if c.passed else "FAIL" }}</td>
<td>{{ c.note }}</td></tr>
{% endfor %}
</table>
{% endmacro %}"""

CASE_MACRO = """{% macro case_block(c, failing) %}
<details{% if failing and c.open %} open{% endif %}><summary>
<span class="{{ 'ok' if c.result.passed else ('skip' if c.result.status == 'skipped' else 'bad') }}">{{ c.mark }}</span>
<b>{{ c.result.case_id }}</b> {{ c.headline }}
{% for name in c.failed_names %}<span class="tag">{{ name }}</span>{% endfor %}
{% if c.result.latency_ms is not none %}<span class="muted"> · {{ "%.1f"|format(c.result.latency_ms) }} ms</span>{% endif %}
</summary><div class="body">
{% if c.result.reason %}<p class="bad">{{ c.result.reason }}</p>{% endif %}
<div>input</div><pre>{{ c.result.input }}</pre>
{% if c.result.output %}<div>output</div><pre>{{ c.result.output }}</pre>{% endif %}
{% if c.result.scores %}<table><tr><th>score</th><th>value</th><th>result</th><th>reason</th></tr>
{% for sc in c.result.scores %}<tr><td>{{ sc.name }}</td><td class="num">{{ "%.3f"|format(sc.value) }}</td>
<td class="{{ 'ok' if sc.passed else 'bad' }}">{{ "pass" if sc.passed else "fail" }}</td><td>{{ sc.reason }}</td></tr>{% endfor %}
</table>{% endif %}
{% if c.result.retrieved %}<table><tr><th>#</th><th>score</th><th>title</th><th>section</th><th>source</th><th>relevant</th></tr>
{% for r in c.result.retrieved %}<tr><td class="num">{{ r.rank }}</td><td class="num">{{ "%.3f"|format(r.score) }}</td>
<td>{{ r.title }}</td><td>{{ r.section }}</td><td>{{ r.source }}</td><td class="{{ 'ok' if r.relevant else '' }}">{{ "✓" if r.relevant else "" }}</td></tr>{% endfor %}
</table>{% endif %}
{% if c.result.details %}<table>{% for k, v in c.result.details|dictsort %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>{% endif %}
</div></details>
{% endmacro %}"""
