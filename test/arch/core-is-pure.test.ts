// Architecture test: src/core stays pure (no node:*, execa, node-ssh, ssh2, pino, fs), and only src/cli touches process.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(join(SRC, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
const imports = (file: string) => [...readFileSync(join(SRC, file), 'utf8').matchAll(/^\s*import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);

const FORBIDDEN_IN_CORE = /^(node:|fs$|child_process$|os$|net$|execa$|node-ssh$|ssh2$|pino$)/;

test('core imports nothing with side effects, and only other core modules or pure libraries', (t) => {
  const core = files('core');
  t.true(core.length > 5);
  for (const file of core) {
    for (const spec of imports(file)) {
      t.false(FORBIDDEN_IN_CORE.test(spec), `${file} imports ${spec}`);
      if (spec.startsWith('.')) t.regex(spec, /^\.\/[\w-]+$/, `${file} reaches outside core: ${spec}`);
    }
    t.notRegex(readFileSync(join(SRC, file), 'utf8'), /\bprocess\.|Date\.now\(|new Date\(\)/, `${file} reads process or the clock`);
  }
});

test('io, app and core never import the cli; app never imports yargs', (t) => {
  for (const dir of ['core', 'io', 'app']) {
    for (const file of files(dir)) for (const spec of imports(file)) t.false(spec.includes('/cli/') || spec === 'yargs', `${file} imports ${spec}`);
  }
});

test('every source file starts with a one-line header comment', (t) => {
  for (const file of [...files('core'), ...files('io'), ...files('app'), ...files('cli')]) t.regex(readFileSync(join(SRC, file), 'utf8'), /^\/\/ \S/, file);
});

test('there is no shell locally: no exec/execSync/shell option in src', (t) => {
  for (const file of [...files('io'), ...files('app'), ...files('cli')]) {
    const text = readFileSync(join(SRC, file), 'utf8');
    t.notRegex(text, /shell:\s*true|execSync|child_process/, file);
  }
});
