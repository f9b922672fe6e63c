// Credentials every local emulator accepts: s3rver verifies signatures against its built-in
// S3RVER key pair; DynamoDB Local (-sharedDb) and the SQS emulator ignore them.
export const localCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const localRegion = 'us-east-1';
export const localAccountId = '000000000000';
