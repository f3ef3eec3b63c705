import { parse as parseYaml } from 'yaml';
import { defaultConfig } from './defaults.js';
import { AGENT_OPTIONS, EXIT, OptionError, parseOptionValue, type AgentConfig } from './options.js';
import { readTextFile } from '../util/read-text-file.js';

/**
 * The agent's effective configuration: flags beat the environment, which beats the config file, which
 * beats the defaults. Config file keys are the option keys (camelCase) or the flag names.
 */
export async function resolveConfig(opts: {
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  configFile?: string;
}): Promise<AgentConfig> {
  const config = defaultConfig(opts.env) as unknown as Record<string, unknown>;
  const file = opts.configFile ?? opts.env.HERALD_CONFIG;
  if (file) {
    const values = await readConfigFile(file);
    for (const [key, raw] of Object.entries(values)) {
      const spec = AGENT_OPTIONS.find((o) => o.key === key || o.flag === key);
      if (!spec) {
        throw new OptionError(
          `${file}: unknown key '${key}' (known: ${AGENT_OPTIONS.map((o) => o.key).join(', ')})`,
          EXIT.config,
        );
      }
      try {
        config[spec.key] = parseOptionValue(spec, raw, `${file}: ${key}`);
      } catch (err) {
        throw new OptionError((err as Error).message, EXIT.config);
      }
    }
  }
  for (const spec of AGENT_OPTIONS) {
    const raw = opts.env[spec.env];
    if (raw !== undefined && raw !== '') config[spec.key] = parseOptionValue(spec, raw, `environment ${spec.env}`);
  }
  for (const spec of AGENT_OPTIONS) {
    const raw = opts.flags[spec.flag];
    if (raw !== undefined) config[spec.key] = parseOptionValue(spec, raw, `--${spec.flag}`);
  }
  return config as unknown as AgentConfig;
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const text = await readTextFile(file, 'config file', (message) => new OptionError(message, EXIT.config));
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new OptionError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, EXIT.config);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new OptionError(`${file}: expected a mapping of option: value`, EXIT.config);
  return value as Record<string, unknown>;
}
