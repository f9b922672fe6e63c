import * as z from 'zod';

// The `agg` field of a readings message (kept apart so the message schema pulls in nothing else):
// one sealed partial per minute of the request's reading times, sealed at ingest exactly as the item
// the consumer stores (src/lib/aggregates/partials.ts).
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const sealedPartialsSchema = z
  .array(z.object({ m: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), iv: base64, ct: base64 }))
  .min(1)
  .max(100_000);
export type SealedPartials = z.infer<typeof sealedPartialsSchema>;
