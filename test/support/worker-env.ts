import { readFileSync } from 'node:fs';
import { testEnvFile } from './paths';

// Every worker sees the environment the functions see, pointed at the emulators of this run.
Object.assign(process.env, JSON.parse(readFileSync(testEnvFile, 'utf8')) as Record<string, string>);
