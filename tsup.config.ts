// Bundles the CLI into ESM files that run on Debian's Node 18 (no native add-ons): the entry, and lib/ chunks loaded on demand.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const ENTRY = 'cyber-zfs-backup';

export default defineConfig({
  entry: { [ENTRY]: 'src/cli/main.ts' },
  format: ['esm'],
  outExtension: () => ({ js: '.mjs' }),
  platform: 'node',
  target: 'node18',
  shims: true,
  bundle: true,
  // Bundle every dependency except the optional native add-ons: ssh2 then runs in pure JS.
  noExternal: [/^(?!cpu-features$)(?!.*\.node$)/],
  external: ['cpu-features', /\.node$/],
  // The entry holds only the flags (yargs) and main; a run, serve, ssh2 and pino are imported when
  // needed, from dist/lib/. --help and usage errors then compile ~100 KB instead of ~750 KB
  // (node -e 0 + ~125 ms -> + ~50 ms here).
  splitting: true,
  esbuildOptions(options) {
    options.chunkNames = 'lib/[name]-[hash]';
  },
  // yargs 17's ES module build wraps --help with cliui's stand-in for wrap-ansi, which cuts words in
  // two ("snap" / "shot"; yargs/yargs#2112, fixed only in yargs 18, which needs Node 20). cliui takes
  // its wrap as a parameter: it gets src/cli/help-wrap.ts instead. (cliui's CommonJS build, with
  // wrap-ansi, costs every start ~8 ms: emoji tables a help text never needs.)
  esbuildPlugins: [
    {
      name: 'help-word-wrap',
      setup(build) {
        const helpWrap = fileURLToPath(new URL('src/cli/help-wrap.ts', import.meta.url));
        build.onResolve({ filter: /^\.\/build\/lib\/string-utils\.js$/ }, (args) => (/[\\/]cliui[\\/]index\.mjs$/.test(args.importer) ? { path: helpWrap } : undefined));
      },
    },
  ],
  sourcemap: false,
  clean: true,
  define: { __VERSION__: JSON.stringify(process.env.npm_package_version ?? '0.0.0-dev') },
  // Minified (with function names kept for stack traces): half the bytes for Node to read at every start.
  minify: true,
  keepNames: true,
  banner: {
    js: "import { createRequire as __czbCreateRequire } from 'node:module';\nconst require = __czbCreateRequire(import.meta.url);",
  },
  // Only the entry is a program: it alone gets the #! line and mode 0755; the chunks are plain 0644 modules.
  plugins: [
    {
      name: 'entry-shebang',
      renderChunk(code, info) {
        if (info.path.endsWith(`/${ENTRY}.mjs`)) {
          info.mode = 0o755;
          return { code: `#!/usr/bin/env node\n${code}` };
        }
        return undefined;
      },
    },
  ],
});
