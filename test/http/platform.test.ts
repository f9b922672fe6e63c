import { api } from '../support/api';

describe('the local API over HTTP (gateway → serverless offline → handlers)', () => {
  it('GET /health reports every dependency ok, with stage and version', async () => {
    const response = await api('GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'ok',
      stage: 'local',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      dependencies: { dynamodb: { status: 'ok' }, sqs: { status: 'ok' }, s3: { status: 'ok' } },
    });
  });

  it('serves routes without a stage prefix and answers unknown routes with a JSON 404', async () => {
    for (const [method, path] of [
      ['GET', '/local/health'],
      ['POST', '/nothing/here'],
      ['DELETE', '/'],
    ] as const) {
      const response = await api(method, path);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body).toEqual({ error: { code: 'NotFound', message: expect.stringContaining(path) } });
    }
  });

  it('sends security headers and no server internals', async () => {
    const response = await api('GET', '/health');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(response.text).not.toMatch(/amazonaws|127\.0\.0\.1|stack/i);
  });
});
