import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';

/** Everything a table holds as one string (binary attributes as latin1), to search for plaintext. */
export async function scanTable(tableName: string): Promise<string> {
  const client = new DynamoDBClient({});
  const dumps: string[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName })) {
    dumps.push(
      JSON.stringify(page.Items ?? [], (_key, value) =>
        value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : value,
      ),
    );
  }
  client.destroy();
  return dumps.join('\n');
}
