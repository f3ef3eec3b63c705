import type { MqttClient } from 'mqtt';
import type { AgentContext } from '../agent/agent.js';
import type { Logger } from '../util/logger.js';
import { SiteImport, type BadInput } from './site-import.js';
import type { Topics } from './topics.js';

/**
 * How this agent follows the sites it imports on the broker: the import and its bounds' metrics, and the
 * read-back of their retained records after each subscribe.
 */
export class ImportFollower {
  readonly import: SiteImport;

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: {
      sites: string[];
      topics: Topics;
      quietMs: number;
      log: Logger;
      badInput: BadInput;
      /** A bound refused a record: counted here, logged by the caller (once a minute per bound). */
      onRefused: BadInput;
    },
  ) {
    this.import = this.create();
  }

  get importing(): boolean {
    return this.opts.sites.length > 0;
  }

  /**
   * Subscribes to the imported sites and waits until the broker delivered what it retains there and it
   * is applied; records of an earlier read-back not delivered again are then dropped.
   */
  async readBack(client: MqttClient): Promise<void> {
    if (!this.importing) return;
    const { topics, sites } = this.opts;
    this.import.beginReadBack();
    // A subscription that exists already is replaced, and the broker sends its retained records again.
    await client.subscribeAsync(
      sites.flatMap((site) => [topics.devicesOf('+', site), topics.agents(site)]),
      { qos: 1 },
    );
    await this.import.settled(this.opts.quietMs);
    this.import.endReadBack();
  }

  stop(): void {
    this.import.stop();
  }

  /** Other sites' records, with their bounds' metrics. */
  private create(): SiteImport {
    const { metrics, clock, directory } = this.ctx;
    const refused = metrics.registry.counter(
      'herald_mqtt_import_refused_total',
      'Records of imported sites refused because a bound was reached, by bound.',
      ['reason'],
    );
    const { badInput, onRefused } = this.opts;
    const siteImport = new SiteImport({ clock, directory, badInput, refused, onRefused }, this.opts.sites);
    metrics.registry.gauge('herald_mqtt_imported_devices', 'Devices held from imported sites.', () => {
      return siteImport.held().devices;
    });
    return siteImport;
  }
}
