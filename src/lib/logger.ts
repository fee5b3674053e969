// Logger factory: pino JSON lines on stdout; child loggers per subsystem.
import { pino, destination, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Write somewhere other than stdout (tests). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      // never log secrets, whatever object a caller passes
      redact: { paths: ['password', '*.password', '*.*.password', 'key', '*.key', 'secret', '*.secret'], censor: '[redacted]' },
    },
    opts.destination ?? destination({ dest: 1, sync: false }),
  );
}

/** A logger that discards everything (tests, libraries used standalone). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
