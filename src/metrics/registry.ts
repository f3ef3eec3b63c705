/**
 * A small Prometheus registry, one per agent (no process-wide default registry, so that several agents
 * in one process keep their own figures). Text exposition format 0.0.4.
 */

type Labels = Record<string, string>;

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  /** A figure read at scrape time; `counter` for a total kept elsewhere (the process's CPU time). */
  gauge(
    name: string,
    help: string,
    collect: () => number | [Labels, number][],
    type: 'gauge' | 'counter' = 'gauge',
  ): void {
    this.add({
      name,
      help,
      type,
      render: () => {
        const value = collect();
        if (typeof value === 'number') return [`${name} ${fmt(value)}`];
        return value.map(([labels, v]) => `${name}${renderLabels(labels)} ${fmt(v)}`);
      },
    });
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) {
      lines.push(
        `# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
        `# TYPE ${m.name} ${m.type}`,
        ...m.render(),
      );
    }
    return lines.join('\n') + '\n';
  }

  private add<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

export class Counter implements Metric {
  readonly type = 'counter' as const;
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {
    if (labelNames.length === 0) this.values.set('', { labels: {}, value: 0 });
  }

  inc(labels: Labels = {}, by = 1): void {
    const key = this.key(labels);
    const slot = this.values.get(key);
    if (slot) slot.value += by;
    else this.values.set(key, { labels: pick(labels, this.labelNames), value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(this.key(labels))?.value ?? 0;
  }

  /** Each label set's value, keyed `name{labels}` as the exposition writes it: sums a bench or a diagnosis reads. */
  series(): [string, number][] {
    return [...this.values.values()].map(({ labels, value }) => [`${this.name}${renderLabels(labels)}`, value]);
  }

  /** The counter of one label set, bound once: for paths taken on every datagram. */
  labelled(labels: Labels = {}): { inc(by?: number): void } {
    const key = this.key(labels);
    let slot = this.values.get(key);
    if (!slot) {
      slot = { labels: pick(labels, this.labelNames), value: 0 };
      this.values.set(key, slot);
    }
    const bound = slot;
    return { inc: (by = 1) => void (bound.value += by) };
  }

  // Counters are bumped for every datagram: none or one label, the usual case, builds no array.
  private key(labels: Labels): string {
    const names = this.labelNames;
    if (names.length === 0) return '';
    if (names.length === 1) return labels[names[0]] ?? '';
    return names.map((n) => labels[n] ?? '').join('\0');
  }

  render(): string[] {
    return [...this.values.values()].map((v) => `${this.name}${renderLabels(v.labels)} ${fmt(v.value)}`);
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram' as const;
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) this.counts[i] += 1;
  }

  render(): string[] {
    const lines = this.buckets.map((b, i) => `${this.name}_bucket{le="${fmt(b)}"} ${this.counts[i]}`);
    lines.push(
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${fmt(this.sum)}`,
      `${this.name}_count ${this.count}`,
    );
    return lines;
  }
}

function pick(labels: Labels, names: readonly string[]): Labels {
  const out: Labels = {};
  for (const n of names) out[n] = labels[n] ?? '';
  return out;
}

function renderLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(6).replace(/\.?0+$/, '');
}
