import { readFileSync } from 'node:fs';
import { testEnvFile } from './paths';

// Every worker sees the environment the functions see, pointed at the emulators of this run.
Object.assign(process.env, JSON.parse(readFileSync(testEnvFile, 'utf8')) as Record<string, string>);
// Handlers called in-process log quietly (TEST_LOG_LEVEL=INFO to see them); the functions running under
// serverless offline log to .local/test/functions.log.
process.env.POWERTOOLS_LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'SILENT';
// Likewise their EMF metrics (the functions' metrics are in the log file).
process.env.POWERTOOLS_METRICS_DISABLED = process.env.TEST_METRICS ?? 'true';
