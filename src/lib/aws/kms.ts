import { KMSClient } from '@aws-sdk/client-kms';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';

// Created once per container; only the KMS key wrapper (KEY_PROVIDER=kms) uses it.
export const kms = timeCalls(new KMSClient(clientOptions));
