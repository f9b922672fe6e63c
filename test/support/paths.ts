import path from 'node:path';

const testDir = path.resolve(__dirname, '..', '..', '.local', 'test');
/** The environment global setup hands to every test worker. */
export const testEnvFile = path.join(testDir, 'env.json');
/** Everything the functions logged during the run (serverless-offline's output). */
export const testLogFile = path.join(testDir, 'functions.log');
