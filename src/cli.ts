import { version } from "../package.json";

/** What `kicks [command]` was asked to do; `serve` when nothing is named, as `bun src/index.ts` always did. */
export type Command = "serve" | "migrate" | "version" | "help";

export const VERSION_LINE = `kicks ${version} (bun ${Bun.version})`;

export const USAGE = `Usage: kicks [command]

Commands:
  serve       apply the migrations, then serve HTTP until SIGTERM (the default)
  migrate     apply the migrations and exit
  --version   print the version and exit
  --help      print this help and exit

Configuration comes from environment variables (and a .env file in the working directory);
see .env.example. The migrations and the /docs assets are built in.`;

const COMMANDS = new Map<string, Command>([
  ["serve", "serve"],
  ["migrate", "migrate"],
  ["--version", "version"],
  ["-v", "version"],
  ["version", "version"],
  ["--help", "help"],
  ["-h", "help"],
  ["help", "help"],
]);

export function parseCommand(args: readonly string[]): Command | { error: string } {
  if (args.length === 0) return "serve";
  const [name, ...extra] = args as [string, ...string[]];
  const command = COMMANDS.get(name);
  if (!command) return { error: `unknown command "${name}"` };
  if (extra.length > 0) return { error: `"${name}" takes no arguments (got ${extra.join(" ")})` };
  return command;
}
