// The logger: pino, written as plain lines for people (journal priority prefixes under systemd).
import { Writable } from 'node:stream';
import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  level: 'debug' | 'info' | 'warn' | 'error';
  /** stdout is the systemd journal: prefix lines with <N> so the journal records the priority. */
  journal: boolean;
  out: NodeJS.WritableStream;
}

const JOURNAL_PRIORITY: Record<number, string> = { 10: '<7>', 20: '<7>', 30: '<6>', 40: '<4>', 50: '<3>', 60: '<2>' };
const LABEL: Record<number, string> = { 10: 'trace', 20: 'debug', 30: '', 40: 'warning: ', 50: 'error: ', 60: 'fatal: ' };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** Turns one pino JSON record into one human line. */
export function formatRecord(record: Record<string, unknown>, journal: boolean): string {
  const level = Number(record.level);
  const extras = Object.entries(record)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  const text = `${String(record.msg ?? '')}${extras ? ' ' + extras : ''}`;
  const prefix = journal ? (JOURNAL_PRIORITY[level] ?? '<6>') : level === 20 ? 'debug: ' : (LABEL[level] ?? '');
  return text.split('\n').map((line) => prefix + line).join('\n') + '\n';
}

export function createLogger(options: LoggerOptions): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        try {
          options.out.write(formatRecord(JSON.parse(line) as Record<string, unknown>, options.journal));
        } catch {
          options.out.write(line + '\n');
        }
      }
      callback();
    },
  });
  return pino({ level: options.level, base: undefined, timestamp: false }, sink);
}
