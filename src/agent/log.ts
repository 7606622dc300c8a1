// JSON-lines logging for the agent: one object per line on stderr, {time, level, msg, ...fields}.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log records go; injectable for tests. */
export type LogSink = (line: string) => void;

/** A leveled JSON-lines logger. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether records at `level` are written; lets callers skip building fields (absent = yes). */
  enabled?(level: LogLevel): boolean;
}

/** Make a logger that drops records below `level` and writes the rest to `sink` (default stderr). */
export function jsonLogger(level: LogLevel = 'info', sink: LogSink = (l) => void process.stderr.write(l)): Logger {
  const at = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < RANK[level]) return;
    sink(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields })}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), enabled: (lvl) => RANK[lvl] >= RANK[level] };
}
