// A histogram for the review path, exposed through prom-client's registry exactly as prom-client's own Histogram is.
import type { LabelValues, Metric, MetricValueWithName, Registry } from 'prom-client';

/** One label set's counts: `counts[i]` observations fell in bucket i alone (the last is +Inf); exposition sums them. */
export class HistogramSeries {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    // prom-client throws on these; a metric must never fail the review it measures.
    if (!Number.isFinite(value)) return;
    let bucket = 0;
    while (bucket < this.bounds.length && value > (this.bounds[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += value;
    this.count++;
  }

  /** The series as prom-client's Histogram reports one: cumulative buckets, +Inf, _sum, _count. */
  values(name: string): Array<MetricValueWithName<string> & { sharedLabels: Record<string, string> }> {
    const sharedLabels = this.labels;
    const values = [];
    let cumulative = 0;
    for (let bucket = 0; bucket < this.bounds.length; bucket++) {
      cumulative += this.counts[bucket] as number;
      values.push({
        labels: { le: this.bounds[bucket] as number },
        sharedLabels,
        value: cumulative,
        metricName: `${name}_bucket`,
      });
    }
    values.push(
      { labels: { le: '+Inf' }, sharedLabels, value: this.count, metricName: `${name}_bucket` },
      { labels: {}, sharedLabels, value: this.sum, metricName: `${name}_sum` },
      { labels: {}, sharedLabels, value: this.count, metricName: `${name}_count` },
    );
    return values;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/**
 * prom-client's Histogram.observe builds, checks and hashes a label object and finds the bucket through
 * number-keyed string properties on every call: about 600 ns, a review's largest metrics cost. Here the caller binds
 * its label values once (`bind`) and an observation is a bucket search and three additions. The registry reads
 * it through the same methods as prom-client's own metrics; metrics-histogram.test.ts compares the exposition.
 */
export class BoundLabelsHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly buckets: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(configuration: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = configuration.name;
    this.help = configuration.help;
    this.buckets = [...configuration.buckets].sort((a, b) => a - b);
    for (const registry of configuration.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these label values; made the first time, shown from then on (at zero until observed). */
  bind(labels: LabelValues<L>): HistogramSeries {
    const values = labels as Record<string, string>;
    const key = JSON.stringify(
      Object.keys(values)
        .sort()
        .map((name) => [name, values[name]]),
    );
    let series = this.series.get(key);
    if (series === undefined) this.series.set(key, (series = new HistogramSeries({ ...values }, this.buckets)));
    return series;
  }

  /** What the registry formats as text, in prom-client's shape (`le` apart from the series' labels). */
  async getForPromString() {
    const values = [...this.series.values()].flatMap((series) => series.values(this.name));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** What registry.getMetricsAsJSON and getSingleMetric(...).get() give: each value's labels in one object. */
  async get() {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  reset(): void {
    for (const series of this.series.values()) series.reset();
  }
}
