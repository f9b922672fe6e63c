import { authenticatedRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { imageKeyPath } from '../lib/images/schemas';
import { getImage } from '../lib/images/service';
import { parseInput } from '../lib/validation';

// GET /api/images/{key}: metadata, labels and presigned URLs of the original and its thumbnails.
export const handler = authenticatedRoute(
  async (request) => {
    const { key } = parseInput(imageKeyPath, request.pathParameters, 'path');
    return json(200, await getImage(request.principal, key));
  },
  { body: 'none' },
);
