import * as z from 'zod';
import { detectSilentDevices } from '../lib/devices/reporting';
import { scheduledJob } from '../lib/jobs/handler';

// Every 15 minutes (rate per stage): flags devices silent for longer than their expected interval and
// alerts once per transition (silent, and reporting again).
export const handler = scheduledJob('detect-silent-devices', z.strictObject({}), () => detectSilentDevices());
