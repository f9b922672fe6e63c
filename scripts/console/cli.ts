// `npm run console:build [-- outDir]`: the console's static files for deployment (default .local/console-dist),
// with each asset's gzipped size (the budget: initial JavaScript ≤ 150 KB gzipped).
import path from 'node:path';
import { buildConsole } from './build';

const outDir = path.resolve(process.argv[2] ?? '.local/console-dist');
buildConsole({ outDir })
  .then((build) => {
    for (const [file, bytes] of Object.entries(build.gzipBytes))
      console.log(`${file}: ${(bytes / 1024).toFixed(1)} KB gzipped`);
    console.log(`console built into ${build.dir}`);
  })
  .catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
