// What every API response must carry, and must never carry, whoever answered it (a function or API
// Gateway): JSON with the security headers, and no stack trace or internal name.
const requiredHeaders: Record<string, RegExp> = {
  'content-type': /^application\/json/,
  'x-content-type-options': /^nosniff$/,
  'cache-control': /^no-store$/,
};

const internals = [
  /\bat [\w.<>]+ \(/, // a stack frame
  /node_modules|\/src\/|\.[jt]s:\d+/,
  /\b(TypeError|ReferenceError|SyntaxError|RangeError)\b/,
  /sensorcloud-(local|dev|prod)-/, // table, queue and function names
  /arn:aws|\b0{12}\b|accountId/, // ARNs and (emulated) account ids
  /127\.0\.0\.1|localhost:\d+|:(8000|9324|4569)\b/, // emulator endpoints
];

// Image bytes (GET /api/images/{key}/content): an image type, never sniffed, cached privately only.
function expectSafeBinary(headers: Headers | Record<string, unknown>): void {
  const header = (name: string) =>
    headers instanceof Headers
      ? headers.get(name)
      : Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  expect({
    type: header('content-type'),
    nosniff: header('x-content-type-options'),
    cache: header('cache-control'),
  }).toEqual({
    type: expect.stringMatching(/^image\/(webp|jpeg|png|gif|tiff|avif)$/),
    nosniff: 'nosniff',
    cache: expect.stringMatching(/^private\b/),
  });
}

// Presigned S3 URLs and POST forms name the bucket and its endpoint by design (the client uploads
// there directly): they are taken out before the scan.
function withoutPresigned(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), (key, value) =>
      key === 'form' || (typeof value === 'string' && /X-Amz-(Signature|Credential)=/.test(value))
        ? undefined
        : value,
    );
  } catch {
    return body;
  }
}

export function expectSafeResponse(
  status: number,
  headers: Headers | Record<string, unknown>,
  rawBody: string,
  options: { presigned?: boolean; binary?: boolean } = {},
): void {
  if (options.binary) {
    expectSafeBinary(headers);
    return;
  }
  const body = options.presigned ? withoutPresigned(rawBody) : rawBody;
  const header = (name: string) =>
    headers instanceof Headers
      ? headers.get(name)
      : Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  for (const [name, pattern] of Object.entries(requiredHeaders))
    expect({ status, name, value: header(name) }).toEqual({
      status,
      name,
      value: expect.stringMatching(pattern),
    });
  const leaks = internals.filter((pattern) => pattern.test(body)).map(String);
  expect({ status, body: body.slice(0, 300), leaks }).toEqual({
    status,
    body: body.slice(0, 300),
    leaks: [],
  });
}
