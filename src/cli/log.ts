// The long-running commands' logger: pino, one event per line. Where the lines go to a terminal
// they are rendered by pino-pretty (time, level, message, then the fields), for the person
// watching; anywhere else (a Pod's log, a pipe, a file) they stay JSON, for the log pipeline.
// MODELCHAIN_LOG_FORMAT=json|pretty overrides what the terminal test decides.
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import { CliInputError } from "./output.ts";

export type LogFormat = "json" | "pretty";

/** The format for a stream: the environment's choice, else pretty on a terminal only. */
export function logFormat(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): LogFormat {
  const chosen = env["MODELCHAIN_LOG_FORMAT"];
  if (chosen === undefined || chosen === "") return isTTY ? "pretty" : "json";
  if (chosen === "json" || chosen === "pretty") return chosen;
  throw new CliInputError(`MODELCHAIN_LOG_FORMAT=${JSON.stringify(chosen)}: expected "json" or "pretty"`);
}

/** A logger named `name` writing to fd 1 or 2, in the format logFormat picks for it. */
export function processLogger(name: string, fd: 1 | 2 = 1): Logger {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (logFormat(stream.isTTY) === "json") return pino({ name }, pino.destination({ fd, sync: true }));
  return pino(
    { name },
    pretty({
      destination: fd,
      sync: true,
      colorize: stream.isTTY,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,name",
      singleLine: true,
    }),
  );
}
