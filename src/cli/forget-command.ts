import { request } from 'undici';
import { EXIT } from '../config/options.js';
import { answerError, apiClientFrom } from './api-client.js';

/**
 * `herald forget AGENT`: retires a lost or left agent at once through the local API
 * (POST /v1/agents/{name}/forget): it leaves the directory, and its retained MQTT state and Home
 * Assistant entries are cleared. An alive agent is refused (409), with the API's reason.
 * Wiring (src/cli/program.ts): addApiOptions(command(program, 'forget', '...')).argument('<agent>', ...)
 * .action(act(async (agent, opts) => (await import('./forget-command.js')).runForgetCommand(agent, opts))).
 */
export async function runForgetCommand(agent: string, values: Record<string, unknown>): Promise<number> {
  const client = await apiClientFrom(values);
  let res;
  try {
    res = await request(`${client.base}/v1/agents/${encodeURIComponent(agent)}/forget`, {
      method: 'POST',
      headers: { ...client.headers, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw client.unreachable(err);
  }
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // a problem or an answer that is not JSON: reported as its status
  }
  if (res.statusCode !== 200) throw answerError(res.statusCode, body, values);
  const { known, notes } = body as { known?: boolean; notes?: unknown };
  // What the agent could not see to (its MQTT purge refused, the owed list full) is said, not the usual promise.
  const said = Array.isArray(notes) ? notes.filter((n): n is string => typeof n === 'string') : [];
  const unknownNote = ' (not in the directory: its retained MQTT state is cleared unless it says it is online)';
  process.stdout.write(`${agent} forgotten${known || said.length > 0 ? '' : unknownNote}\n`);
  for (const note of said) process.stderr.write(`herald: ${agent}: ${note}\n`);
  return EXIT.ok;
}
