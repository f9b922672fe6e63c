import { authenticatedRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { uploadRequest } from '../lib/images/schemas';
import { createUpload } from '../lib/images/service';
import { parseInput } from '../lib/validation';

// POST /api/images {key?, contentType, contentLength} → a presigned upload into uploads/.
export const handler = authenticatedRoute(async (request) => {
  const input = parseInput(uploadRequest, request.body ?? {}, 'body');
  return json(201, await createUpload(request.principal, input));
});
