import type { Command } from 'commander';

/**
 * A bash completion script made from the program itself, so that it never lags behind a new flag:
 * commands at the first word, that command's flags after it, file names otherwise.
 */
export function bashCompletion(program: Command): string {
  const commands = program.commands.map((c) => c.name());
  const cases = program.commands.map((c) => {
    const flags = c.options.map((o) => o.long).filter((f): f is string => f !== undefined);
    const words = c.registeredArguments.flatMap((a) => a.argChoices ?? []);
    return `    ${c.name()}) opts="${[...flags, '--help', ...words].join(' ')}" ;;`;
  });
  return `# bash completion for herald. Load it with:  source <(herald completion bash)
# or install it with:  herald completion bash | sudo tee /etc/bash_completion.d/herald
_herald() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.join(' ')} --help --version" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* || "\${COMP_WORDS[1]}" == completion ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  fi
}
complete -o default -F _herald herald
`;
}
