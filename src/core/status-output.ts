// What status prints: the Nagios/Icinga first line with perfdata, a short table for people, and one JSON document with the same facts.
import { durationWords, relativeAge, shortAge } from './age';
import type { LastRun } from './run-state';
import { type DestinationStatus, type Finding, type LevelValue, type Newest, type Side, type Thresholds, type TreeStatus, bySeverity, LEVEL_NAMES } from './status';
import type { ReceivedStatus } from './status-received';

export interface PerfDatum {
  label: string;
  value: number;
  /** 's' for seconds, '' for a count. */
  uom: 's' | '';
  warn?: number;
  crit?: number;
}

export interface Report {
  exitCode: LevelValue;
  /** The plugin's first line: `CYBER-ZFS-BACKUP LEVEL - summary | perfdata`. */
  firstLine: string;
  /** The table, one string a line (Nagios shows it as the long output). */
  table: string[];
  /** The same facts for scripts, ages in seconds. */
  json: Record<string, unknown>;
}

/** A perfdata label, quoted when it holds a space, quote or "=" (a quote is doubled inside). */
export function perfLabel(label: string): string {
  return /[\s'=]/.test(label) ? `'${label.replace(/'/g, "''")}'` : label;
}

export function perfdata(data: readonly PerfDatum[]): string {
  return data
    .map((d) => {
      const thresholds = d.warn === undefined && d.crit === undefined ? '' : `;${d.warn ?? ''};${d.crit ?? ''}`;
      return `${perfLabel(d.label)}=${d.value}${d.uom}${thresholds}`;
    })
    .join(' ');
}

/** The first line; "|" and line breaks in the summary would cut it, so they become "/" and spaces. */
export function nagiosLine(level: LevelValue, summary: string, data: readonly PerfDatum[]): string {
  const text = summary.replace(/\|/g, '/').replace(/\s*\n\s*/g, ' ');
  const perf = perfdata(data);
  return `CYBER-ZFS-BACKUP ${LEVEL_NAMES[level]} - ${text}${perf === '' ? '' : ` | ${perf}`}`;
}

/** The findings that explain the level, worst first; when all is well, what is well. */
export function summarize(findings: readonly Finding[]): string {
  const bad = findings.filter((f) => f.level !== 0).sort((a, b) => bySeverity(a.level, b.level));
  return (bad.length > 0 ? bad : findings).map((f) => f.text).join('; ');
}

const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function newestWords(newest: Newest | undefined, now: number): string {
  return newest ? `@${newest.name} (${relativeAge(newest.time, now)})` : 'no snapshot of ours';
}

function sideWords(side: Side, now: number): string {
  return `${newestWords(side.newest, now)}, ${plural(side.snapshots, 'snapshot')}, ${plural(side.datasets, 'dataset')}`;
}

const size = (bytes: number) => (bytes < 1048576 ? plural(bytes, 'byte') : `${(bytes / 1048576).toFixed(1)} MiB`);

function newestJson(newest: Newest | undefined): Record<string, unknown> | null {
  return newest ? { name: newest.name, time: iso(newest.time), ageSeconds: newest.ageSeconds } : null;
}

function sideJson(side: Side | undefined): Record<string, unknown> | null {
  return side ? { snapshots: side.snapshots, datasets: side.datasets, newest: newestJson(side.newest) } : null;
}

const findingsJson = (findings: readonly Finding[]) => findings.map((f) => ({ status: LEVEL_NAMES[f.level], text: f.text }));

/** What both JSON documents start with: the verdict, when, what was judged and by which thresholds. */
function jsonHead(status: { level: LevelValue; now: number; dataset: string; thresholds: Thresholds; findings: readonly Finding[] }, summary: string): Record<string, unknown> {
  return {
    status: LEVEL_NAMES[status.level],
    exitCode: status.level,
    summary,
    now: iso(status.now),
    dataset: status.dataset,
    thresholds: status.thresholds,
    findings: findingsJson(status.findings),
  };
}

function row(name: string, value: string): string {
  return `  ${name.padEnd(17)} ${value}`;
}

function lastRunWords(run: LastRun, now: number): string {
  const ended = Date.parse(run.endedAt);
  const seconds = Math.round((ended - Date.parse(run.startedAt)) / 1000);
  return `${run.endedAt} (${relativeAge(ended, now)}): exit ${run.exitCode}, ${run.actions.join('+')}, ${size(run.bytes)} pushed, ${seconds} s${run.error ? ` — ${run.error}` : ''}`;
}

function holdWords(d: DestinationStatus): string {
  const h = d.baseHold;
  switch (h.state) {
    case 'on-newest':
      return `on @${h.snapshot}, the offsite newest`;
    case 'held':
      return `@${h.snapshot}, the offsite newest, is held (zfs-fuse cannot name the tag)`;
    case 'other-holds':
      return `not on the offsite newest @${h.snapshot} (it has other holds: ${h.tags.join(', ')})`;
    case 'missing':
      return `not on the offsite newest @${h.snapshot}`;
    case 'not-here':
      return `none: the offsite newest @${h.snapshot} is not on this host`;
    case 'unknown':
      return 'unknown';
  }
}

function destinationLabel(d: { sshDestination: string; receiveDataset: string }): string {
  return `${d.sshDestination}:${d.receiveDataset}`;
}

function destinationTable(d: DestinationStatus, now: number): string[] {
  const lines = [`${destinationLabel(d)}${d.receiver ? ` (${d.receiver === 'serve' ? 'serve' : 'shell login'})` : ''}: ${LEVEL_NAMES[d.level]}`];
  if (d.error) lines.push(row('probe', `failed with exit ${d.error.exitCode} (below)`));
  if (d.offsite) lines.push(row('offsite newest', sideWords(d.offsite, now)));
  if (d.lag) {
    const behind = `${plural(d.lag.snapshots, 'snapshot')}${d.lag.seconds === undefined ? '' : `, ${durationWords(d.lag.seconds)}`} behind`;
    lines.push(row('lag', d.lag.snapshots === 0 ? 'none: the offsite copy has the newest snapshot of this host' : behind));
  }
  if (d.baseHold.state !== 'unknown') lines.push(row('base hold', holdWords(d)));
  if (d.missingOffsite.length > 0) lines.push(row('missing offsite', d.missingOffsite.join(', ')));
  if (d.missingLocal.length > 0) lines.push(row('gone here', `${d.missingLocal.join(', ')} (the next push removes them there)`));
  if (d.partialReceives.length > 0) lines.push(row('partial receive', d.partialReceives.map((r) => (r === '' ? d.receiveDataset : `${d.receiveDataset}/${r}`)).join(', ')));
  if (d.lastPush) {
    const p = d.lastPush;
    const what = p.kind ? `${p.kind}${p.target ? ` to @${p.target}` : ''}, ${size(p.bytes)} in ${p.seconds.toFixed(1)} s` : 'nothing sent';
    lines.push(row('last push', `${p.endedAt}: exit ${p.exitCode}, ${what}${p.error ? ` — ${p.error}` : ''}`));
    lines.push(row('last success', p.lastSuccessAt ? `${p.lastSuccessAt} (${relativeAge(Date.parse(p.lastSuccessAt), now)})` : 'none recorded'));
  }
  for (const f of d.findings) lines.push(row(LEVEL_NAMES[f.level], f.text));
  return lines;
}

/** The report of one tree as the sending host sees it. */
export function treeReport(status: TreeStatus): Report {
  const several = status.destinations.length > 1;
  const findings = [...status.findings, ...status.destinations.flatMap((d) => d.findings.map((f) => (several ? { ...f, text: `${destinationLabel(d)}: ${f.text}` } : f)))];
  const data: PerfDatum[] = [];
  if (status.local) {
    if (status.local.newest) data.push({ label: 'local_age', value: status.local.newest.ageSeconds, uom: 's' });
    data.push({ label: 'local_snapshots', value: status.local.snapshots, uom: '' });
  }
  for (const d of status.destinations) {
    const prefix = several ? `${destinationLabel(d)} ` : '';
    if (d.offsite?.newest) data.push({ label: `${prefix}offsite_age`, value: d.offsite.newest.ageSeconds, uom: 's', warn: status.thresholds.warningSeconds, crit: status.thresholds.criticalSeconds });
    if (d.offsite) data.push({ label: `${prefix}offsite_snapshots`, value: d.offsite.snapshots, uom: '' });
    if (d.lag) {
      if (d.lag.seconds !== undefined) data.push({ label: `${prefix}lag`, value: d.lag.seconds, uom: 's' });
      data.push({ label: `${prefix}lag_snapshots`, value: d.lag.snapshots, uom: '' });
    }
  }
  const summary = summarize(findings);
  const now = status.now;
  const table = [
    `tree ${status.dataset} at ${iso(now)}: ${LEVEL_NAMES[status.level]}`,
    row('local newest', status.local ? sideWords(status.local, now) : 'not listed'),
    row('last run', status.lastRun ? lastRunWords(status.lastRun, now) : 'none recorded on this host'),
    ...status.findings.map((f) => row(LEVEL_NAMES[f.level], f.text)),
    ...status.destinations.flatMap((d) => destinationTable(d, now)),
  ];
  const json = {
    ...jsonHead(status, summary),
    local: sideJson(status.local),
    lastRun: status.lastRun ? { ...status.lastRun, ageSeconds: Math.floor((now - Date.parse(status.lastRun.endedAt)) / 1000) } : null,
    destinations: status.destinations.map((d) => ({
      sshDestination: d.sshDestination,
      receiveDataset: d.receiveDataset,
      status: LEVEL_NAMES[d.level],
      findings: findingsJson(d.findings),
      receiver: d.receiver ?? null,
      error: d.error ?? null,
      offsite: sideJson(d.offsite),
      lag: d.lag ? { snapshots: d.lag.snapshots, seconds: d.lag.seconds ?? null } : null,
      baseHold: d.baseHold,
      missingOffsite: d.missingOffsite,
      missingLocal: d.missingLocal,
      partialReceives: d.partialReceives,
      lastPush: d.lastPush ?? null,
    })),
  };
  return { exitCode: status.level, firstLine: nagiosLine(status.level, summary, data), table, json };
}

/** The report of every received tree below a dataset on the offsite host. */
export function receivedReport(status: ReceivedStatus): Report {
  const label = (dataset: string) => (dataset.startsWith(`${status.dataset}/`) ? dataset.slice(status.dataset.length + 1) : dataset);
  const findings = [...status.findings, ...status.trees.flatMap((t) => t.findings.map((f) => ({ ...f, text: `${label(t.dataset)}: ${f.text}` })))];
  let summary = summarize(findings);
  if (status.level === 0 && status.trees.length > 0) {
    // Every tree is OK, so every one has a newest snapshot; the list is oldest first among equals.
    const stalest = status.trees[0];
    const age = stalest?.side.newest ? shortAge(Math.max(0, stalest.side.newest.ageSeconds)) : '?';
    summary = `${plural(status.trees.length, 'received tree')} below ${status.dataset}, all current; the stalest, ${label(stalest?.dataset ?? '')}, is ${age} old`;
  }
  const data: PerfDatum[] = status.trees.flatMap((t) => (t.side.newest ? [{ label: label(t.dataset), value: t.side.newest.ageSeconds, uom: 's' as const, warn: status.thresholds.warningSeconds, crit: status.thresholds.criticalSeconds }] : []));
  const now = status.now;
  const width = Math.max(4, ...status.trees.map((t) => t.dataset.length));
  const table = [
    `received trees below ${status.dataset} at ${iso(now)}, worst first: ${LEVEL_NAMES[status.level]}`,
    ...status.findings.map((f) => row(LEVEL_NAMES[f.level], f.text)),
    ...(status.trees.length > 0 ? [`${'STATUS'.padEnd(9)} ${'TREE'.padEnd(width)}  NEWEST`] : []),
    ...status.trees.map((t) => {
      const partial = t.partialReceives.length > 0 ? `; partial receive in ${t.partialReceives.join(', ')}` : '';
      return `${LEVEL_NAMES[t.level].padEnd(9)} ${t.dataset.padEnd(width)}  ${sideWords(t.side, now)}${partial}`;
    }),
  ];
  const json = {
    ...jsonHead(status, summary),
    trees: status.trees.map((t) => ({
      dataset: t.dataset,
      status: LEVEL_NAMES[t.level],
      findings: findingsJson(t.findings),
      snapshots: t.side.snapshots,
      datasets: t.side.datasets,
      newest: newestJson(t.side.newest),
      partialReceives: t.partialReceives,
    })),
  };
  return { exitCode: status.level, firstLine: nagiosLine(status.level, summary, data), table, json };
}
