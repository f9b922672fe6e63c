import { ErrorCode } from '../lib/errors';
import { checkHealth } from '../lib/health';
import { publicRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';

export const handler = publicRoute(
  async () => {
    const report = await checkHealth();
    if (report.status === 'ok') return json(200, report);
    const down = Object.entries(report.dependencies)
      .filter(([, dependency]) => dependency.status === 'down')
      .map(([name]) => name);
    return json(503, {
      ...report,
      error: { code: ErrorCode.ServiceUnavailable, message: `Unavailable: ${down.join(', ')}` },
    });
  },
  { body: 'none' },
);
