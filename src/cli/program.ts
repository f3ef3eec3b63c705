import { Argument, Command, Option } from 'commander';
import { AGENT_OPTIONS, EXIT, type OptionSpec } from '../config/options.js';
import { HEALTH_STATES } from '../profiles/checks.js';
import { errorText } from '../util/journald.js';
import { HERALD_VERSION } from '../version.js';

/** What the command that ran asks main to exit with. */
export interface Outcome {
  code: number;
}

type Values = Record<string, unknown>;

/**
 * The herald command: every subcommand, its flags and help, from one tree that commander parses and
 * that bash completion is made from. Each command's code is imported only when it runs: the agent
 * process never loads the query commands' HTTP client (undici), nor the demo.
 */
export function buildProgram(outcome: Outcome): Command {
  const program = new Command('herald')
    .description('device discovery for edge and IoT networks')
    .version(HERALD_VERSION, '-V, --version', 'print the version')
    .showSuggestionAfterError()
    .configureOutput({
      outputError: (text, write) => write(`herald: ${text.replace(/^error: /, '')}`),
      writeErr: writeError,
    });
  const act: Act =
    (task) =>
    async (...args) => {
      outcome.code = await task(...args);
    };
  addAgentCommand(program, act);
  addQueryCommands(program, act);
  addRegistrationCommands(program, act);
  command(program, 'check', 'validate device profiles: every error with file, line and field')
    .argument('[paths...]', 'profile files and folders (default: ./device-profiles)')
    .action(act(async (paths: string[]) => (await import('./check-command.js')).runCheckCommand(paths)));
  command(program, 'demo', 'run a local cluster on loopback and watch changes spread')
    .option('--agents <n>', 'how many agents (default: 5)')
    .option('--interval <ms>', 'time between changes (default: 1500)')
    .option('--loss <percent>', 'drop that share of received datagrams, to watch catch-up repair it')
    .option('--duration <s>', 'stop after S seconds (default: run until Ctrl-C)')
    .option('--api <host:port>', "demo-1's local API (default: 127.0.0.1:7755, else a free port)")
    .option('--profiles <dir>', 'sample devices from this folder (default: ./device-profiles)')
    .action(act(async (opts: Values) => (await import('./demo-command.js')).runDemoCommand(opts)));
  command(program, 'keygen', 'make a new random 256-bit cluster key (for --key-file)')
    .option('--out <file>', 'write it to a new file, mode 0600 (default: print it)')
    .addHelpText('after', '\nGive every agent of the site the same key: herald keygen --out /etc/herald/cluster.key')
    .action(act(async (opts: Values) => (await import('./keygen-command.js')).runKeygenCommand(opts)));
  command(program, 'completion', 'print a shell completion script')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash']))
    .action(
      act(async () => {
        const { bashCompletion } = await import('./completion.js');
        process.stdout.write(bashCompletion(program));
        return EXIT.ok;
      }),
    );
  return program;
}

/** Makes a command's task a commander action that records the exit code the task returns. */
type Act = <A extends unknown[]>(task: (...args: A) => Promise<number>) => (...args: A) => Promise<void>;

/** A subcommand whose parse errors name it: "herald agent: unknown option '--x' (see herald agent --help)". */
function command(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .configureOutput({
      outputError: (text, write) => write(`herald ${name}: ${text.replace(/^error: /, '').trimEnd()}\n`),
      writeErr: writeError,
    })
    .showHelpAfterError(`(see herald ${name} --help)`);
}

/** Parse errors and the help after them: under journald, at error priority (see util/journald.ts). */
const writeError = (text: string) => void process.stderr.write(errorText(text));

/** A boolean with its --no- form; the negation is listed once, in the flag's own help line. */
function addBoolean(cmd: Command, flag: string, help: string): void {
  cmd.addOption(new Option(`--${flag}`, `${help}; --no-${flag} turns it off`));
  cmd.addOption(new Option(`--no-${flag}`).hideHelp());
}

const PLACEHOLDER: Partial<Record<OptionSpec['kind'], string>> = {
  name: 'name',
  port: 'port',
  hostport: 'host:port',
  group: 'group:port',
  'duration-ms': 'ms',
  enum: 'value',
  url: 'url',
  names: 'sites',
  topic: 'topic',
  seconds: 'seconds',
};

function placeholder(spec: OptionSpec): string {
  if (spec.flag.endsWith('-file') || ['mqtt-ca', 'mqtt-cert', 'mqtt-key'].includes(spec.flag)) return 'file';
  if (spec.flag === 'profiles' || spec.flag === 'state-dir') return 'dir';
  if (spec.flag === 'interface') return 'iface';
  if (spec.flag === 'api-socket') return 'path';
  return PLACEHOLDER[spec.kind] ?? 'value';
}

function addAgentCommand(program: Command, act: Act): void {
  const agent = command(program, 'agent', "run the agent: advertise this host's device profiles, keep the directory")
    .option('--config <file>', 'YAML config file [env HERALD_CONFIG]')
    .option('--print-config', 'print the configuration the flags, environment and file make, as JSON, and exit')
    .addHelpText(
      'after',
      '\nEach option is also a config file key and an environment variable; flags beat the environment,\n' +
        'which beats the file. SIGHUP reloads the config file, the key file and the profiles.',
    );
  for (const spec of AGENT_OPTIONS) {
    if (spec.kind === 'bool') addBoolean(agent, spec.flag, `${spec.help} [env ${spec.env}]`);
    else agent.option(`--${spec.flag} <${placeholder(spec)}>`, `${spec.help} [env ${spec.env}]`);
  }
  agent.action(
    act(async (opts: Values) => {
      const flags = Object.fromEntries(
        AGENT_OPTIONS.map((s) => [s.flag, opts[new Option(`--${s.flag}`).attributeName()]]),
      );
      const configFile = (opts.config as string | undefined) ?? process.env.HERALD_CONFIG;
      if (opts.printConfig === true) return (await import('./agent-command.js')).printConfig(flags, configFile);
      // The sd_notify helper first, so that its start overlaps the agent's loading (see notify.ts).
      const notifier = (await import('../systemd/notify.js')).createNotifier(process.env);
      return (await import('./agent-command.js')).runAgentCommand(flags, configFile, notifier);
    }),
  );
}

function addApiOptions(cmd: Command): Command {
  return cmd
    .option('--api <host:port>', "the agent's local API (default: 127.0.0.1:7755) [env HERALD_API]")
    .option('--token-file <file>', "the API's bearer token, when it has one [env HERALD_API_TOKEN_FILE]");
}

function addQueryCommands(program: Command, act: Act): void {
  const ls = addApiOptions(command(program, 'ls', 'list the devices a running agent knows'))
    .option('--agent <name>', 'devices of this agent')
    .option('--capability <id>', 'a capability id or type (e.g. temperature)')
    .option('--kind <kind>', 'property | action | event | stream | service')
    .option('--tag <tag>', 'devices with this tag')
    .option('--name <prefix>', 'a global-name prefix (e.g. greenhouse)')
    .option('--site <site>', 'devices of this site')
    .addOption(new Option('--health <state>', 'devices in this health state').choices(HEALTH_STATES));
  addBoolean(ls, 'include-lost', 'also devices of agents currently lost');
  addBoolean(ls, 'json', "the API's JSON instead of a table");
  ls.action(act(async (opts: Values) => (await import('./query-commands.js')).runLsCommand(opts)));

  addApiOptions(command(program, 'get', 'show one device as JSON'))
    .argument('<agent/device>', 'e.g. pi-greenhouse/greenhouse-climate')
    .action(
      act(async (target: string, opts: Values) => (await import('./query-commands.js')).runGetCommand(target, opts)),
    );

  const watch = addApiOptions(
    command(program, 'watch', 'follow directory changes as they happen; reconnects and resumes by itself'),
  );
  watch
    .option('--agent <name>', "only this agent's changes")
    .option('--capability <id>', 'only devices with this capability id or type')
    .option('--kind <kind>', 'only devices with a capability of this kind')
    .option('--tag <tag>', 'only devices with this tag')
    .option('--site <site>', 'only devices of this site')
    .option('--index <index>', 'start after this index (X-Herald-Index of a list), not now');
  addBoolean(watch, 'json', 'one JSON object per event instead of a line');
  watch.action(act(async (opts: Values) => (await import('./watch-command.js')).runWatchCommand(opts)));

  addApiOptions(command(program, 'forget', 'retire a lost or left agent now: directory, MQTT and Home Assistant'))
    .argument('<agent>', 'the agent name, as in herald ls')
    .action(
      act(async (agent: string, opts: Values) => (await import('./forget-command.js')).runForgetCommand(agent, opts)),
    );
}

/** Registration: a program (or a person) binds and unbinds this host's devices at run time. */
function addRegistrationCommands(program: Command, act: Act): void {
  const load = () => import('./registration-commands.js');
  addApiOptions(command(program, 'register', 'register a device (profile format, YAML or JSON) with this host'))
    .argument('<file>', "the device, or a list of devices; '-' reads standard input")
    .option('--ttl <duration>', "withdrawn unless renewed within this long, e.g. 30s (see 'herald renew')")
    .option('--persist', 'keep the registration across agent restarts')
    .action(act(async (file: string, opts: Values) => (await load()).runRegisterCommand(file, opts)));
  addApiOptions(command(program, 'withdraw', 'withdraw registered devices from the site'))
    .argument('<id...>', 'device ids')
    .action(act(async (ids: string[], opts: Values) => (await load()).runWithdrawCommand(ids, opts)));
  addApiOptions(command(program, 'renew', "renew a registration's TTL"))
    .argument('<id>', 'device id')
    .action(act(async (id: string, opts: Values) => (await load()).runRenewCommand(id, opts)));
  addApiOptions(command(program, 'health', "report the result of a device's ttl check"))
    .argument('<id>', 'device id')
    .addArgument(new Argument('<result>', 'the result').choices(['pass', 'warn', 'fail']))
    .option('--note <text>', 'what the registrant saw, shown with the state')
    .option('--check <id>', 'which ttl check, when the device has several')
    .action(act(async (id: string, result: string, opts: Values) => (await load()).runHealthCommand(id, result, opts)));
}
