import { S3Client } from '@aws-sdk/client-s3';
import { config } from '../config';
import { tracer } from '../observability';

// Offline (AWS_ENDPOINT_URL_S3 set) the emulator needs path-style URLs, and streamed uploads must not
// use aws-chunked checksum framing, which it would store verbatim.
const emulated = config.AWS_ENDPOINT_URL_S3 !== undefined;

export const s3 = tracer.captureAWSv3Client(
  new S3Client(
    emulated
      ? {
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {},
  ),
);
