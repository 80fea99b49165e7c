// The HTTP request-duration histogram, kept by hand and exported through prom-client. It is
// updated on every request, and prom-client's Histogram validates and hashes the label set on
// every observation: that cost a feed poll answered 304 about a microsecond, a tenth of the
// whole answer. Here an observation is one small-array scan and three additions; the Prometheus
// series are assembled at scrape time, in the same shape prom-client gives its own histograms.
import type { Metric, Registry } from "prom-client";

export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** One line of the exposition, as prom-client's registry reads it from get(). */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Series {
  method: string;
  status: number;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class RequestDurations {
  readonly name = "herald_http_request_duration_seconds";
  readonly help = "HTTP request durations, by method, route and status code";
  readonly type = "histogram" as const;
  readonly aggregator = "sum" as const;
  /** Per route pattern, its series; a route sees one to a few (method, status) pairs. */
  private readonly routes = new Map<string, Series[]>();

  /** prom-client writes any object with a name, help, type and get(); its types list only its own classes. */
  register(registry: Registry): void {
    registry.registerMetric(this as unknown as Metric);
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    let list = this.routes.get(route);
    if (!list) {
      list = [];
      this.routes.set(route, list);
    }
    let s: Series | undefined;
    for (const x of list) {
      if (x.status === status && x.method === method) {
        s = x;
        break;
      }
    }
    if (!s) {
      s = { method, status, counts: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      list.push(s);
    }
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    s.counts[i]! += 1;
    s.sum += seconds;
    s.count += 1;
  }

  async get(): Promise<{ name: string; help: string; type: "histogram"; aggregator: "sum"; values: Sample[] }> {
    const values: Sample[] = [];
    for (const [route, list] of this.routes) {
      for (const s of list) {
        const labels = { method: s.method, route, status_code: s.status };
        let cumulative = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += s.counts[i]!;
          values.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
        });
        values.push({ metricName: `${this.name}_bucket`, labels: { le: "+Inf", ...labels }, value: s.count });
        values.push({ metricName: `${this.name}_sum`, labels, value: s.sum });
        values.push({ metricName: `${this.name}_count`, labels, value: s.count });
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.routes.clear();
  }
}
