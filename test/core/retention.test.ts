// Tests planRetention (src/core/retention.ts): multi-rotation (days/weeks/months/yearly) snapshot expiry, with hand-derived expectations.
//
// How expectations were obtained: every keep list below was worked out by hand from the rule
//   "sort newest first; always keep the newest; walk older ones; keep a snapshot when its UTC day
//    differs from the LAST KEPT one while days remain (each keep uses one day); then likewise for
//    ISO weeks (Monday start, week-year + week number) while weeks remain; then months (year+month)
//    while months remain; after that keep one per calendar year forever. The newest does not use a day."
// Calendar facts used (weekday, ISO week) were checked with `date -u -d ... '+%a %G-W%V'`.
// The code under test is never used to produce an expectation.
//
// Snapshot names are fixed-width ISO-8601 UTC strings, so lexicographic order == chronological order;
// "newest first" is therefore just a descending string sort in these tests.

// Run the whole file in a far-from-UTC local zone (UTC+14) so that any accidental use of local time
// (instead of UTC) for day/week/month/year boundaries shows up. ava runs each test file in its own
// process, so this does not leak into other test files. Node re-reads TZ when it is assigned.
process.env.TZ = 'Pacific/Kiritimati';

import test from 'ava';
import { planRetention, type RetentionPolicy } from '../../src/core/retention';

// ---------------------------------------------------------------------------------------------
// Small helpers (pure formatting / shuffling / date arithmetic — no retention logic in here)
// ---------------------------------------------------------------------------------------------

const DEFAULT: RetentionPolicy = { days: 31, weeks: 12, months: 36 };
const P7_4_12: RetentionPolicy = { days: 7, weeks: 4, months: 12 };
const P0_0_0: RetentionPolicy = { days: 0, weeks: 0, months: 0 };
const P1_0_0: RetentionPolicy = { days: 1, weeks: 0, months: 0 };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Epoch milliseconds -> snapshot name `YYYY-MM-DDTHH:MM:SSZ`. */
function nameOf(ms: number): string {
	return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/** Build a name from UTC parts; month is 1-based; Date.UTC normalises overflow (e.g. day 0 = last day of previous month). */
function at(y: number, m: number, d: number, hh = 0, mm = 0, ss = 0): string {
	return nameOf(Date.UTC(y, m - 1, d, hh, mm, ss));
}

function newestFirst(names: readonly string[]): string[] {
	return [...names].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** Deterministic PRNG (mulberry32) so failures are reproducible. */
function rng(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (s + 0x6d2b79f5) >>> 0;
		let t = s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
	const out = [...items];
	const r = rng(seed);
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(r() * (i + 1));
		[out[i], out[j]] = [out[j] as T, out[i] as T];
	}
	return out;
}

/** The given list, its reverse (oldest first) and two shuffles: the plan must not depend on input order. */
function orderings(names: readonly string[]): Array<{ label: string; names: string[] }> {
	return [
		{ label: 'as written', names: [...names] },
		{ label: 'reversed', names: [...names].reverse() },
		{ label: 'shuffle#1', names: shuffled(names, 1) },
		{ label: 'shuffle#2', names: shuffled(names, 0xbeef) },
	];
}

/** Expected destroy list = input minus keep, newest first. */
function complement(input: readonly string[], keep: readonly string[]): string[] {
	const k = new Set(keep);
	return newestFirst(input.filter((n) => !k.has(n)));
}

// Calendar keys used only by the invariant tests' independent characterisations.
const utcDay = (n: string): string => n.slice(0, 10);
const utcMonth = (n: string): string => n.slice(0, 7);
const utcYear = (n: string): string => n.slice(0, 4);
/** Two instants are in the same ISO week iff they share the Monday (UTC) that starts their week. */
function isoWeekMonday(n: string): string {
	const d = new Date(n);
	const back = (d.getUTCDay() + 6) % 7; // Mon->0 ... Sun->6
	return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - back)).toISOString().slice(0, 10);
}
/** For each key, the newest name with that key; result newest first. */
function latestPer(names: readonly string[], key: (n: string) => string): string[] {
	const best = new Map<string, string>();
	for (const n of names) {
		const k = key(n);
		const cur = best.get(k);
		if (cur === undefined || n > cur) best.set(k, n);
	}
	return newestFirst([...best.values()]);
}

// ---------------------------------------------------------------------------------------------
// Hand-worked table cases
// ---------------------------------------------------------------------------------------------

interface Case {
	title: string;
	policy: RetentionPolicy;
	/** written newest first for readability; also tested reversed and shuffled */
	input: string[];
	/** expected keep list, newest first */
	keep: string[];
}

const cases: Case[] = [
	// Nothing to plan: both lists empty.
	{ title: 'empty input', policy: DEFAULT, input: [], keep: [] },

	// The newest is always kept; with one snapshot it is the only one.
	{ title: 'single snapshot (default policy)', policy: DEFAULT, input: ['2024-03-10T12:00:00Z'], keep: ['2024-03-10T12:00:00Z'] },

	// Same with 0 0 0: the newest is kept unconditionally, policy is irrelevant.
	{ title: 'single snapshot (0 0 0)', policy: P0_0_0, input: ['2024-03-10T12:00:00Z'], keep: ['2024-03-10T12:00:00Z'] },

	// All on 2024-03-10: newest (23:00) kept; every older one has the same UTC day as the last kept one,
	// so the day phase never keeps anything and no other phase is reached. Only the newest survives.
	// (Several of these hours are already 2024-03-11 in local UTC+14 time — must still count as one UTC day.)
	{
		title: 'all snapshots on one UTC day (default policy)',
		policy: DEFAULT,
		input: ['2024-03-10T23:00:00Z', '2024-03-10T18:30:00Z', '2024-03-10T12:00:00Z', '2024-03-10T09:59:59Z', '2024-03-10T00:00:00Z'],
		keep: ['2024-03-10T23:00:00Z'],
	},

	// Same day, 0 0 0: newest kept; yearly phase compares calendar years: all 2024 = newest's year -> destroyed.
	{
		title: 'all snapshots on one UTC day (0 0 0)',
		policy: P0_0_0,
		input: ['2024-03-10T23:00:00Z', '2024-03-10T12:00:00Z', '2024-03-10T00:00:00Z'],
		keep: ['2024-03-10T23:00:00Z'],
	},

	// Several a day, policy 7 4 12. Newest 03-10T23 kept. 03-10T12/T00: same day as last kept -> destroy.
	// 03-09T23: new day -> keep (days 7->6); 03-09T12/T00 same day as 03-09T23 -> destroy.
	// 03-08T18: new day -> keep (6->5); 03-08T06 -> destroy. So each day keeps its LATEST snapshot.
	{
		title: 'several snapshots a day: the latest of each day is kept',
		policy: P7_4_12,
		input: [
			'2024-03-10T23:00:00Z', '2024-03-10T12:00:00Z', '2024-03-10T00:00:00Z',
			'2024-03-09T23:00:00Z', '2024-03-09T12:00:00Z', '2024-03-09T00:00:00Z',
			'2024-03-08T18:00:00Z', '2024-03-08T06:00:00Z',
		],
		keep: ['2024-03-10T23:00:00Z', '2024-03-09T23:00:00Z', '2024-03-08T18:00:00Z'],
	},

	// Policy 0 0 0: newest, then one per calendar year. Newest 2024-06-15 kept; 2024-03-01 same year -> destroy;
	// 2023-12-31T23 year 2023 -> keep; 2023-01-01 -> destroy; 2022-07-04 -> keep; 2020-02-29 (2021 missing) -> keep.
	{
		title: 'policy 0 0 0: newest then one per calendar year (with a missing year)',
		policy: P0_0_0,
		input: [
			'2024-06-15T12:00:00Z', '2024-03-01T00:00:00Z',
			'2023-12-31T23:00:00Z', '2023-01-01T00:00:00Z',
			'2022-07-04T10:00:00Z',
			'2020-02-29T05:00:00Z',
		],
		keep: ['2024-06-15T12:00:00Z', '2023-12-31T23:00:00Z', '2022-07-04T10:00:00Z', '2020-02-29T05:00:00Z'],
	},

	// Policy 1 0 0. Newest 2024-01-02T10 kept WITHOUT using the day. 01-02T08 same day -> destroy.
	// 2024-01-01T20 new day -> keep, days 1->0. Now yearly (weeks=months=0), last kept year 2024:
	// 2024-01-01T05 same year -> destroy; 2023-12-31T23 -> keep; 2023-12-31T01, 2023-06-01 -> destroy;
	// 2022-12-31T23:59:59 -> keep.
	{
		title: 'policy 1 0 0: newest + one more day, then yearly',
		policy: P1_0_0,
		input: [
			'2024-01-02T10:00:00Z', '2024-01-02T08:00:00Z',
			'2024-01-01T20:00:00Z', '2024-01-01T05:00:00Z',
			'2023-12-31T23:00:00Z', '2023-12-31T01:00:00Z', '2023-06-01T00:00:00Z',
			'2022-12-31T23:59:59Z',
		],
		keep: ['2024-01-02T10:00:00Z', '2024-01-01T20:00:00Z', '2023-12-31T23:00:00Z', '2022-12-31T23:59:59Z'],
	},

	// Year boundaries in the yearly phase (0 0 0), one second apart. Newest 2021-01-01T00:00:00 kept;
	// 2020-12-31T23:59:59 is year 2020 -> keep; 2020-01-01T00:00:00 same year -> destroy;
	// 2019-12-31T23:59:59 year 2019 -> keep.
	{
		title: 'yearly phase: year boundary to the second',
		policy: P0_0_0,
		input: ['2021-01-01T00:00:00Z', '2020-12-31T23:59:59Z', '2020-01-01T00:00:00Z', '2019-12-31T23:59:59Z'],
		keep: ['2021-01-01T00:00:00Z', '2020-12-31T23:59:59Z', '2019-12-31T23:59:59Z'],
	},

	// Day boundary to the second, policy 2 0 0. Newest 2023-01-01T00:00:00 kept; 2022-12-31T23:59:59 new day -> keep (2->1);
	// 2022-12-31T00:00:00 same day -> destroy; 2022-12-30T23:59:59 new day -> keep (1->0);
	// yearly: 2022-12-30T00:00:01 same year as last kept (2022) -> destroy; 2021-12-31 -> keep.
	{
		title: 'day phase: midnight boundary to the second, then yearly',
		policy: { days: 2, weeks: 0, months: 0 },
		input: [
			'2023-01-01T00:00:00Z',
			'2022-12-31T23:59:59Z', '2022-12-31T00:00:00Z',
			'2022-12-30T23:59:59Z', '2022-12-30T00:00:01Z',
			'2021-12-31T00:00:00Z',
		],
		keep: ['2023-01-01T00:00:00Z', '2022-12-31T23:59:59Z', '2022-12-30T23:59:59Z', '2021-12-31T00:00:00Z'],
	},

	// Leap day in the day phase, policy 3 0 0. Newest 2024-03-01T10 kept; 02-29T22 new day -> keep (3->2);
	// 02-29T03 -> destroy; 02-28T23 -> keep (2->1); 02-27T12 -> keep (1->0);
	// yearly (last kept year 2024): 2023-12-31T12 -> keep; 2023-03-01 -> destroy.
	{
		title: 'leap day 2024-02-29 in the day phase',
		policy: { days: 3, weeks: 0, months: 0 },
		input: [
			'2024-03-01T10:00:00Z',
			'2024-02-29T22:00:00Z', '2024-02-29T03:00:00Z',
			'2024-02-28T23:00:00Z',
			'2024-02-27T12:00:00Z',
			'2023-12-31T12:00:00Z', '2023-03-01T00:00:00Z',
		],
		keep: ['2024-03-01T10:00:00Z', '2024-02-29T22:00:00Z', '2024-02-28T23:00:00Z', '2024-02-27T12:00:00Z', '2023-12-31T12:00:00Z'],
	},

	// Leap day / month ends in the month phase, policy 0 0 3. Newest 2024-03-01T00 (March) kept;
	// 2024-02-29T23:59:59 Feb -> keep (3->2); 02-29T12, 02-01 same month -> destroy;
	// 2024-01-31T23:59:59 Jan -> keep (2->1); 2023-12-31T00 Dec 2023 -> keep (1->0);
	// yearly: 2023-12-01 same year (2023) as last kept -> destroy.
	{
		title: 'month phase: Feb 29 (leap) to Mar 1, Jan 31, Dec 31',
		policy: { days: 0, weeks: 0, months: 3 },
		input: [
			'2024-03-01T00:00:00Z',
			'2024-02-29T23:59:59Z', '2024-02-29T12:00:00Z', '2024-02-01T00:00:00Z',
			'2024-01-31T23:59:59Z',
			'2023-12-31T00:00:00Z', '2023-12-01T00:00:00Z',
		],
		keep: ['2024-03-01T00:00:00Z', '2024-02-29T23:59:59Z', '2024-01-31T23:59:59Z', '2023-12-31T00:00:00Z'],
	},

	// Non-leap Feb 28 -> Mar 1, policy 0 0 1. Newest 2023-03-01T00 kept; 2023-02-28T23 Feb -> keep (1->0);
	// yearly: 2023-02-28T01 and 2023-02-01 same year 2023 -> destroy.
	{
		title: 'month phase: non-leap Feb 28 to Mar 1',
		policy: { days: 0, weeks: 0, months: 1 },
		input: ['2023-03-01T00:00:00Z', '2023-02-28T23:00:00Z', '2023-02-28T01:00:00Z', '2023-02-01T00:00:00Z'],
		keep: ['2023-03-01T00:00:00Z', '2023-02-28T23:00:00Z'],
	},

	// 31st vs 1st, policy 0 0 2. Newest 2023-08-01T00 kept; 2023-07-31T23:59:59 July -> keep (2->1);
	// 2023-07-01 same month -> destroy; 2023-06-30T23:59:59 June -> keep (1->0);
	// yearly: 2023-06-30T00 and 2023-06-01 same year 2023 -> destroy.
	{
		title: 'month phase: 31st vs 1st',
		policy: { days: 0, weeks: 0, months: 2 },
		input: [
			'2023-08-01T00:00:00Z',
			'2023-07-31T23:59:59Z', '2023-07-01T00:00:00Z',
			'2023-06-30T23:59:59Z', '2023-06-30T00:00:00Z', '2023-06-01T00:00:00Z',
		],
		keep: ['2023-08-01T00:00:00Z', '2023-07-31T23:59:59Z', '2023-06-30T23:59:59Z'],
	},

	// Month compares year AND month, policy 0 0 2. Newest 2024-05-10 kept; 2023-05-10 is May too but of 2023 -> keep (2->1);
	// 2022-05-20 -> keep (1->0); yearly: 2022-05-10 same year as last kept -> destroy; 2021-05-10 -> keep.
	{
		title: 'month phase: same month number in different years are different months',
		policy: { days: 0, weeks: 0, months: 2 },
		input: ['2024-05-10T12:00:00Z', '2023-05-10T12:00:00Z', '2022-05-20T12:00:00Z', '2022-05-10T12:00:00Z', '2021-05-10T12:00:00Z'],
		keep: ['2024-05-10T12:00:00Z', '2023-05-10T12:00:00Z', '2022-05-20T12:00:00Z', '2021-05-10T12:00:00Z'],
	},

	// Week compares week-year AND week number, policy 0 1 0. 2024-03-06 (Wed, 2024-W10) newest kept;
	// 2023-03-08 (Wed, 2023-W10: same number, other year) -> keep (1->0);
	// yearly: 2023-03-07 same year 2023 -> destroy; 2022-03-09 (2022-W10) -> keep.
	{
		title: 'week phase: same ISO week number in different years are different weeks',
		policy: { days: 0, weeks: 1, months: 0 },
		input: ['2024-03-06T12:00:00Z', '2023-03-08T12:00:00Z', '2023-03-07T12:00:00Z', '2022-03-09T12:00:00Z'],
		keep: ['2024-03-06T12:00:00Z', '2023-03-08T12:00:00Z', '2022-03-09T12:00:00Z'],
	},

	// ISO week 53 of 2020 = Mon 2020-12-28 .. Sun 2021-01-03. Policy 0 3 0 (straight into the week phase).
	// 2021-01-10T12 (Sun, 2021-W01) newest kept. 2021-01-04T00 (Mon, 2021-W01) same week -> destroy.
	// 2021-01-03T23 (Sun, 2020-W53) new week -> keep (3->2).
	// 2021-01-01T12, 2020-12-31T12, 2020-12-28T00 are all 2020-W53 -> destroy (calendar year changes
	//   inside the week, which must NOT make a new week).
	// 2020-12-27T23 (Sun, 2020-W52) -> keep (2->1); 2020-12-21T00 (Mon W52) -> destroy.
	// 2020-12-20T12 (Sun, 2020-W51) -> keep (1->0).
	// yearly (last kept year 2020): 2020-12-14 -> destroy; 2019-12-30T12 is calendar year 2019 (although ISO 2020-W01),
	//   the yearly phase uses the calendar year -> keep; 2019-06-01 -> destroy.
	{
		title: 'ISO week 53 of 2020 spanning the new year is one week',
		policy: { days: 0, weeks: 3, months: 0 },
		input: [
			'2021-01-10T12:00:00Z', '2021-01-04T00:00:00Z',
			'2021-01-03T23:00:00Z', '2021-01-01T12:00:00Z', '2020-12-31T12:00:00Z', '2020-12-28T00:00:00Z',
			'2020-12-27T23:00:00Z', '2020-12-21T00:00:00Z',
			'2020-12-20T12:00:00Z', '2020-12-14T12:00:00Z',
			'2019-12-30T12:00:00Z', '2019-06-01T00:00:00Z',
		],
		keep: ['2021-01-10T12:00:00Z', '2021-01-03T23:00:00Z', '2020-12-27T23:00:00Z', '2020-12-20T12:00:00Z', '2019-12-30T12:00:00Z'],
	},

	// ISO week 53 of 2026 = Mon 2026-12-28 .. Sun 2027-01-03; policy 1 2 0, so the week phase starts from a DAY-kept snapshot.
	// 2027-01-04T08 (Mon, 2027-W01) newest kept. 2027-01-03T20 (Sun, 2026-W53) new day -> keep (days 1->0).
	// Week phase, last kept 2027-01-03 (2026-W53): 2027-01-02, 2027-01-01, 2026-12-31T23:59:59, 2026-12-28 are all
	//   2026-W53 -> destroy (the 2027->2026 calendar change inside the week is not a new week).
	// 2026-12-27T23 (Sun, 2026-W52) -> keep (weeks 2->1); 2026-12-24 -> destroy; 2026-12-20T12 (Sun W51) -> keep (1->0).
	// yearly (last kept year 2026): 2026-12-19 -> destroy; 2025-12-29T12 (calendar 2025, ISO 2026-W01) -> keep.
	{
		title: 'ISO week 53 of 2026 spanning the new year; week phase starts from the last day-kept snapshot',
		policy: { days: 1, weeks: 2, months: 0 },
		input: [
			'2027-01-04T08:00:00Z',
			'2027-01-03T20:00:00Z', '2027-01-02T12:00:00Z', '2027-01-01T00:00:00Z', '2026-12-31T23:59:59Z', '2026-12-28T00:00:00Z',
			'2026-12-27T23:00:00Z', '2026-12-24T12:00:00Z',
			'2026-12-20T12:00:00Z', '2026-12-19T12:00:00Z',
			'2025-12-29T12:00:00Z',
		],
		keep: ['2027-01-04T08:00:00Z', '2027-01-03T20:00:00Z', '2026-12-27T23:00:00Z', '2026-12-20T12:00:00Z', '2025-12-29T12:00:00Z'],
	},

	// Gaps of several weeks, policy 7 4 12, walking through every phase.
	// Newest 2024-06-03T12 kept. Day phase (a gap does not stop it; each kept snapshot uses one day):
	//   06-02 (7->6), 06-01 (6->5), [6-week gap] 04-20 (5->4), 04-19 (4->3), [gap] 03-01 (3->2), 02-29 (2->1), 02-28 (1->0).
	// Week phase from 2024-02-28 (Wed, 2024-W09): 02-27 (W09), 02-26 (Mon W09) -> destroy;
	//   02-25T23 (Sun W08) -> keep (4->3); [6-week gap] 01-10 (W02) -> keep (3->2); 01-08 (Mon W02) -> destroy;
	//   2023-12-31 (Sun 2023-W52) -> keep (2->1); [2-month gap] 2023-11-01T12 (W44) -> keep (1->0).
	// Month phase from 2023-11-01T12 (Nov 2023): 2023-11-01T00 same month -> destroy; 2023-10-31 -> keep (12->11);
	//   [gap] 2023-07-15 -> keep (11->10); 2023-07-01 -> destroy; [18-month gap] 2022-01-01 -> keep (10->9);
	//   2021-12-31 -> keep (9->8). Input ends with months left over, so the yearly phase is never reached.
	{
		title: 'gaps of several weeks, policy 7 4 12, through days/weeks/months',
		policy: P7_4_12,
		input: [
			'2024-06-03T12:00:00Z', '2024-06-02T12:00:00Z', '2024-06-01T12:00:00Z',
			'2024-04-20T12:00:00Z', '2024-04-19T12:00:00Z',
			'2024-03-01T12:00:00Z', '2024-02-29T12:00:00Z', '2024-02-28T12:00:00Z',
			'2024-02-27T12:00:00Z', '2024-02-26T00:00:00Z', '2024-02-25T23:00:00Z',
			'2024-01-10T12:00:00Z', '2024-01-08T00:00:00Z',
			'2023-12-31T12:00:00Z',
			'2023-11-01T12:00:00Z', '2023-11-01T00:00:00Z', '2023-10-31T12:00:00Z',
			'2023-07-15T12:00:00Z', '2023-07-01T12:00:00Z',
			'2022-01-01T12:00:00Z', '2021-12-31T12:00:00Z',
		],
		keep: [
			'2024-06-03T12:00:00Z', '2024-06-02T12:00:00Z', '2024-06-01T12:00:00Z',
			'2024-04-20T12:00:00Z', '2024-04-19T12:00:00Z',
			'2024-03-01T12:00:00Z', '2024-02-29T12:00:00Z', '2024-02-28T12:00:00Z',
			'2024-02-25T23:00:00Z', '2024-01-10T12:00:00Z', '2023-12-31T12:00:00Z', '2023-11-01T12:00:00Z',
			'2023-10-31T12:00:00Z', '2023-07-15T12:00:00Z', '2022-01-01T12:00:00Z', '2021-12-31T12:00:00Z',
		],
	},

	// Default policy 31 12 36 with a long gap right after the newest: the gap does not consume days.
	// Newest 2024-06-30 kept; then 2024-01-15, 2023-06-15, 2020-02-29 are each on a new day -> all kept by the
	// day phase (31->28). 2020-02-29T01 same day as 2020-02-29T12 -> destroy.
	{
		title: 'default policy: sparse history, everything on distinct days is kept by the day phase',
		policy: DEFAULT,
		input: ['2024-06-30T12:00:00Z', '2024-01-15T12:00:00Z', '2023-06-15T12:00:00Z', '2020-02-29T12:00:00Z', '2020-02-29T01:00:00Z'],
		keep: ['2024-06-30T12:00:00Z', '2024-01-15T12:00:00Z', '2023-06-15T12:00:00Z', '2020-02-29T12:00:00Z'],
	},
];

for (const c of cases) {
	test(`case: ${c.title}`, (t) => {
		const expectedDestroy = complement(c.input, c.keep);
		for (const o of orderings(c.input)) {
			const plan = planRetention(o.names, c.policy);
			t.deepEqual(plan.keep, c.keep, `keep (${o.label})`);
			t.deepEqual(plan.destroy, expectedDestroy, `destroy (${o.label})`);
		}
	});
}

// ---------------------------------------------------------------------------------------------
// Big generated histories (expected lists built with plain date arithmetic that follows the hand
// reasoning in the comments — not with the rule loop)
// ---------------------------------------------------------------------------------------------

/** Hourly snapshots on the hour, from 2022-03-15T10:00Z to 2025-03-15T09:00Z inclusive (3 years). */
function hourly3Years(): string[] {
	const out: string[] = [];
	const start = Date.UTC(2022, 2, 15, 10);
	const end = Date.UTC(2025, 2, 15, 9);
	for (let t = end; t >= start; t -= HOUR) out.push(nameOf(t));
	return out; // newest first
}

/** The 23:00 snapshot of `count` consecutive days going back from y-m-d (inclusive). */
function dailyAt(y: number, m: number, d: number, count: number, hour: number): string[] {
	return Array.from({ length: count }, (_, i) => at(y, m, d - i, hour));
}
/** The snapshot at `hour` on `count` Sundays, starting at the Sunday y-m-d and going back a week each. */
function sundaysAt(y: number, m: number, d: number, count: number, hour: number): string[] {
	return Array.from({ length: count }, (_, i) => at(y, m, d - 7 * i, hour));
}
/** The snapshot at `hour` on the last day of month y-m and of the `count - 1` months before it. */
function monthEndsAt(y: number, m: number, count: number, hour: number): string[] {
	// at(y, m + 1 - i, 0) = day 0 of the following month = last day of month (m - i), across year boundaries.
	return Array.from({ length: count }, (_, i) => at(y, m + 1 - i, 0, hour));
}

test('hourly for 3 years, default policy 31 12 36', (t) => {
	const input = hourly3Years();
	// 2022-03-15..2025-03-15 spans 3*365+1 (2024-02-29) days = 1096 days of 24 hours.
	t.is(input.length, 1096 * 24);

	// Newest 2025-03-15T09 (Sat) kept; 2025-03-15T08..00 same day -> destroyed.
	// Day phase: each older day's first-seen snapshot is its 23:00 one -> 2025-03-14T23 back to 2025-02-12T23
	//   (14 days of March + Feb 28..12 = 17 days = 31). Last day-kept: 2025-02-12 (Wed, 2025-W07 = Feb 10..16).
	// Week phase: Feb 12..10 still W07 -> destroyed; first new week is Sun 2025-02-09T23; then every Sunday at 23:00
	//   going back: Feb 9, 2, Jan 26, 19, 12, 5, Dec 29 2024, 22, 15, 8, 1, Nov 24 2024 (12).
	// Month phase from 2024-11-24 (Nov 2024): rest of November destroyed; then the last day of each month at 23:00,
	//   Oct 2024 back to Mar 2022 = 32 months (< 36, so the yearly phase is never reached);
	//   March 2022's latest is 2022-03-31T23. Everything from 2022-03-31T22 down to 2022-03-15T10 is destroyed.
	const expected = [
		'2025-03-15T09:00:00Z',
		...dailyAt(2025, 3, 14, 31, 23),
		...sundaysAt(2025, 2, 9, 12, 23),
		...monthEndsAt(2024, 10, 32, 23),
	];
	t.is(expected.length, 1 + 31 + 12 + 32);

	for (const o of [{ label: 'newest first', names: input }, { label: 'shuffled', names: shuffled(input, 42) }]) {
		const plan = planRetention(o.names, DEFAULT);
		t.is(plan.keep.length, 76, `count (${o.label})`);
		// Named landmarks, so a failure points at the phase that went wrong.
		t.is(plan.keep[0], '2025-03-15T09:00:00Z', `newest (${o.label})`);
		t.is(plan.keep[1], '2025-03-14T23:00:00Z', `first daily (${o.label})`);
		t.is(plan.keep[31], '2025-02-12T23:00:00Z', `last daily (${o.label})`);
		t.is(plan.keep[32], '2025-02-09T23:00:00Z', `first weekly (${o.label})`);
		t.is(plan.keep[38], '2024-12-29T23:00:00Z', `weekly across new year (${o.label})`);
		t.is(plan.keep[43], '2024-11-24T23:00:00Z', `last weekly (${o.label})`);
		t.is(plan.keep[44], '2024-10-31T23:00:00Z', `first monthly (${o.label})`);
		t.true(plan.keep.includes('2024-02-29T23:00:00Z'), `leap-day month end (${o.label})`);
		t.is(plan.keep[75], '2022-03-31T23:00:00Z', `last monthly (${o.label})`);
		t.deepEqual(plan.keep, expected, `full keep list (${o.label})`);
		t.deepEqual(plan.destroy, complement(input, expected), `destroy (${o.label})`);
	}
});

test('hourly for 3 years, policy 7 4 12 (reaches the yearly phase)', (t) => {
	const input = hourly3Years();
	// Newest 2025-03-15T09 kept. Days: 2025-03-14T23 .. 2025-03-08T23 (7). Last daily 2025-03-08 (Sat, W10 = Mar 3..9).
	// Weeks: Mar 7..3 are W10 -> destroyed; Sundays 2025-03-02, 02-23, 02-16, 02-09 at 23:00 (4). Last weekly in Feb 2025.
	// Months: rest of Feb 2025 destroyed; month ends Jan 2025 back to Feb 2024 (12), the last being 2024-02-29T23 (leap).
	// Yearly (last kept year 2024): 2024-02-29T22..2024-01-01 destroyed; 2023-12-31T23 kept; 2022-12-31T23 kept;
	//   everything else in 2022 destroyed.
	const expected = [
		'2025-03-15T09:00:00Z',
		...dailyAt(2025, 3, 14, 7, 23),
		...sundaysAt(2025, 3, 2, 4, 23),
		...monthEndsAt(2025, 1, 12, 23),
		'2023-12-31T23:00:00Z',
		'2022-12-31T23:00:00Z',
	];
	t.is(expected.length, 26);
	t.is(expected[23], '2024-02-29T23:00:00Z'); // sanity of the helper: 12th month end is the leap day

	const plan = planRetention(shuffled(input, 7), P7_4_12);
	t.is(plan.keep.length, 26);
	t.is(plan.keep[8], '2025-03-02T23:00:00Z', 'first weekly');
	t.is(plan.keep[12], '2025-01-31T23:00:00Z', 'first monthly');
	t.is(plan.keep[23], '2024-02-29T23:00:00Z', 'last monthly (leap day)');
	t.is(plan.keep[24], '2023-12-31T23:00:00Z', 'first yearly');
	t.deepEqual(plan.keep, expected);
	t.deepEqual(plan.destroy, complement(input, expected));
});

test('hourly for 3 years, policy 0 0 0: newest + latest of each earlier calendar year', (t) => {
	const input = hourly3Years();
	// Newest 2025-03-15T09 kept; all of 2025 destroyed; first 2024 one seen is 2024-12-31T23 -> kept; likewise 2023, 2022.
	const expected = ['2025-03-15T09:00:00Z', '2024-12-31T23:00:00Z', '2023-12-31T23:00:00Z', '2022-12-31T23:00:00Z'];
	const plan = planRetention(input, P0_0_0);
	t.deepEqual(plan.keep, expected);
	t.is(plan.destroy.length, input.length - 4);
});

test('daily at noon 2019-01-01..2024-06-30, default policy 31 12 36 (all four phases)', (t) => {
	const input: string[] = [];
	for (let ms = Date.UTC(2024, 5, 30, 12); ms >= Date.UTC(2019, 0, 1, 12); ms -= DAY) input.push(nameOf(ms));
	// Newest 2024-06-30T12 (Sun) kept.
	// Days: Jun 29 .. Jun 1 (29) + May 31, May 30 (2) = 31. Last daily 2024-05-30 (Thu, W22 = May 27..Jun 2).
	// Weeks: May 29..27 same week -> destroyed; Sundays May 26, 19, 12, 5, Apr 28, 21, 14, 7, Mar 31, 24, 17, 10 (12).
	// Months from March 2024: Mar 9..1 destroyed; month ends Feb 2024 (29th, leap) back to Mar 2021 (36).
	// Yearly from 2021-03-31 (year 2021): rest of 2021 destroyed; 2020-12-31 kept; 2019-12-31 kept; rest destroyed.
	const expected = [
		'2024-06-30T12:00:00Z',
		...dailyAt(2024, 6, 29, 31, 12),
		...sundaysAt(2024, 5, 26, 12, 12),
		...monthEndsAt(2024, 2, 36, 12),
		'2020-12-31T12:00:00Z',
		'2019-12-31T12:00:00Z',
	];
	t.is(expected.length, 82);
	t.is(expected[31], '2024-05-30T12:00:00Z');
	t.is(expected[43], '2024-03-10T12:00:00Z');
	t.is(expected[44], '2024-02-29T12:00:00Z');
	t.is(expected[79], '2021-03-31T12:00:00Z');

	const plan = planRetention(shuffled(input, 99), DEFAULT);
	t.is(plan.keep.length, 82);
	t.is(plan.keep[32], '2024-05-26T12:00:00Z', 'first weekly');
	t.is(plan.keep[44], '2024-02-29T12:00:00Z', 'first monthly (leap day)');
	t.is(plan.keep[80], '2020-12-31T12:00:00Z', 'first yearly');
	t.deepEqual(plan.keep, expected);
	t.deepEqual(plan.destroy, complement(input, expected));
});

// ---------------------------------------------------------------------------------------------
// Invariants over random inputs
// ---------------------------------------------------------------------------------------------

/** Random unique snapshot names 2018..2027, mixing uniform instants with clusters (several per day / per week). */
function randomNames(r: () => number): string[] {
	const set = new Set<string>();
	const lo = Date.UTC(2018, 0, 1);
	const hi = Date.UTC(2028, 0, 1);
	const n = Math.floor(r() * 150);
	for (let i = 0; i < n; i++) {
		const mode = r();
		if (mode < 0.4) {
			set.add(nameOf(lo + Math.floor(r() * (hi - lo) / 1000) * 1000));
		} else {
			// cluster: a base day, then a few snapshots within the next ~10 days at random seconds
			const base = lo + Math.floor(r() * ((hi - lo) / DAY)) * DAY;
			const k = 1 + Math.floor(r() * 6);
			for (let j = 0; j < k; j++) set.add(nameOf(base + Math.floor(r() * 10 * DAY / 1000) * 1000));
		}
	}
	return [...set];
}

function randomPolicy(r: () => number): RetentionPolicy {
	return { days: Math.floor(r() * 40), weeks: Math.floor(r() * 15), months: Math.floor(r() * 40) };
}

const RANDOM_RUNS = 300;

test('invariant: keep ∪ destroy = input, disjoint, sorted newest first, newest kept, input untouched', (t) => {
	const r = rng(12345);
	for (let run = 0; run < RANDOM_RUNS; run++) {
		const names = randomNames(r);
		const policy = randomPolicy(r);
		const arg = [...names];
		const plan = planRetention(arg, policy);
		const ctx = `run ${run} policy ${JSON.stringify(policy)}`;

		t.deepEqual(arg, names, `input array not mutated (${ctx})`);
		t.is(plan.keep.length + plan.destroy.length, names.length, `sizes (${ctx})`);
		t.deepEqual(newestFirst([...plan.keep, ...plan.destroy]), newestFirst(names), `union = input, no duplicates (${ctx})`);
		const keepSet = new Set(plan.keep);
		t.true(plan.destroy.every((n) => !keepSet.has(n)), `disjoint (${ctx})`);
		t.deepEqual(plan.keep, newestFirst(plan.keep), `keep newest first (${ctx})`);
		t.deepEqual(plan.destroy, newestFirst(plan.destroy), `destroy newest first (${ctx})`);
		if (names.length > 0) t.is(plan.keep[0], newestFirst(names)[0], `newest kept (${ctx})`);
		else t.deepEqual(plan, { keep: [], destroy: [] }, `empty (${ctx})`);
	}
});

// Every phase keeps only on a new day/week/month/year relative to the previous kept one, and walking older
// those keys only decrease, so no two kept snapshots share a UTC day.
test('invariant: no two kept snapshots share a UTC day', (t) => {
	const r = rng(777);
	for (let run = 0; run < RANDOM_RUNS; run++) {
		const names = randomNames(r);
		const policy = randomPolicy(r);
		const plan = planRetention(names, policy);
		const days = plan.keep.map(utcDay);
		t.is(new Set(days).size, days.length, `run ${run} ${JSON.stringify(policy)}`);
	}
});

// Bound on the rotation phases: newest + at most days+weeks+months phase keeps. Whatever is kept beyond the
// first 1+days+weeks+months entries can only come from the yearly phase, so from that point on each kept
// snapshot must be in an earlier calendar year than the kept one before it (at most one per year).
test('invariant: day+week+month phases keep at most 1 + days + weeks + months', (t) => {
	const r = rng(4242);
	const policies = [DEFAULT, P7_4_12, P0_0_0, P1_0_0, { days: 0, weeks: 2, months: 0 }, { days: 0, weeks: 0, months: 3 }];
	for (let run = 0; run < RANDOM_RUNS; run++) {
		const names = randomNames(r);
		const policy = run < policies.length * 10 ? (policies[run % policies.length] as RetentionPolicy) : randomPolicy(r);
		const plan = planRetention(names, policy);
		const bound = 1 + policy.days + policy.weeks + policy.months;
		const distinctYears = new Set(names.map(utcYear)).size;
		const ctx = `run ${run} ${JSON.stringify(policy)}`;
		t.true(plan.keep.length <= bound + distinctYears, `total bound (${ctx})`);
		for (let i = bound; i < plan.keep.length; i++) {
			t.true(utcYear(plan.keep[i] as string) < utcYear(plan.keep[i - 1] as string), `yearly-only tail at ${i} (${ctx})`);
		}
	}
});

// Independent characterisations when a single rotation never runs out (obvious from the rule):
//  - days >= number of distinct days: the day phase covers everything -> latest snapshot of each UTC day;
//  - 0 0 0: newest, then first-seen (= latest) of each older calendar year -> latest of each calendar year;
//  - 0 w 0 with w huge: latest of each ISO week;  0 0 m with m huge: latest of each (year, month).
test('invariant: unlimited single rotation = latest per day / ISO week / month; 0 0 0 = latest per year', (t) => {
	const r = rng(2024);
	const BIG = 1_000_000;
	for (let run = 0; run < RANDOM_RUNS; run++) {
		const names = randomNames(r);
		const ctx = `run ${run}`;
		t.deepEqual(planRetention(names, { days: BIG, weeks: 3, months: 5 }).keep, latestPer(names, utcDay), `per day (${ctx})`);
		t.deepEqual(planRetention(names, { days: 0, weeks: BIG, months: 5 }).keep, latestPer(names, isoWeekMonday), `per ISO week (${ctx})`);
		t.deepEqual(planRetention(names, { days: 0, weeks: 0, months: BIG }).keep, latestPer(names, utcMonth), `per month (${ctx})`);
		t.deepEqual(planRetention(names, P0_0_0).keep, latestPer(names, utcYear), `per year (${ctx})`);
	}
});

test('invariant: result does not depend on input order', (t) => {
	const r = rng(31337);
	for (let run = 0; run < 100; run++) {
		const names = randomNames(r);
		const policy = randomPolicy(r);
		const reference = planRetention(newestFirst(names), policy);
		t.deepEqual(planRetention(shuffled(names, run), policy), reference, `run ${run}`);
		t.deepEqual(planRetention([...newestFirst(names)].reverse(), policy), reference, `run ${run} reversed`);
	}
});
