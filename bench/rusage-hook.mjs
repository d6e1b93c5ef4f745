// Preloaded into the CLI by the benchmark (node --import): at exit, writes this process's own CPU time and peak RSS (not its children's) to $CZB_BENCH_RUSAGE.
import { writeFileSync } from 'node:fs';

const file = process.env.CZB_BENCH_RUSAGE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ userSeconds: u.userCPUTime / 1e6, systemSeconds: u.systemCPUTime / 1e6, maxRssKiB: u.maxRSS }));
  });
}
