import * as z from 'zod';
import { decodePathKey, imageKeySchema } from './keys';
import { normaliseLabel } from './labeller';
import { UPLOAD_CONTENT_TYPES } from './service';
import { decodeImageCursor } from './store';

// Request shapes of the image routes, validated at the edge by the handlers.

export const imageKeyPath = z.strictObject({
  key: z.string().transform(decodePathKey).pipe(imageKeySchema),
});

export const uploadRequest = z.strictObject({
  key: imageKeySchema.optional(),
  contentType: z.enum(UPLOAD_CONTENT_TYPES, {
    error: `one of ${UPLOAD_CONTENT_TYPES.join(', ')}`,
  }),
  /** Required: the presigned PUT and POST are signed for exactly this many bytes. */
  contentLength: z.number().int().positive(),
});

export const listQuery = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().optional(),
    label: z.string().transform(normaliseLabel).pipe(z.string().min(1).max(100)).optional(),
  })
  .transform(({ cursor, ...rest }) => ({ ...rest, after: decodeImageCursor(cursor) }));
