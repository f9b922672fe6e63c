import { KMSClient } from '@aws-sdk/client-kms';
import { clientOptions } from './client-options';

// Created once per container; only the KMS key wrapper (KEY_PROVIDER=kms) uses it.
export const kms = new KMSClient(clientOptions);
