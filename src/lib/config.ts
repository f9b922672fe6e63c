import * as z from 'zod';

// Every environment variable the functions read, validated once at load: a missing or malformed
// setting fails the cold start loudly instead of failing a request later.
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

const schema = z
  .object({
    STAGE: z.string().min(1),
    SERVICE_NAME: z.string().min(1).default('sensorcloud'),
    SERVICE_VERSION: z.string().min(1).default('0.0.0'),
    AWS_REGION: z.string().min(1).default('us-east-1'),

    READINGS_TABLE: z.string().min(1),
    DEVICES_TABLE: z.string().min(1),
    KEYS_TABLE: z.string().min(1),
    AUDIT_TABLE: z.string().min(1),
    /** Idempotency-Key records: a retried request keeps its first arrival time. */
    IDEMPOTENCY_TABLE: z.string().min(1),
    IDEMPOTENCY_TTL_SECONDS: positiveInt(86_400),
    /** Where a request whose sealed message exceeds SQS's 1 MiB is stored (the queue carries a pointer). */
    INGEST_BUCKET: z.string().min(1),
    READINGS_QUEUE_URL: z.url(),
    READINGS_DLQ_URL: z.url(),
    IMAGES_BUCKET: z.string().min(1),
    IMAGES_TABLE: z.string().min(1),

    KEY_PROVIDER: z.enum(['kms', 'local']),
    KMS_KEY_ID: z.string().min(1).optional(),
    LOCAL_MASTER_KEY_FILE: z.string().min(1).optional(),
    DATA_KEY_MAX_AGE_SECONDS: positiveInt(300),
    DATA_KEY_MAX_USES: positiveInt(100_000),

    ADMIN_TOKEN: z
      .string()
      .min(16)
      .refine((token) => !token.includes('.'), 'must not contain "." (the form of device tokens)')
      .optional(),
    ADMIN_TOKEN_PARAMETER: z.string().min(1).optional(),

    /** How long a container reuses its /health answer (the route is public). */
    HEALTH_CACHE_SECONDS: nonNegativeInt(10),
    MAX_BODY_BYTES: positiveInt(1_000_000),
    MAX_READINGS_PER_REQUEST: positiveInt(1_000),
    MAX_FREEFORM_BYTES: positiveInt(16_384),
    QUERY_DEFAULT_LIMIT: positiveInt(1_000),
    QUERY_MAX_LIMIT: positiveInt(5_000),
    /** JSON bytes of readings in one page: Lambda answers at most 6 MB, headers and envelope included. */
    QUERY_MAX_PAGE_BYTES: z.coerce.number().int().min(65_536).max(5_800_000).default(5_000_000),
    /** Rows one query request may examine (hidden ones included) before it answers with a cursor. */
    QUERY_MAX_SCANNED_ROWS: positiveInt(10_000),
    READINGS_RETENTION_DAYS: nonNegativeInt(0),
    // Aggregates (src/lib/aggregates): minute partials, and the hour and day summaries compaction
    // merges them into. Each level expires on its own (0 = kept). A partial's tombstone must outlive
    // every redelivery of its message, so messages older than (partial retention - 1 day) are stored
    // without aggregates rather than risk counting them twice.
    AGGREGATES_TABLE: z.string().min(1),
    AGGREGATES_PARTIAL_RETENTION_DAYS: z.coerce.number().int().min(2).default(30),
    /** Hour summaries carry minute detail: steps under 1h reach back this far. */
    AGGREGATES_HOUR_RETENTION_DAYS: nonNegativeInt(35),
    /** Day summaries carry hour detail: steps of 1h and more. */
    AGGREGATES_DAY_RETENTION_DAYS: nonNegativeInt(0),
    /** An hour is compacted once it ended at least this long ago (late messages still get in later). */
    AGGREGATES_SETTLE_SECONDS: nonNegativeInt(120),
    /** Partials one compaction run takes per device (the rest wait for the next run). */
    AGGREGATES_MAX_PARTIALS_PER_RUN: positiveInt(5_000),
    MAX_PASSWORDS_PER_DEVICE: positiveInt(16),
    /**
     * Clock skew: a reading whose interrogator_time lies outside arrival ± this window is flagged (or,
     * with `reject`, its request refused). A device's own clockSkewWindowSeconds / clockSkewAction win.
     */
    CLOCK_SKEW_WINDOW_SECONDS: z.coerce.number().int().min(1).max(31_536_000).default(300),
    CLOCK_SKEW_ACTION: z.enum(['flag', 'reject']).default('flag'),
    /** A device's measured clock offset is written at most this often per container… */
    CLOCK_OFFSET_WRITE_SECONDS: positiveInt(60),
    /** …unless it moved by at least this much since the last write. */
    CLOCK_OFFSET_CHANGE_MS: positiveInt(1_000),
    /** How long a container reuses a device's clock-skew settings (an admin's change applies within it). */
    DEVICE_SETTINGS_CACHE_SECONDS: nonNegativeInt(30),
    /** Wrong db_password guesses a device may make per window before every password query is a 429. */
    MAX_PASSWORD_GUESSES: positiveInt(10),
    PASSWORD_GUESS_WINDOW_SECONDS: positiveInt(900),
    /** Provisioning keys, and the failed-attempt counters of POST /api/provision (per source IP). */
    PROVISIONING_TABLE: z.string().min(1),
    /** Failed POST /api/provision attempts per source IP, and per key, per window before a 429. */
    MAX_PROVISION_FAILURES: positiveInt(10),
    PROVISION_FAILURE_WINDOW_SECONDS: positiveInt(900),

    // Scheduled jobs and alerts.
    STATS_TABLE: z.string().min(1),
    /** Length of one rollup interval; matches the rollup-stats schedule's rate. */
    STATS_INTERVAL_SECONDS: positiveInt(60),
    /** A rollup covers the last interval that ended at least this long ago, so queued readings count. */
    STATS_SETTLE_SECONDS: nonNegativeInt(30),
    STATS_RETENTION_DAYS: positiveInt(14),
    STATS_MAX_MINUTES: positiveInt(1_440),
    /** How a device's silence is judged when it has no expectedIntervalSeconds of its own. */
    SILENT_DEFAULT_SECONDS: positiveInt(3_600),
    REDRIVE_MAX_PER_RUN: positiveInt(100),
    /** Alert rules on values and their per-(rule, device) states. */
    ALERTS_TABLE: z.string().min(1),
    /** How long an ingest container reuses the rules it read: a rule change reaches ingest within this. */
    ALERT_RULES_CACHE_SECONDS: nonNegativeInt(30),
    MAX_ALERT_RULES: positiveInt(100),
    MAX_DEVICES_PER_RULE: positiveInt(100),
    /** A transition whose alert was not confirmed sent is sent again by a later ingest after this long. */
    ALERT_RESEND_AFTER_SECONDS: positiveInt(60),
    /** 'sns' publishes to ALERTS_TOPIC_ARN; 'file' (offline) appends JSON lines to LOCAL_ALERTS_FILE. */
    ALERT_SINK: z.enum(['sns', 'file']).default('sns'),
    ALERTS_TOPIC_ARN: z.string().min(1).optional(),
    LOCAL_ALERTS_FILE: z.string().min(1).optional(),
    /** Where the age of the queue's oldest message comes from: CloudWatch in AWS; offline, nowhere. */
    QUEUE_AGE_SOURCE: z.enum(['cloudwatch', 'none']).default('cloudwatch'),
    // Images. `local` labels with sharp (offline, or wherever Rekognition is off).
    LABELLER: z.enum(['rekognition', 'local']).default('local'),
    LABEL_MIN_CONFIDENCE: z.coerce.number().min(0).max(100).default(70),
    LABEL_MAX: positiveInt(10),
    // Decoded width × height above which an image is rejected from its header alone (pixel bombs).
    MAX_IMAGE_PIXELS: positiveInt(40_000_000),
    // Largest original accepted through a presigned upload (S3 enforces it for POST; the processor
    // rejects bigger objects without downloading them).
    MAX_UPLOAD_BYTES: positiveInt(25_000_000),
    // PUT /api/images/{key}: the body reaches Lambda base64-encoded inside a ≤ 6 MB event, so more
    // than ~4.4 MiB of image cannot pass; bigger files go through the presigned URL.
    MAX_PUT_BYTES: z.coerce.number().int().positive().max(4_500_000).default(4_194_304),
    THUMBNAIL_SIZES: z
      .string()
      .default('128,512,1024')
      .transform((value, ctx) => {
        const sizes = value.split(',').map((part) => Number(part.trim()));
        if (sizes.length === 0 || sizes.some((size) => !Number.isInteger(size) || size < 16 || size > 4096)) {
          ctx.addIssue({ code: 'custom', message: 'comma-separated integers between 16 and 4096' });
          return z.NEVER;
        }
        return [...new Set(sizes)].sort((a, b) => a - b);
      }),
    UPLOAD_URL_TTL_SECONDS: positiveInt(900),
    // The image cache of GET /api/images/{key}/content: how often a container re-reads its settings
    // (so a change reaches every container within this time) and writes its counters for the rollup.
    IMAGE_CACHE_SETTINGS_REFRESH_SECONDS: positiveInt(3),
    IMAGE_CACHE_FLUSH_SECONDS: positiveInt(2),
    DOWNLOAD_URL_TTL_SECONDS: positiveInt(900),

    // Readings exports (src/lib/exports/).
    EXPORTS_TABLE: z.string().min(1),
    EXPORTS_BUCKET: z.string().min(1),
    EXPORTS_QUEUE_URL: z.url(),
    /** How long an export's presigned download URLs are valid. */
    EXPORT_URL_TTL_SECONDS: positiveInt(900),
    /** Job records (and, in AWS, the bucket's lifecycle rule) expire after this many days. */
    EXPORT_RETENTION_DAYS: positiveInt(7),
    /** Exports one caller (a device, or the administrators together) may have queued or running. */
    EXPORT_MAX_CONCURRENT: positiveInt(3),
    /** Rows one export may hold; a larger one fails, telling the caller to narrow the window. */
    EXPORT_MAX_ROWS: positiveInt(10_000_000),
    /** Widest relative-time window (end − start) one export may ask for; 0 = any window. */
    EXPORT_MAX_WINDOW: nonNegativeInt(0),
    /** Files one export may produce (device × day partitions; their URLs are in the job record). */
    EXPORT_MAX_OBJECTS: positiveInt(1_000),
    /** How long an export holds its caller's slot if its worker dies silently: its 3 attempts × the queue's visibility timeout, and more. */
    EXPORT_SLOT_LEASE_SECONDS: positiveInt(14_400),
    /** Rows asked of the query API per page while exporting. */
    EXPORT_PAGE_ROWS: positiveInt(5_000),

    // Set only offline: the SDK reads AWS_ENDPOINT_URL_<SERVICE> itself; S3 additionally needs
    // path-style addressing against an emulator.
    AWS_ENDPOINT_URL_S3: z.url().optional(),
    // Offline the SQS emulator counts in-flight messages in ApproximateNumberOfMessages.
    AWS_ENDPOINT_URL_SQS: z.url().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.KEY_PROVIDER === 'kms' && !env.KMS_KEY_ID) {
      ctx.addIssue({ code: 'custom', path: ['KMS_KEY_ID'], message: 'required when KEY_PROVIDER=kms' });
    }
    if (env.KEY_PROVIDER === 'local' && !env.LOCAL_MASTER_KEY_FILE) {
      ctx.addIssue({
        code: 'custom',
        path: ['LOCAL_MASTER_KEY_FILE'],
        message: 'required when KEY_PROVIDER=local',
      });
    }
    if (env.ALERT_SINK === 'sns' && !env.ALERTS_TOPIC_ARN) {
      ctx.addIssue({ code: 'custom', path: ['ALERTS_TOPIC_ARN'], message: 'required when ALERT_SINK=sns' });
    }
    if (env.ALERT_SINK === 'file' && !env.LOCAL_ALERTS_FILE) {
      ctx.addIssue({ code: 'custom', path: ['LOCAL_ALERTS_FILE'], message: 'required when ALERT_SINK=file' });
    }
    if (!env.ADMIN_TOKEN && !env.ADMIN_TOKEN_PARAMETER) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_TOKEN_PARAMETER'],
        message: 'set ADMIN_TOKEN_PARAMETER (SSM SecureString name) or, offline, ADMIN_TOKEN',
      });
    }
  });

export type Config = z.infer<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // serverless.yml renders settings a stage does not use as empty strings: treat them as unset.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export const config: Config = loadConfig();
