import { Logger } from '@aws-lambda-powertools/logger';

// One JSON logger for every function. Log ids and counts only: never readings' contents,
// passwords or tokens.
export const logger = new Logger({ serviceName: process.env.SERVICE_NAME ?? 'sensorcloud' });
