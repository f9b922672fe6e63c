import { loadConfig } from '../../src/lib/config';

const valid = {
  STAGE: 'test',
  READINGS_TABLE: 'r',
  DEVICES_TABLE: 'd',
  KEYS_TABLE: 'k',
  AUDIT_TABLE: 'a',
  IDEMPOTENCY_TABLE: 'idem',
  PROVISIONING_TABLE: 'prov',
  INGEST_BUCKET: 'ingest',
  READINGS_QUEUE_URL: 'http://localhost:9324/000000000000/q',
  READINGS_DLQ_URL: 'http://localhost:9324/000000000000/dlq',
  IMAGES_BUCKET: 'b',
  IMAGES_TABLE: 'i',
  KEY_PROVIDER: 'local',
  LOCAL_MASTER_KEY_FILE: '/tmp/master.key',
  ADMIN_TOKEN: 'a-long-enough-admin-token',
  STATS_TABLE: 's',
  AGGREGATES_TABLE: 'agg',
  ALERTS_TABLE: 'al',
  ALERT_SINK: 'file',
  LOCAL_ALERTS_FILE: '/tmp/alerts.jsonl',
  EXPORTS_TABLE: 'e',
  EXPORTS_BUCKET: 'eb',
  EXPORTS_QUEUE_URL: 'http://localhost:9324/000000000000/exports',
};

describe('loadConfig', () => {
  it('applies defaults for limits', () => {
    const config = loadConfig(valid);
    expect(config.MAX_READINGS_PER_REQUEST).toBe(1000);
    expect(config.MAX_BODY_BYTES).toBe(1_000_000);
    expect(config.MAX_FREEFORM_BYTES).toBe(16_384);
    expect(config).toMatchObject({
      EXPORT_URL_TTL_SECONDS: 900,
      EXPORT_MAX_CONCURRENT: 3,
      EXPORT_MAX_WINDOW: 0,
      EXPORT_PAGE_ROWS: 5_000,
    });
    expect(config.MAX_PROVISION_FAILURES).toBe(10);
    expect(config.PROVISION_FAILURE_WINDOW_SECONDS).toBe(900);
  });

  it('treats empty strings (settings a stage does not use) as unset', () => {
    const config = loadConfig({ ...valid, KMS_KEY_ID: '', ADMIN_TOKEN_PARAMETER: '' });
    expect(config.KMS_KEY_ID).toBeUndefined();
  });

  it('fails fast, naming every bad variable', () => {
    expect(() => loadConfig({ ...valid, READINGS_TABLE: undefined, MAX_BODY_BYTES: 'lots' })).toThrow(
      /READINGS_TABLE.*MAX_BODY_BYTES|MAX_BODY_BYTES.*READINGS_TABLE/,
    );
  });

  it('requires the key settings of the chosen key provider', () => {
    expect(() => loadConfig({ ...valid, KEY_PROVIDER: 'kms' })).toThrow(
      /KMS_KEY_ID: required when KEY_PROVIDER=kms/,
    );
    expect(() => loadConfig({ ...valid, LOCAL_MASTER_KEY_FILE: '' })).toThrow(/LOCAL_MASTER_KEY_FILE/);
  });

  it('requires an admin token source', () => {
    expect(() => loadConfig({ ...valid, ADMIN_TOKEN: undefined })).toThrow(/ADMIN_TOKEN_PARAMETER/);
    expect(
      loadConfig({ ...valid, ADMIN_TOKEN: undefined, ADMIN_TOKEN_PARAMETER: '/x/admin' })
        .ADMIN_TOKEN_PARAMETER,
    ).toBe('/x/admin');
  });

  it('refuses an admin token shaped like a device token (it would never be checked as admin)', () => {
    expect(() => loadConfig({ ...valid, ADMIN_TOKEN: 'dev_1.a-long-enough-secret' })).toThrow(
      /ADMIN_TOKEN: must not contain "."/,
    );
  });

  it('requires the settings of the chosen alert sink, and defaults the jobs settings', () => {
    expect(() => loadConfig({ ...valid, ALERT_SINK: 'sns' })).toThrow(
      /ALERTS_TOPIC_ARN: required when ALERT_SINK=sns/,
    );
    expect(() => loadConfig({ ...valid, LOCAL_ALERTS_FILE: '' })).toThrow(/LOCAL_ALERTS_FILE/);
    const config = loadConfig({
      ...valid,
      ALERT_SINK: 'sns',
      ALERTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:1:alerts',
    });
    expect(config.STATS_INTERVAL_SECONDS).toBe(60);
    expect(config.SILENT_DEFAULT_SECONDS).toBe(3600);
    expect(config.REDRIVE_MAX_PER_RUN).toBe(100);
    expect(config.QUEUE_AGE_SOURCE).toBe('cloudwatch');
    expect([config.ALERT_RULES_CACHE_SECONDS, config.MAX_ALERT_RULES, config.MAX_DEVICES_PER_RULE]).toEqual([
      30, 100, 100,
    ]);
    expect(config.ALERT_RESEND_AFTER_SECONDS).toBe(60);
    const { ALERTS_TABLE: _, ...withoutAlertsTable } = valid;
    expect(() => loadConfig(withoutAlertsTable)).toThrow(/ALERTS_TABLE/);
  });
});
