// Bundles the CLI into one executable ESM file that runs on Debian's Node 18 (no native add-ons).
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { 'cyber-zfs-backup': 'src/cli/main.ts' },
  format: ['esm'],
  outExtension: () => ({ js: '.mjs' }),
  platform: 'node',
  target: 'node18',
  shims: true,
  bundle: true,
  // Bundle every dependency except the optional native add-ons: ssh2 then runs in pure JS.
  noExternal: [/^(?!cpu-features$)(?!.*\.node$)/],
  external: ['cpu-features', /\.node$/],
  splitting: false,
  sourcemap: false,
  clean: true,
  define: { __VERSION__: JSON.stringify(process.env.npm_package_version ?? '0.0.0-dev') },
  // Minified (with function names kept for stack traces): half the bytes for Node to read at every start.
  minify: true,
  keepNames: true,
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __czbCreateRequire } from 'node:module';\nconst require = __czbCreateRequire(import.meta.url);",
  },
});
