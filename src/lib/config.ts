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
    READINGS_QUEUE_URL: z.url(),
    READINGS_DLQ_URL: z.url(),
    IMAGES_BUCKET: z.string().min(1),

    KEY_PROVIDER: z.enum(['kms', 'local']),
    KMS_KEY_ID: z.string().min(1).optional(),
    LOCAL_MASTER_KEY_FILE: z.string().min(1).optional(),
    DATA_KEY_MAX_AGE_SECONDS: positiveInt(300),
    DATA_KEY_MAX_USES: positiveInt(100_000),

    ADMIN_TOKEN: z.string().min(16).optional(),
    ADMIN_TOKEN_PARAMETER: z.string().min(1).optional(),

    MAX_BODY_BYTES: positiveInt(1_000_000),
    MAX_READINGS_PER_REQUEST: positiveInt(1_000),
    MAX_FREEFORM_BYTES: positiveInt(16_384),
    QUERY_DEFAULT_LIMIT: positiveInt(1_000),
    QUERY_MAX_LIMIT: positiveInt(5_000),
    READINGS_RETENTION_DAYS: nonNegativeInt(0),
    MAX_PASSWORDS_PER_DEVICE: positiveInt(16),

    // Set only offline: the SDK reads AWS_ENDPOINT_URL_<SERVICE> itself; S3 additionally needs
    // path-style addressing against an emulator.
    AWS_ENDPOINT_URL_S3: z.url().optional(),
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
