import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from './helpers/app.js';

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}
interface Rules {
  groups: Array<{ name: string; rules: Array<{ alert: string; expr: string }> }>;
}

const dashboard = JSON.parse(readFileSync('ops/grafana-dashboard.json', 'utf8')) as Dashboard;
const alerts = parse(readFileSync('ops/alerts.yml', 'utf8')) as Rules;

/** Metric families an expression reads (`_bucket`/`_count`/`_sum` belong to their histogram). */
function metricsIn(expr: string): string[] {
  const names = expr.match(/\b(payments|nodejs|process)_[a-z0-9_]+\b/g) ?? [];
  return names.map((name) => name.replace(/_(bucket|count|sum)$/, ''));
}

describe('ops/grafana-dashboard.json and ops/alerts.yml', () => {
  let app: TestApp;
  let families: Set<string>;
  beforeAll(async () => {
    app = await startTestApp();
    const text = await (await fetch(app.metricsUrl)).text();
    families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  });
  afterAll(() => app.close());

  it('should reference only metrics that GET /metrics serves', () => {
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr)),
    ];
    const referenced = new Set(exprs.flatMap(metricsIn));
    expect(referenced.size).toBeGreaterThan(10);
    expect([...referenced].filter((name) => !families.has(name))).toEqual([]);
  });

  it('should chart what on-call needs and alert on the five failure signs', () => {
    const charted = new Set(
      dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr))),
    );
    for (const name of [
      'payments_upstream_request_duration_seconds',
      'payments_cache_requests_total',
      'payments_subscriptions_active',
      'payments_change_push_events_total',
      'payments_idempotency_total',
      'payments_upstream_breaker_state',
    ]) {
      expect(charted).toContain(name);
    }
    const rules = alerts.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual([
      'PaymentsUpstreamErrorRate',
      'PaymentsUpstreamBreakerOpen',
      'PaymentsOutboxNotDraining',
      'PaymentsChangePushesRefused',
      'PaymentsReconciliationFindingChanges',
    ]);
  });
});
