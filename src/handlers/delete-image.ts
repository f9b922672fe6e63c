import { authenticatedRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { imageKeyPath } from '../lib/images/schemas';
import { deleteImage } from '../lib/images/service';
import { parseInput } from '../lib/validation';

// DELETE /api/images/{key}: the original, its thumbnails, its metadata and its label entries.
export const handler = authenticatedRoute(
  async (request) => {
    const { key } = parseInput(imageKeyPath, request.pathParameters, 'path');
    return json(200, await deleteImage(request.principal, key));
  },
  { body: 'none' },
);
