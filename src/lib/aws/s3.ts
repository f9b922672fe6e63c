import { S3Client } from '@aws-sdk/client-s3';
import { config } from '../config';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';

// Offline (AWS_ENDPOINT_URL_S3 set) the emulator needs path-style URLs, and streamed uploads must not
// use aws-chunked checksum framing, which it would store verbatim.
const emulated = config.AWS_ENDPOINT_URL_S3 !== undefined;

export const s3 = timeCalls(
  new S3Client(
    emulated
      ? {
          ...clientOptions,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : clientOptions,
  ),
);

// For presigned URLs only. With the default checksum setting the SDK signs a CRC32 of an empty body
// into every presigned PUT (x-amz-checksum-crc32=AAAAAA==), which S3 then refuses for any real upload,
// and adds x-amz-checksum-mode to presigned GETs.
export const s3Presigner = new S3Client({
  forcePathStyle: emulated,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
