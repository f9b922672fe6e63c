declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:http';

  interface S3rverOptions {
    port?: number;
    address?: string;
    directory?: string;
    silent?: boolean;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    configureBuckets?: Array<{ name: string; configs?: string[] }>;
  }

  export default class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    /** Resolves with the listening address once the server is up. */
    run(): Promise<unknown>;
    httpServer?: Server;
    close(): Promise<void>;
  }
}
