// Table tests of worstExitCode: of several destinations' outcomes, the one a person must look at first decides the run's exit code.
import test from 'ava';
import { ExitCode, ReportedFailures, worstExitCode, type ExitCodeValue } from '../../src/core/exit-codes';

const { ok, usage, dataRefused, noInput, unavailable, internal, cannotCreate, temporary, notPermitted } = ExitCode;

const cases: Array<[ExitCodeValue[], ExitCodeValue]> = [
  [[], ok],
  [[ok], ok],
  [[ok, ok], ok],
  [[unavailable], unavailable],
  [[ok, unavailable], unavailable],
  [[unavailable, ok], unavailable],
  [[temporary, unavailable], unavailable], // a lost link before a busy lock
  [[unavailable, temporary], unavailable],
  [[unavailable, usage], usage],
  [[usage, noInput], noInput],
  [[noInput, notPermitted], notPermitted],
  [[notPermitted, cannotCreate], cannotCreate],
  [[cannotCreate, dataRefused], dataRefused],
  [[dataRefused, internal], internal],
  [[internal, dataRefused, cannotCreate, notPermitted, noInput, usage, unavailable, temporary], internal],
  [[temporary, unavailable, usage, noInput, notPermitted, cannotCreate, dataRefused, internal], internal],
  [[temporary, temporary], temporary],
  [[ok, temporary, ok], temporary],
];
for (const [codes, worst] of cases) {
  test(`worstExitCode(${JSON.stringify(codes)}) = ${worst}`, (t) => {
    t.is(worstExitCode(codes), worst);
  });
}

test('the order does not matter', (t) => {
  const all: ExitCodeValue[] = [temporary, unavailable, usage, noInput, notPermitted, cannotCreate, dataRefused, internal];
  for (let i = 0; i < all.length; i += 1) t.is(worstExitCode([...all.slice(i), ...all.slice(0, i)]), internal);
});

test('ReportedFailures carries the exit code only (each failure printed its own line)', (t) => {
  const r = new ReportedFailures(unavailable, 2);
  t.is(r.exitCode, unavailable);
  t.deepEqual(r.details, []);
});
