import type { JournalEntry, JournalEvent } from '../directory/event-journal.js';
import { matchesFilter, type DeviceFilter } from '../directory/records.js';

/** Which events a filtered /v1/events client gets, and as what; undefined drops the event. */
export type EventView = (entry: JournalEntry) => JournalEvent | undefined;

/**
 * The events that change what `GET /v1/devices` with the same filter lists, as that client sees them:
 * a device that starts matching is added, one that stops matching is removed, one that never matched
 * is not mentioned. Agent events pass the agent and site filters (they change which devices are
 * listed); a profiles-refused notice passes the agent filter. With `include=lost` absent, as in the
 * list, clients drop an agent's devices on its agent-lost event.
 */
export function eventView(filter: DeviceFilter): EventView | undefined {
  const any = Object.entries(filter).some(([k, v]) => k !== 'includeLost' && v !== undefined);
  if (!any) return undefined;
  const matches = (r: Parameters<typeof matchesFilter>[0] | undefined) => r !== undefined && matchesFilter(r, filter);
  const agentMatches = (agent: string, site?: string) =>
    (filter.agent === undefined || filter.agent === agent) && (filter.site === undefined || filter.site === site);
  return ({ event, previous }) => {
    switch (event.type) {
      case 'device-added':
      case 'device-updated': {
        const now = matches(event.device);
        const before = matches(previous);
        if (now) return { ...event, type: before ? 'device-updated' : 'device-added' };
        return before ? { type: 'device-removed', agent: event.agent, id: event.device.id } : undefined;
      }
      case 'device-removed':
        return matches(previous) ? event : undefined;
      case 'agent-joined':
      case 'agent-lost':
      case 'agent-left':
        return agentMatches(event.agent, event.info.site) ? event : undefined;
      case 'profiles-refused':
        return filter.agent === undefined || filter.agent === event.agent ? event : undefined;
    }
  };
}
