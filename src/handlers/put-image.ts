import { config } from '../lib/config';
import { authenticatedRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { imageKeyPath } from '../lib/images/schemas';
import { putImage } from '../lib/images/service';
import { parseInput } from '../lib/validation';

// PUT /api/images/{key} with the image as the raw body (application/octet-stream works everywhere).
export const handler = authenticatedRoute(
  async (request) => {
    const { key } = parseInput(imageKeyPath, request.pathParameters, 'path');
    const result = await putImage(request.principal, key, {
      bytes: request.rawBody,
      contentType: request.headers['content-type'],
      binary: request.binaryBody,
    });
    return json(202, result, { location: `/api/images/${encodeURIComponent(key)}` });
  },
  { body: 'binary', maxBodyBytes: config.MAX_PUT_BYTES },
);
